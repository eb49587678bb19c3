"""The README's "Stats and skips" table names every skip reason the code can emit, and no other.

Why: a user who finds `dwscraper/skipped/<reason>` in the stats or in last-run.json looks
the reason up in the README. A reason added to the code without a line there (or a line
left behind after a reason is gone) breaks that, silently. So the reasons are collected
from the source, not from a list kept by hand: a small static data-flow pass over
dwscraper/**.py follows every value that reaches the ledger (`.skip(obj, reason)`, the
spider's `skip(reason, obj)`), through local variables, parameters (to the call sites),
functions (to their returns), attributes and dataclass fields (to what is assigned or
constructed), and every `DropItem` message (the ledger counts its head as the reason).
An f-string part that cannot be resolved becomes a placeholder: f"http_{status}" is
`http_<status>`, and the README must name it that way.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from dwscraper.accounting import OUTCOMES, drop_reason, slug

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "dwscraper"
README = REPO / "README.md"
SECTION = "## Stats and skips"

_REASON_RE = re.compile(r"[a-z][a-z0-9_]*(?:<[a-z_]+>[a-z0-9_]*)*|<[a-z_]+>[a-z0-9_]+")
_MAX_VALUES = 200  # per expression: f-string products stay small


def _placeholder(node: ast.expr) -> str:
    """`<status>` for {status}, {response.status} or {failure.value.response.status}."""
    while isinstance(node, ast.Attribute):
        return f"<{node.attr}>"
    if isinstance(node, ast.Name):
        return f"<{node.id}>"
    return "<value>"


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    return [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]


class CodeIndex:
    """Where names are defined, assigned and called in a package (just what _values needs)."""

    def __init__(self, root: Path) -> None:
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = defaultdict(list)
        self.classes: dict[str, list[ast.ClassDef]] = defaultdict(list)
        self.calls: dict[str, list[ast.Call]] = defaultdict(list)
        self.attr_values: dict[str, list[tuple[ast.expr, ast.AST]]] = defaultdict(list)
        self.module_values: dict[str, list[tuple[ast.expr, ast.AST]]] = defaultdict(list)
        self.subscript_values: dict[str, list[tuple[ast.expr, ast.AST]]] = defaultdict(list)
        self.scope: dict[ast.AST, ast.AST] = {}  # node -> enclosing function or module
        self.owner: dict[ast.AST, ast.ClassDef] = {}  # function -> its class
        self.files = sorted(root.rglob("*.py"))
        for path in self.files:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            self._walk(tree, tree, None)

    def _walk(self, node: ast.AST, scope: ast.AST, cls: ast.ClassDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            self.scope[child] = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[child.name].append(child)
                if cls is not None:
                    self.owner[child] = cls
                self._walk(child, child, None)
                continue
            if isinstance(child, ast.ClassDef):
                self.classes[child.name].append(child)
                self._walk(child, scope, child)
                continue
            if isinstance(child, ast.Call):
                name = _callee(child)
                if name:
                    self.calls[name].append(child)
            if isinstance(child, ast.Assign | ast.AnnAssign) and child.value is not None:
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target, value in _pairs(targets, child.value):
                    if isinstance(target, ast.Attribute):
                        self.attr_values[target.attr].append((value, scope))
                    elif isinstance(target, ast.Name) and isinstance(scope, ast.Module):
                        self.module_values[target.id].append((value, scope))
                    elif isinstance(target, ast.Subscript) and isinstance(
                        target.slice, ast.Constant
                    ):
                        self.subscript_values[str(target.slice.value)].append((value, scope))
            self._walk(child, scope, cls)

    def returns(self, fn: ast.AST) -> list[ast.expr]:
        """The returned expressions of fn itself (not of functions nested in it)."""
        return [
            n.value
            for n in ast.walk(fn)
            if isinstance(n, ast.Return) and n.value is not None and self.scope.get(n) is fn
        ]

    def local_values(self, fn: ast.AST, name: str) -> list[ast.expr] | None:
        """What is assigned to name inside fn (or iterated into it); None if nothing is."""
        out: list[ast.expr] = []
        found = False
        for n in ast.walk(fn):
            if self.scope.get(n) is not fn:
                continue
            if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None:
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for target, value in _pairs(targets, n.value):
                    if isinstance(target, ast.Name) and target.id == name:
                        found = True
                        out.append(value)
            elif isinstance(n, ast.For) and isinstance(n.target, ast.Name) and n.target.id == name:
                found = True
                out.append(ast.Starred(value=n.iter))  # "an element of"
        return out if found else None

    def arguments(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, param: str
    ) -> list[tuple[ast.expr, ast.AST]]:
        """(argument, its scope) for `param` of fn at every call site of fn's name.

        A method is matched by attribute calls (`x.skip(...)`, self not passed), a plain
        function by name calls; `__init__` by calls of its class.
        """
        a = fn.args
        positional = [p.arg for p in (*a.posonlyargs, *a.args)]
        is_method = fn in self.owner and positional[:1] in (["self"], ["cls"])
        if fn.name == "__init__":
            cls = self.owner.get(fn)
            calls = self.calls.get(cls.name, []) if cls else []
        else:
            wanted = ast.Attribute if is_method else (ast.Name, ast.Attribute)
            calls = [c for c in self.calls.get(fn.name, []) if isinstance(c.func, wanted)]
        index = positional.index(param) - is_method if param in positional else None
        out: list[tuple[ast.expr, ast.AST]] = []
        for call in calls:
            args = [x for x in call.args if not isinstance(x, ast.Starred)]
            if index is not None and 0 <= index < len(args):
                out.append((args[index], self.scope[call]))
            out += [(k.value, self.scope[call]) for k in call.keywords if k.arg == param]
        return out

    def field_arguments(self, attr: str) -> list[tuple[ast.expr, ast.AST]]:
        """Constructor arguments of classes declaring attr as a field (dataclass style)."""
        out = []
        for classes in self.classes.values():
            for cls in classes:
                fields = [
                    s.target.id
                    for s in cls.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                if attr not in fields:
                    continue
                index = fields.index(attr)
                for call in self.calls.get(cls.name, []):
                    if index < len(call.args):
                        out.append((call.args[index], self.scope[call]))
                    out += [(k.value, self.scope[call]) for k in call.keywords if k.arg == attr]
        return out

    def values(self, node: ast.expr, scope: ast.AST, seen: frozenset = frozenset()) -> set[str]:
        """The strings node can evaluate to, as far as a static look can tell.

        Unresolvable parts inside an f-string become `<name>` placeholders; an expression
        that cannot be resolved at all gives the empty set.
        """
        key = (id(node), id(scope))
        if key in seen:
            return set()
        seen = seen | {key}
        out: set[str] = set()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                out.add(node.value)
        elif isinstance(node, ast.JoinedStr):
            parts: list[set[str]] = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    parts.append({str(part.value)})
                else:
                    assert isinstance(part, ast.FormattedValue)
                    got = self.values(part.value, scope, seen) or {_placeholder(part.value)}
                    parts.append(got)
            for combo in itertools.islice(itertools.product(*parts), _MAX_VALUES):
                out.add("".join(combo))
        elif isinstance(node, ast.IfExp):
            out |= self.values(node.body, scope, seen) | self.values(node.orelse, scope, seen)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                out |= self.values(v, scope, seen)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            for v in node.elts:
                out |= self.values(v, scope, seen)
        elif isinstance(node, ast.Starred):  # an element of an iterable
            out |= self.values(node.value, scope, seen)
        elif isinstance(node, ast.Name):
            out |= self._name_values(node.id, scope, seen)
        elif isinstance(node, ast.Attribute):
            for value, where in self.attr_values.get(node.attr, []):
                out |= self.values(value, where, seen)
            for value, where in self.field_arguments(node.attr):
                out |= self.values(value, where, seen)
        elif isinstance(node, ast.Call):
            name = _callee(node)
            for fn in self.functions.get(name or "", []):
                for ret in self.returns(fn):
                    out |= self.values(ret, fn, seen)
        return set(itertools.islice(out, _MAX_VALUES))

    def _name_values(self, name: str, scope: ast.AST, seen: frozenset) -> set[str]:
        out: set[str] = set()
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            local = self.local_values(scope, name)
            if local is not None:
                for v in local:
                    out |= self.values(v, scope, seen)
                return out
            if name in _params(scope):
                for arg, where in self.arguments(scope, name):
                    out |= self.values(arg, where, seen)
                return out
        for value, where in self.module_values.get(name, []):
            out |= self.values(value, where, seen)
        return out


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _pairs(targets: Iterable[ast.expr], value: ast.expr) -> Iterable[tuple[ast.expr, ast.expr]]:
    """(target, value) per assigned name, unpacking `a, b = x, y`."""
    for target in targets:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            yield from zip(target.elts, value.elts, strict=False)
        else:
            yield target, value


# --- what the code emits --------------------------------------------------------------------
def _reason(value: str) -> str | None:
    """The stat-safe reason of a collected value, or None when it is not reason-shaped."""
    if "<" in value:
        return value if _REASON_RE.fullmatch(value) else None
    r = slug(value)
    return r if _REASON_RE.fullmatch(r) and r not in OUTCOMES else None


def _drop_head(message: str) -> str | None:
    """The reason the ledger reads from a DropItem message (accounting.drop_reason)."""
    placeholders = re.findall(r"<[a-z_.]+>", message)
    probe = message
    for i, p in enumerate(placeholders):
        probe = probe.replace(p, f"zqph{i}zq", 1)
    head = drop_reason(probe)
    for i, p in enumerate(placeholders):
        head = head.replace(f"zqph{i}zq", p)
    return None if re.fullmatch(r"<[a-z_]+>", head) else _reason(head)


def code_skip_reasons(index: CodeIndex) -> dict[str, set[str]]:
    """{channel: reasons}: values reaching a `skip(...)` reason, and DropItem heads."""
    ledger: set[str] = set()
    skip_defs = [
        f
        for f in index.functions.get("skip", [])
        if getattr(index.owner.get(f), "name", None) == "Ledger" and "reason" in _params(f)
    ]
    assert skip_defs, "no Ledger.skip(obj, reason, ...) found: has the ledger API moved?"
    for fn in skip_defs:
        for arg, where in index.arguments(fn, "reason"):
            ledger |= {r for v in index.values(arg, where) if (r := _reason(v))}
    drops: set[str] = set()
    for call in index.calls.get("DropItem", []):
        if call.args:
            for message in index.values(call.args[0], index.scope[call]):
                head = _drop_head(message)
                if head and head not in OUTCOMES:
                    drops.add(head)
    return {"ledger": ledger, "drop": drops}


def parser_skip_reasons(index: CodeIndex) -> set[str]:
    """The values parse_article puts in a record's private `_skip_reason`."""
    out: set[str] = set()
    for value, where in index.subscript_values.get("_skip_reason", []):
        out |= {r for v in index.values(value, where) if (r := _reason(v))}
    return out


def stat_suffixes(index: CodeIndex, prefix: str) -> set[str]:
    """Literal stat keys `<prefix><name>` the code counts (`_inc("discovery/offsite")`)."""
    out: set[str] = set()
    for name in ("_inc", "inc_value"):
        for call in index.calls.get(name, []):
            if call.args and isinstance(call.args[0], ast.Constant):
                key = str(call.args[0].value).removeprefix("dwscraper/")
                if key.startswith(prefix) and "/" not in key[len(prefix) :]:
                    out.add(key[len(prefix) :])
    return out


# --- what the README says -------------------------------------------------------------------
def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README has no {SECTION!r} section"
    body = text.split(SECTION, 1)[1]
    return body.split("\n## ", 1)[0]


def documented_reasons(section: str) -> set[str]:
    """Backticked names in the first cell of the section's skip table rows."""
    out: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if not line.startswith("|") or len(cells) < 4 or set(cells[1].strip()) <= set("-: "):
            continue
        out |= set(re.findall(r"`([^`]+)`", cells[1]))
    return out


def backticked(section: str) -> set[str]:
    """Backticked names, and the last part of backticked stat keys (`dwscraper/discovery/x`)."""
    names = set(re.findall(r"`([^`\s]+)`", section))
    return names | {n.rsplit("/", 1)[-1] for n in names}


# --- tests ----------------------------------------------------------------------------------
INDEX = CodeIndex(PKG)


def all_code_reasons() -> set[str]:
    channels = code_skip_reasons(INDEX)
    return channels["ledger"] | channels["drop"]


def test_the_scan_finds_reasons_through_every_channel():
    """A scan that silently finds nothing would make the two tests below pass vacuously."""
    channels = code_skip_reasons(INDEX)
    assert INDEX.files, f"no Python files under {PKG}"
    assert channels["ledger"], "no reason reaches the ledger's skip(): the scan is broken"
    assert channels["drop"], "no DropItem reason found: the scan is broken"
    assert parser_skip_reasons(INDEX), "no _skip_reason value found: the scan is broken"
    # Each way a reason travels is exercised at least once (literal, f-string, function
    # return, dataclass field, exception attribute), so a blind spot shows up here.
    reasons = channels["ledger"]
    assert any("<" in r for r in reasons), "no f-string reason (http_<status>) resolved"
    assert len(reasons) >= 10, sorted(reasons)


def test_every_reason_the_code_emits_is_documented():
    section = readme_section()
    documented = documented_reasons(section)
    assert documented, f"no reason table in the README's {SECTION!r} section"
    missing = sorted(all_code_reasons() - documented)
    assert not missing, (
        f"skip reasons emitted by dwscraper/ but not in the README's {SECTION!r} table "
        f"(add a row: | `reason` | error or no | what it means | what to do |): {missing}"
    )


def test_every_documented_reason_is_still_emitted():
    stale = sorted(documented_reasons(readme_section()) - all_code_reasons())
    assert not stale, f"README {SECTION!r} documents reasons no code emits any more: {stale}"


def test_parser_skip_reasons_are_named_in_the_section():
    """parse_article's `_skip_reason` (no_text, ...) explains a `no_article` skip."""
    section = readme_section()
    missing = sorted(parser_skip_reasons(INDEX) - backticked(section))
    assert not missing, f"parse_article _skip_reason values not in the README: {missing}"


def test_discovery_and_source_error_keys_are_named_in_the_section():
    """URLs never scheduled (discovery/*) and sources not followed are counted too."""
    section = readme_section()
    names = backticked(section)
    for prefix in ("discovery/", "sources/error/"):
        keys = stat_suffixes(INDEX, prefix)
        assert keys or prefix == "sources/error/", f"no literal {prefix}* stat found"
        missing = sorted(keys - names)
        assert not missing, f"dwscraper/{prefix}* keys not named in the README: {missing}"


def test_error_column_matches_what_counts_toward_the_error_ratio():
    """The table's *error* mark is what extensions.is_error_reason says (exit 4)."""
    from dwscraper.extensions import is_error_reason

    checked = 0
    for line in readme_section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 4 or not re.search(r"`[^`]+`", cells[0]):
            continue
        for reason in re.findall(r"`([^`]+)`", cells[0]):
            if "<" in reason:  # http_<status>: the cell names the statuses that are not errors
                not_errors = re.findall(r"\b(\d{3})\b", cells[1].split("no", 1)[0])
                assert not_errors and "*error*" in cells[1], cells[1]
                for status in not_errors:
                    assert not is_error_reason(reason.replace("<status>", status)), status
                assert is_error_reason(reason.replace("<status>", "503"))
                continue
            assert is_error_reason(reason) == (cells[1] == "*error*"), (reason, cells[1])
            checked += 1
    assert checked >= 10


def test_the_scan_follows_values_through_the_code(tmp_path):
    """The data-flow pass on a small invented package: every way a reason travels is found."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        """
from dataclasses import dataclass
KINDS = ("alpha", "beta")

@dataclass
class Why:
    reason: str
    detail: str = ""

class Oops(Exception):
    def __init__(self, reason, detail=""):
        self.reason = reason

def pick(x):
    for k in KINDS:
        if k == x:
            return k
    return "via_return" if x else None

def classify(status):
    return f"code_{status}"

class Ledger:
    def skip(self, obj, reason, detail=""):
        pass

class Spider:
    def skip(self, reason, where):
        self.ledger.skip(where, reason)

    def run(self, r, exc):
        self.ledger.skip(r, "literal")
        label = "left" if r else "right"
        self.ledger.skip(r, label)
        self.skip(classify(r.status), r)
        self.skip(Why("from_field").reason, r)
        try:
            raise Oops("from_exception")
        except Oops as e:
            self.skip(e.reason, r)
        self.skip(f"kind_{pick(r)}", r)
        raise DropItem(f"dropped {self.name}: url")

class Pipe:
    def _drop(self, reason):
        return DropItem(f"dropped {reason}: url")

    def run(self):
        raise self._drop("from_pipeline")
        raise DropItem("unchanged: url")
""",
        encoding="utf-8",
    )
    index = CodeIndex(tmp_path / "pkg")
    channels = code_skip_reasons(index)
    assert channels["ledger"] == {
        "literal",
        "left",
        "right",
        "code_<status>",
        "from_field",
        "from_exception",
        "kind_alpha",
        "kind_beta",
        "kind_via_return",
    }
    assert channels["drop"] == {"from_pipeline"}  # not the outcome "unchanged", not <name>
