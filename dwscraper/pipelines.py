"""Item pipelines: normalize, validate, dedupe, write JSON Lines.

Each pipeline is a thin Scrapy adapter over a pure function (normalize_record,
missing_required, ...) so the rules are testable without a crawl. Order (settings.py):
Normalize -> Validate -> Dedupe -> JsonLinesWriter.

Private keys (starting with "_") carry discovery facts from the spider (`_discovered_date`,
`_discovered_published`,
`_discovered_lastmod`, `_source`, `_fetched_at`, `_fetch_url`); they are used here and by
listeners of `record_written`, and never reach the output (record.ordered drops them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonlines
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from dwscraper import record as rec_mod
from dwscraper import urls
from dwscraper.normalize import (
    clean_line,
    clean_text,
    refine_day,
    run_stamp,
    to_rfc3339,
    utc_now,
)
from dwscraper.record import json_line  # re-exported: the writer's line format

logger = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("record.schema.json")

# Signals (crawler.signals.connect(handler, signal=...)).
# record_written(item, record, path, line_no): sent after a record's line is flushed to the
# run's output file. `item` still has the private keys; `record` is what was written.
# Commit to a state store here: when it fires, the line is on disk (OS buffers).
record_written = object()
# output_closed(path, count): the run's file was finalized (renamed from .part), or
# path=None when the run wrote no record (the empty .part is removed).
output_closed = object()

REQUIRED = ("id", "url", "text")
_LINE_FIELDS = ("title", "teaser", "section", "published_raw")


# --- pure functions -----------------------------------------------------------------------


def _clean_list(values: Any) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        c = clean_line(str(v)) if v is not None else None
        if c and c not in out:
            out.append(c)
    return out


def normalize_record(item: dict[str, Any], fetched_at: str | None = None) -> dict[str, Any]:
    """The record with dates, URLs and text in their one normal form (idempotent).

    Dates become RFC 3339 UTC or YYYY-MM-DD; a day-only `published` takes the time from the
    news sitemap's or feed's publication date (`_discovered_published`) when that falls on the
    same day, likewise `modified` from `_discovered_lastmod`. Strings are NFC with collapsed
    whitespace; "" becomes None.
    """
    r = dict(item)
    if r.get("url"):
        r["url"] = urls.canonical_url(str(r["url"]))
        r["id"] = r.get("id") or urls.content_id(r["url"])
        r["language"] = r.get("language") or urls.edition(r["url"])
        r["page_type"] = r.get("page_type") or urls.page_type(r["url"])
    if r.get("short_url"):
        r["short_url"] = urls.permalink(str(r["short_url"]))
    for k in _LINE_FIELDS:
        if k in r:
            r[k] = clean_line(r[k]) if isinstance(r[k], str) else r[k]
    if "text" in r:
        r["text"] = clean_text(r["text"]) if isinstance(r["text"], str) else r["text"]
    for k in rec_mod.LIST_FIELDS:
        if k in r:
            r[k] = _clean_list(r[k])
    # A bare day is timed only by a publication date (news sitemap, feed), never by an
    # archive sitemap's lastmod: that is when the page last changed.
    r["published"] = refine_day(to_rfc3339(r.get("published")), r.get("_discovered_published"))
    r["modified"] = refine_day(to_rfc3339(r.get("modified")), r.get("_discovered_lastmod"))
    img = r.get("image")
    if isinstance(img, dict):
        img = {k: clean_line(img.get(k)) if isinstance(img.get(k), str) else None
               for k in ("url", "caption", "credit")}  # fmt: skip
        r["image"] = img if any(img.values()) else None
    elif img is not None:
        r["image"] = None
    text = r.get("text")
    if not isinstance(r.get("word_count"), int):
        r["word_count"] = len(text.split()) if isinstance(text, str) else 0
    r["schema_version"] = rec_mod.SCHEMA_VERSION
    r["fetched_at"] = to_rfc3339(fetched_at or r.get("_fetched_at") or r.get("fetched_at"))
    r["fetched_at"] = r["fetched_at"] or utc_now()
    for k, v in list(r.items()):
        if isinstance(v, str) and not k.startswith("_"):
            v = unicodedata.normalize("NFC", v)
            r[k] = v or None
    r["content_hash"] = rec_mod.content_hash(r)
    return r


def missing_required(item: dict[str, Any]) -> str | None:
    """The first required field (id, url, text) that is empty, or None."""
    for k in REQUIRED:
        v = item.get(k)
        if v is None or (isinstance(v, str) and not v.strip()):
            return k
    return None


@lru_cache(maxsize=1)
def schema_validator() -> Any:
    """The record JSON Schema, compiled once per process."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_errors(record: dict[str, Any]) -> list[str]:
    """Human-readable schema violations of a record (public keys only); [] when valid."""
    errors = sorted(schema_validator().iter_errors(rec_mod.ordered(record)), key=str)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<record>'}: {e.message}" for e in errors]


# What a record cannot be without: a violation here drops it. A violation in any other field
# (a malformed short link, an odd date form) costs that field, not the article.
_UNREPAIRABLE = frozenset(
    {"schema_version", "id", "url", "text", "word_count", "fetched_at", "content_hash"}
)


def repair_record(record: dict[str, Any]) -> list[str] | None:
    """Empty the optional fields that break the schema (null, or [] for a list), in place;
    the names of the fields emptied, or None when the record cannot be made valid so."""
    errors = list(schema_validator().iter_errors(rec_mod.ordered(record)))
    fields = {e.absolute_path[0] if e.absolute_path else None for e in errors}
    if not fields or None in fields or fields & _UNREPAIRABLE:
        return None
    for name in fields:
        record[name] = [] if name in rec_mod.LIST_FIELDS else None
    record["content_hash"] = rec_mod.content_hash(record)
    return sorted(fields) if is_valid_record(record) else None


# jsonschema walks the schema on every call (~1-3 ms per record); the crawl checks every
# record, so the schema is compiled once into plain Python checks for the keywords it uses.
# jsonschema stays the reference: it explains failures, and a test keeps both in agreement.
_JSON_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
_KNOWN_KEYWORDS = {
    "$schema", "$id", "title", "description", "format", "type", "const", "enum", "pattern",
    "minLength", "minimum", "items", "uniqueItems", "anyOf", "properties", "required",
    "additionalProperties",
}  # fmt: skip


def _unique(values: list[Any]) -> bool:
    if all(isinstance(x, str) for x in values):
        return len(set(values)) == len(values)
    return len({json.dumps(x, sort_keys=True) for x in values}) == len(values)


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "array": (list,),
    "object": (dict,),
}


def _type_check(names: list[str]) -> Callable[[Any], bool]:
    """One isinstance test for a list of JSON types (bool is no integer or number)."""
    for n in names:
        _JSON_TYPES[n]  # KeyError for an unknown type name, as before
    types = tuple({t for n in names for t in _PY_TYPES[n]})
    if "boolean" in names:
        return lambda v: isinstance(v, types)
    return lambda v: isinstance(v, types) and type(v) is not bool


def _enum_check(allowed: list[Any]) -> Callable[[Any], bool]:
    """Equal to one of allowed with the same type (1 is not 1.0 or True)."""
    hashable = {(type(a), a) for a in allowed if isinstance(a, str | int | float | bool | None)}
    rest = [a for a in allowed if not isinstance(a, str | int | float | bool | None)]

    def check(v: Any) -> bool:
        try:
            if (type(v), v) in hashable:
                return True
        except TypeError:  # an unhashable value (list, dict)
            pass
        return any(v == a and type(v) is type(a) for a in rest)

    return check


def _all_of(checks: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)
    if len(checks) == 3:
        a, b, c = checks
        return lambda v: a(v) and b(v) and c(v)

    def check(v: Any) -> bool:
        for c in checks:  # noqa: SIM110 - a loop, not a generator: this runs per field
            if not c(v):
                return False
        return True

    return check


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A fast is-valid predicate for the subset of JSON Schema the record schema uses.

    Each keyword becomes one closure and a node's closures are chained without generators:
    the crawl runs this on every record (~26 fields, some with enums and patterns).
    """
    unknown = set(schema) - _KNOWN_KEYWORDS
    if unknown:
        raise ValueError(f"compile_schema does not support {sorted(unknown)}")
    checks: list[Callable[[Any], bool]] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        checks.append(_type_check(names))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: v == const and type(v) is type(const))
    if "enum" in schema:
        checks.append(_enum_check(list(schema["enum"])))
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
    if "minLength" in schema:
        n = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= n)
    if "minimum" in schema:
        lo = schema["minimum"]
        is_number = _type_check(["number"])
        checks.append(lambda v: not is_number(v) or v >= lo)
    if "items" in schema:
        item_ok = compile_schema(schema["items"])

        def items_ok(v: Any) -> bool:
            if isinstance(v, list):
                for x in v:
                    if not item_ok(x):
                        return False
            return True

        checks.append(items_ok)
    if schema.get("uniqueItems"):
        checks.append(lambda v: not isinstance(v, list) or _unique(v))
    if "anyOf" in schema:
        alts = [compile_schema(a) for a in schema["anyOf"]]

        def any_of(v: Any) -> bool:
            for a in alts:  # noqa: SIM110 - a loop, not a generator: this runs per field
                if a(v):
                    return True
            return False

        checks.append(any_of)
    if "required" in schema:
        req = frozenset(schema["required"])
        checks.append(lambda v: not isinstance(v, dict) or req <= v.keys())
    props = {k: compile_schema(sub) for k, sub in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    if props or extra is not True:
        if extra not in (True, False):
            raise ValueError("compile_schema supports additionalProperties true/false only")

        def check_props(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k, val in v.items():
                ok = props.get(k)
                if ok is None:
                    if extra is False:
                        return False
                elif not ok(val):
                    return False
            return True

        checks.append(check_props)
    return _all_of(checks)


@lru_cache(maxsize=1)
def fast_schema_check() -> Callable[[Any], bool]:
    """The record schema compiled by compile_schema (once per process)."""
    return compile_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def is_valid_record(record: dict[str, Any]) -> bool:
    """True when the public part of record satisfies the schema (fast path)."""
    return fast_schema_check()(rec_mod.ordered(record))


# --- pipelines ----------------------------------------------------------------------------


def _as_dict(item: Any) -> dict[str, Any]:
    """The item as a dict: dicts as they are (no deep copy per pipeline), others adapted."""
    return item if isinstance(item, dict) else ItemAdapter(item).asdict()


class _StatsMixin:
    crawler: Crawler

    def _drop(self, reason: str, item: dict[str, Any], detail: str = "") -> DropItem:
        self.crawler.stats.inc_value(f"dwscraper/dropped/{reason}")
        msg = f"dropped {reason}: {item.get('url') or item.get('_fetch_url')}"
        return DropItem(f"{msg} ({detail})" if detail else msg)


class NormalizePipeline(_StatsMixin):
    """Dates, URLs, Unicode and whitespace in one form; fetched_at and content_hash set."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        """Scrapy entry point."""
        return cls(crawler)

    def process_item(self, item: Any) -> dict[str, Any]:
        """Normalize a parsed record."""
        return normalize_record(_as_dict(item))


class ValidatePipeline(_StatsMixin):
    """Drop records without id, url or text (counted); a record that breaks the JSON Schema
    in optional fields only is written with those fields emptied (counted, logged)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.use_schema = crawler.settings.getbool("DW_VALIDATE_SCHEMA", True)
        if self.use_schema:
            # jsonschema (~0.1 s to import and build, every run, no-op cron runs included) is
            # only needed to explain a violation; it is built on the first one. The schema's
            # own validity is checked by the tests (tests/test_schema.py).
            fast_schema_check()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        """Scrapy entry point."""
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        """Pass valid records on; raise DropItem with a counted reason otherwise."""
        data = _as_dict(item)
        field = missing_required(data)
        if field:
            raise self._drop(f"no_{field}", data)
        if self.use_schema and not is_valid_record(data):
            errors = schema_errors(data) or ["rejected by the compiled schema check"]
            logger.warning("schema violation in %s: %s", data.get("url"), "; ".join(errors))
            emptied = repair_record(data)
            if emptied is None:
                raise self._drop("schema", data, errors[0])
            for name in emptied:
                self.crawler.stats.inc_value(f"dwscraper/emptied/{name}")
            logger.warning("%s: written with %s emptied", data.get("url"), ", ".join(emptied))
            return data
        return item


class DedupePipeline(_StatsMixin):
    """One record per content id per run, whatever slugs or sources led to it."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        """Scrapy entry point."""
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        """Drop a record whose id was already passed on in this run."""
        data = _as_dict(item)
        cid = data.get("id")
        if cid in self.seen:
            raise self._drop("duplicate", data)
        self.seen.add(cid)
        return item


class OutputError(RuntimeError):
    """The run's output file cannot be created or written."""


def output_name(started: datetime) -> str:
    """dw-<UTC start YYYYmmddTHHMMSSZ>.jsonl: names come from run time only, never URLs."""
    return f"dw-{run_stamp(started)}.jsonl"


class JsonLinesWriterPipeline(_StatsMixin):
    """Write each record as one flushed JSON line to DW_OUTPUT_DIR/dw-<start>.jsonl.

    The file is written as `<name>.part` and renamed when the run closes, so a reader of
    output/*.jsonl never sees a half-written run. After every flushed line the
    `record_written` signal fires (extension point for the state store, issue 3); override
    `after_write` in a subclass for the same effect. Returns the ordered public record, so
    `-O`/`-o` feed exports get the same keys in the same order. Empty DW_OUTPUT_DIR: no file.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        out = crawler.settings.get("DW_OUTPUT_DIR", "output")
        self.out_dir: Path | None = Path(out) if out else None
        self.path: Path | None = None
        self.part_path: Path | None = None
        self._fp: Any = None
        self._writer: jsonlines.Writer | None = None
        self._failed = False
        self._good_size = 0  # bytes of whole lines written so far
        self.count = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JsonLinesWriterPipeline:
        """Scrapy entry point."""
        return cls(crawler)

    def open_spider(self) -> None:
        """Create the .part file up front: an unwritable output fails the run at once."""
        if self.out_dir is None:
            return
        started = datetime.now(UTC)
        name = output_name(started)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / name
            n = 1
            while path.exists() or path.with_name(path.name + ".part").exists():
                # Two runs in one second: "_1" sorts after ".jsonl" ("-1" would sort before),
                # so name order stays run order for readers that glob and sort.
                path = self.out_dir / name.replace(".jsonl", f"_{n}.jsonl")
                n += 1
            self.path = path
            self.part_path = path.with_name(path.name + ".part")
            self._fp = self.part_path.open("x", encoding="utf-8", newline="\n")
        except OSError as exc:
            self.crawler.stats.set_value("dwscraper/output/error", str(exc))
            logger.error("cannot write output in %s: %s", self.out_dir, exc)
            raise OutputError(f"cannot write output in {self.out_dir}: {exc}") from exc
        self._writer = jsonlines.Writer(self._fp, compact=True, flush=True, dumps=json_line)
        self.crawler.stats.set_value("dwscraper/output/file", str(self.path))
        logger.info("writing records to %s", self.part_path)

    def process_item(self, item: Any) -> dict[str, Any]:
        """Write one line, flush it, announce it; pass the public record on."""
        data = _as_dict(item)
        out = rec_mod.ordered(data)
        if self._failed:
            raise self._drop("output_error", data, "output file unwritable")
        if self._writer is None:
            return out
        try:
            self._writer.write(out)
            self._good_size = self._fp.tell()
        except OSError as exc:
            self._fail(exc)
            raise self._drop("output_error", data, str(exc)) from exc
        self.count += 1
        self.crawler.stats.inc_value("dwscraper/output/records")
        self.after_write(data, out)
        return out

    def _fail(self, exc: OSError) -> None:
        """Disk full or file gone: cut the file back to its last whole line and stop the run.

        Lines written before stay (their records may already be committed elsewhere); no
        partial line is left, and the run ends with reason "output_error".
        """
        self._failed = True
        self.crawler.stats.set_value("dwscraper/output/error", str(exc))
        logger.error("cannot write to %s: %s; stopping the run", self.part_path, exc)
        with contextlib.suppress(OSError, ValueError):
            self._fp.close()  # flushing what is buffered may fail again: that is expected
        self._writer = None
        if self.part_path is not None:
            with contextlib.suppress(OSError):
                os.truncate(self.part_path, self._good_size)
        try:
            engine = self.crawler.engine
        except RuntimeError:  # not crawling (unit tests)
            return
        deferred_from_coro(engine.close_spider_async(reason="output_error"))

    def after_write(self, item: dict[str, Any], record: dict[str, Any]) -> None:
        """Called after each flushed line; sends the record_written signal."""
        self.crawler.signals.send_catch_log(
            record_written, item=item, record=record, path=self.part_path, line_no=self.count
        )

    def close_spider(self) -> None:
        """Close the .part file and rename it to .jsonl (or remove it if it stayed empty)."""
        if self.part_path is None or self.path is None:
            return
        if self._writer is not None:
            self._writer.close()
            self._fp.close()
            self._writer = None
        elif not self._failed:
            return
        final: Path | None = self.path
        if self.count == 0:
            self.part_path.unlink(missing_ok=True)
            final = None
            logger.info("no new records; no output file written")
        else:
            try:
                self.part_path.replace(self.path)
            except OSError as exc:
                self.crawler.stats.set_value("dwscraper/output/error", str(exc))
                logger.error("cannot rename %s: %s", self.part_path, exc)
                final = None
            else:
                logger.info("wrote %d records to %s", self.count, self.path)
        self.crawler.stats.set_value("dwscraper/output/file", str(final) if final else None)
        self.crawler.signals.send_catch_log(output_closed, path=final, count=self.count)
        self._failed = False  # closed: a second call is a no-op
