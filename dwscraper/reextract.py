"""Re-run today's parser and pipelines over archived pages, offline: WARC in, JSON Lines out.

    python -m dwscraper.reextract output/warc/dw-*.warc.gz -o out.jsonl

Why: DW redesigns its pages; when extraction breaks or improves, users re-extract what was
already downloaded instead of crawling DW again. Each archived 200 HTML content page goes
through the same steps as in a crawl (dwscraper.pages.record_from_page: the spider's page
checks and parse_article with the canonical URL; the pipelines' pure normalize/validate/dedupe
functions; the writer's JSON form), with fetched_at from the WARC-Date and the discovery
hints and revision the crawl archived next to the response. So re-extracting a run's WARC
with an unchanged parser gives that run's records, field for field.

By default a page the run deliberately did not write because it was unchanged since an
earlier run (crawl history, not extraction) is skipped again; --all re-extracts it too.
Exit status: 0 done (skips are counted on stderr), 2 a WARC file cannot be read.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import IO, Any

from dwscraper import record as rec_mod
from dwscraper import urls
from dwscraper.normalize import to_rfc3339
from dwscraper.pages import parser_input, record_from_page
from dwscraper.pipelines import json_line, missing_required, normalize_record, schema_errors
from dwscraper.warc import (
    ArchivedResponse,
    WarcReadError,
    is_warc,
    iter_archived_pages,
    read_metadata,
)

# Drop reasons that are the crawl's history, not the extraction's verdict (see module doc):
# RevisionPipeline (dwscraper/extensions.py) drops a refetched, unchanged record so.
HISTORY_DROPS = ("unchanged:",)


_SEQ_RE = re.compile(r"-\d{5}\.warc(?:\.gz)?$")


def run_of(path: Path) -> str:
    """The run a WARC file belongs to: its name without the roll-over sequence number.

    dw-20240130T141312Z-00000.warc.gz and -00001 are one run; each run keeps one record
    per content id, so re-extracting several runs keeps every run's revisions.
    """
    return _SEQ_RE.sub("", path.name)


def page_input(page: ArchivedResponse) -> Callable[[], tuple[str | bytes, str | None]] | None:
    """parse_article's input for the page as the spider saw it, lazily: Scrapy's TextResponse
    rules, then the crawl's charset correction (dwscraper.middlewares.real_encoding), then
    pages.parser_input, as in the spider.

    None when Scrapy would not make the page a text response at all (then it is not_html).
    """
    from scrapy.http import TextResponse
    from scrapy.responsetypes import responsetypes

    from dwscraper.middlewares import real_encoding

    headers = {k: v for k, v in page.headers if k.lower() != "content-encoding"}
    cls = responsetypes.from_args(headers=headers, url=page.fetched_url, body=page.body)
    if not issubclass(cls, TextResponse):
        return None
    response = cls(url=page.fetched_url, headers=headers, body=page.body)
    real = real_encoding(response)
    if real is not None:
        response = response.replace(encoding=real)
    return lambda: parser_input(response)


def page_record(page: ArchivedResponse) -> tuple[dict[str, Any] | None, str | None]:
    """(normalized record, None) or (None, skip reason) for one archived page."""
    canonical = urls.canonical_url(page.url)
    record, skipped = record_from_page(page.body, page.content_type, canonical, page_input(page))
    if skipped is not None:  # the crawl's own page checks (dwscraper/pages.py)
        return None, skipped.reason
    for key, value in page.hints.items():  # the spider's discovery keys; the parser's own win
        record.setdefault(key, value)
    if "_discovered_published" not in page.hints and str(page.hints.get("_source")).startswith(
        ("news-sitemap", "rss")
    ):
        # Archived before the publication date had its own key: from a news sitemap or a
        # feed, the discovered date was one.
        record.setdefault("_discovered_published", page.hints.get("_discovered_date"))
    record["_fetched_at"] = to_rfc3339(page.warc_date) or page.hints.get("_fetched_at")
    record.setdefault("_fetch_url", page.fetched_url)
    record["warc_file"] = page.warc_file
    record["warc_record_id"] = page.record_id
    if "revision" in page.meta:
        record["revision"] = page.meta["revision"]
    return normalize_record(record), None


def extract_page(page: ArchivedResponse, validate_schema: bool = True) -> tuple[Any, str | None]:
    """(normalized valid record, None) or (None, counted reason) for one archived page.

    The per-page work (decode, parse, normalize, validate); top-level so worker processes
    can run it (--jobs).
    """
    record, skip = page_record(page)
    if record is None:
        return None, f"skipped/{skip}"
    missing = missing_required(record)
    if missing:
        return None, f"dropped/no_{missing}"
    if validate_schema and schema_errors(record):
        return None, "dropped/schema"
    return record, None


def _archived_pages(
    paths: list[Path], include_all: bool, stats: Counter[str]
) -> Iterator[ArchivedResponse]:
    """The pages to re-extract, file by file, each with what the crawl recorded about it."""
    metas: dict[int, dict[str, dict[str, Any]]] = {}
    for i, path in enumerate(paths):
        # Metadata sits in its response's file, or (rarely, long after a roll-over) in a
        # later one: read this file's and the next one's, never a whole run's.
        for j in (i, i + 1):
            if j < len(paths) and j not in metas:
                metas[j] = read_metadata([paths[j]])
        meta = _merged(metas.pop(i), metas.get(i + 1, {}))
        file_stats: dict[str, int] = {}
        for page in iter_archived_pages(path, file_stats, meta=meta):
            stats["pages"] += 1
            reason = page.meta.get("reason") or ""
            if (
                not include_all
                and page.meta.get("outcome") == "dropped"
                and reason.startswith(HISTORY_DROPS)
            ):
                stats["skipped/unchanged_in_run"] += 1
                continue
            yield page
        for reason, n in file_stats.items():
            stats[f"archive/{reason}"] += n


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def reextract(
    paths: Iterable[str | Path],
    *,
    include_all: bool = False,
    validate_schema: bool = True,
    stats: Counter[str] | None = None,
    jobs: int = 1,
) -> Iterator[dict[str, Any]]:
    """Records (public keys, output order) re-extracted from WARC files, in file order.

    Counts pages and skips by reason into `stats`. Raises WarcReadError before yielding
    anything when a file cannot be read at all. jobs > 1 parses in that many processes
    (same records, same order; pages travel in bounded batches).
    """
    stats = stats if stats is not None else Counter()
    paths = [Path(p) for p in paths]
    for path in paths:
        if not is_warc(path):
            raise WarcReadError(f"{path}: not a readable WARC file")
    pages = _archived_pages(paths, include_all, stats)
    work = partial(extract_page, validate_schema=validate_schema)
    seen: set[tuple[str, str]] = set()  # (run, id): the crawl dedupes within a run

    def results() -> Iterator[tuple[ArchivedResponse, Any, str | None]]:
        if jobs <= 1:
            for page in pages:
                yield (page, *work(page))
            return
        with ProcessPoolExecutor(jobs) as pool:
            for batch in _batches(pages, 16 * jobs):
                for page, (record, reason) in zip(
                    batch, pool.map(work, batch, chunksize=4), strict=True
                ):
                    yield page, record, reason

    for page, record, reason in results():
        if record is None:
            stats[reason or "skipped/unknown"] += 1
            continue
        key = (run_of(Path(page.warc_file)), record["id"])
        if key in seen:
            stats["dropped/duplicate"] += 1
            continue
        seen.add(key)
        stats["records"] += 1
        yield rec_mod.ordered(record)


def _merged(*metas: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metadata of several files, one dict per response record id (inputs untouched)."""
    out: dict[str, dict[str, Any]] = {}
    for meta in metas:
        for ref, data in meta.items():
            out.setdefault(ref, {}).update(data)
    return out


def _open_out(path: str) -> IO[str]:
    if path == "-":
        return sys.stdout
    return open(path, "w", encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m dwscraper.reextract",
        description="Re-extract JSON Lines records from WARC files written by a crawl.",
    )
    ap.add_argument("warc", nargs="+", help="WARC files (.warc.gz or .warc)")
    ap.add_argument("-o", "--output", default="-", help="JSON Lines output file (default stdout)")
    ap.add_argument(
        "--all",
        action="store_true",
        help="also re-extract pages the run did not write because they were unchanged",
    )
    ap.add_argument(
        "--no-schema", action="store_true", help="do not drop records breaking the JSON Schema"
    )
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parse in N processes (default 1)")
    args = ap.parse_args(argv)

    for p in args.warc:
        if not Path(p).is_file():
            print(f"reextract: cannot read {p}: no such file", file=sys.stderr)
            return 2
    stats: Counter[str] = Counter()
    t0 = time.perf_counter()
    out = _open_out(args.output)
    try:
        for rec in reextract(
            args.warc,
            include_all=args.all,
            validate_schema=not args.no_schema,
            stats=stats,
            jobs=args.jobs,
        ):
            out.write(json_line(rec) + "\n")
    except WarcReadError as exc:
        print(f"reextract: {exc}", file=sys.stderr)
        return 2
    finally:
        if out is not sys.stdout:
            out.close()
    secs = time.perf_counter() - t0
    rate = stats["pages"] / secs if secs > 0 else 0.0
    others = ", ".join(
        f"{k} {v}" for k, v in sorted(stats.items()) if k not in ("pages", "records")
    )
    print(
        f"reextract: {stats['pages']} pages -> {stats['records']} records in {secs:.2f} s "
        f"({rate:.1f} pages/s){'; ' + others if others else ''}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
