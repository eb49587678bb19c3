"""The README's reference tables agree with the code they describe.

Why: users run dwscraper from cron off the README alone. A setting renamed, a default
changed, a spider argument or record field added, an exit code moved: each would leave the
README quietly wrong. These tests read the tables and compare them with settings.py, the
spider's signature, record.FIELDS and the exit-code constants.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dwscraper import extensions, record
from dwscraper import settings as project_settings
from dwscraper.extensions import RunStateExtension
from dwscraper.spiders.dw import DwSpider

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README text from the heading `title` to the next heading of level 2."""
    assert f"\n## {title}" in README, f"README has no section {title!r}"
    return README.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def table_after(text: str, header: str) -> list[list[str]]:
    """Rows (cells stripped) of the first table whose header line starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    rows = []
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip().strip("|").split("|")])
    assert rows, f"empty table after {header!r}"
    return rows


def ticks(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# --- settings ---------------------------------------------------------------------------------
def dw_settings() -> dict[str, object]:
    return {k: v for k, v in vars(project_settings).items() if k.startswith("DW_")}


def settings_rows() -> list[list[str]]:
    rows = table_after(section("Settings (`-s NAME=value`)"), "| setting |")
    rows += table_after(section("Incremental runs and cron"), "| setting |")
    return rows


def test_every_dw_setting_is_in_the_readme_and_no_other():
    named = set(re.findall(r"\bDW_[A-Z_]+[A-Z]\b", README))
    declared = set(dw_settings())
    read = set()
    for path in (REPO / "dwscraper").rglob("*.py"):
        read |= set(re.findall(r"""get\w*\(\s*["'](DW_[A-Z_]+)["']""", path.read_text("utf-8")))
    assert read <= declared, f"read by the code but not declared in settings.py: {read - declared}"
    assert not declared - named, f"settings.py declares, the README omits: {declared - named}"
    # Other DW_ names (DW_HOSTS, the DW_SHARED_DIR variable) must at least exist somewhere.
    code = "\n".join(
        f.read_text("utf-8") for d in ("dwscraper", "tests") for f in (REPO / d).rglob("*.py")
    )
    stale = {n for n in named - declared if not re.search(rf"\b{n}\b", code)}
    assert not stale, f"README names DW_ settings or constants that do not exist: {stale}"


def test_settings_table_defaults_match_settings_py():
    """Where a row gives one backticked default per setting, it is settings.py's value."""
    values = dw_settings()
    checked = 0
    for row in settings_rows():
        names, defaults = ticks(row[0]), ticks(row[1])
        if len(names) != len(defaults):
            continue  # "see ...", or a default in words
        for name, doc in zip(names, defaults, strict=True):
            if name not in values or "<" in doc:
                continue  # USER_AGENT, derived defaults (<DW_OUTPUT_DIR>/...)
            actual = values[name]
            if isinstance(actual, bool | str):
                assert doc == str(actual), f"{name}: README {doc!r}, settings.py {actual!r}"
            else:
                assert float(doc.replace("_", "")) == float(actual), (name, doc, actual)
            checked += 1
    assert checked >= 10, f"only {checked} defaults compared: has the table format changed?"


# --- spider arguments -------------------------------------------------------------------------
def test_spider_argument_table_matches_the_spider():
    rows = table_after(section("Spider arguments (`-a name=value`)"), "| argument |")
    documented = {ticks(r[0])[0]: r for r in rows}
    params = {
        name: p
        for name, p in inspect.signature(DwSpider.__init__).parameters.items()
        if name != "self" and p.kind is not p.VAR_KEYWORD
    }
    assert set(params) <= set(documented), f"undocumented: {set(params) - set(documented)}"
    # Arguments read off the spider by extensions (getattr(spider, "refetch", ...)).
    source = "\n".join(p.read_text("utf-8") for p in (REPO / "dwscraper").rglob("*.py"))
    for name in set(documented) - set(params):
        assert re.search(rf"""getattr\(\s*\w*spider\w*,\s*["']{name}["']""", source), (
            f"README documents -a {name}, which nothing reads"
        )
    for name, p in params.items():
        if isinstance(p.default, str):
            assert f"`{p.default}`" in documented[name][1], (name, p.default)


@pytest.mark.parametrize(
    ("arg", "says"),
    [
        ("mode=everything", "mode must be latest or archive"),
        ("lang=xx", "unknown edition(s) xx"),
        ("since=yesterday", "yesterday"),
        ("url_file=/nonexistent/urls.txt", "cannot read url_file /nonexistent/urls.txt"),
    ],
)
def test_bad_spider_argument_is_a_usage_error_naming_it(tmp_path, arg, says):
    """The exit code table's row 2: a bad -a value stops the run before anything is fetched,
    with one error line instead of a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "dw", "-a", arg,
         "-s", "DW_STATE_PATH=", "-s", f"DW_OUTPUT_DIR={tmp_path}", "-s", "LOG_LEVEL=ERROR"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "error: spider dw: " in proc.stderr and says in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written


# --- the record -------------------------------------------------------------------------------
def test_record_table_lists_every_field_in_output_order():
    rows = table_after(section("The record"), "| field |")
    fields = [name for r in rows for name in ticks(r[0])]
    assert tuple(fields) == record.FIELDS


# --- exit codes and last-run.json -------------------------------------------------------------
def test_exit_code_table_matches_the_constants():
    text = section("Incremental runs and cron")
    rows = table_after(text.split("**Exit codes**", 1)[1], "| code |")
    documented = {int(c) for r in rows for c in re.findall(r"\d+", r[0])}
    constants = {v for k, v in vars(extensions).items() if k.startswith("EXIT_")}
    expected = constants | set(extensions.PROBLEM_CODES.values()) | {2}  # 2: Scrapy usage
    assert documented == expected


def test_problems_and_summary_keys_match_the_extension():
    text = section("Incremental runs and cron")
    listed = text.split("`problems` names", 1)[1].split("(", 1)[1].split(")", 1)[0]
    assert set(ticks(listed)) == set(extensions.PROBLEM_CODES)

    # The README's last-run.json example (its trailing ", ..." aside) shows keys finish() writes.
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    shown = json.loads(example.replace(", ...}", "}"))
    finish = ast.parse(inspect.cleandoc("\n" + inspect.getsource(RunStateExtension.finish)))
    summary = next(
        n.value
        for n in ast.walk(finish)
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Dict)
        and any(isinstance(t, ast.Attribute) and t.attr == "summary" for t in n.targets)
    )
    written = {k.value: v for k, v in zip(summary.keys, summary.values, strict=True) if k}
    assert set(shown) <= set(written), set(shown) - set(written)
    for key, value in shown.items():
        node = written[key]
        if isinstance(value, dict) and isinstance(node, ast.Dict) and None not in node.keys:
            inner = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            assert set(value) <= inner, (key, set(value) - inner)
        elif key == "extractors":
            assert set(value) == set(extensions.EXTRACTORS)
    assert shown["exit_code"] == extensions.EXIT_OK and shown["status"] == "ok"
