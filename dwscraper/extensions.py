"""Unattended runs: state, one-run lock, revisions, progress, run summary and outcome.

Scrapy adapters over dwscraper.state (the SQLite store) and dwscraper.runlock:

- RunStateExtension (EXTENSIONS): takes the run lock, opens the state store, recovers the
  ``.part`` files of killed runs, installs the spider's fetch filter (skip ids already
  captured unless their sitemap/feed date is newer, or ``-a refetch=all``), commits a record's
  row after the writer flushed its line (``record_written`` signal), logs a progress line, and
  at the end writes ``last-run.json`` and decides the exit code cron sees.
- RevisionPipeline (ITEM_PIPELINES, before the writer): revision 1 for a new id, n+1 when the
  content hash changed, and drops an unchanged record ("unchanged: ...", not a skip).
- StateCommitPipeline (ITEM_PIPELINES, after the writer): Scrapy closes pipelines in reverse
  order, so its close_spider commits the store before the writer renames its ``.part``;
  a kill between the two can then never publish a line the store does not know.

The `crawl` command in dwscraper/commands turns the outcome into the process exit code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, logformatter, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured
from scrapy.http import Request, Response
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.asyncio import create_looping_call

from dwscraper import pipelines, runlock, urls
from dwscraper.accounting import EXCEPTION_ACCOUNTED, Ledger
from dwscraper.normalize import utc_now
from dwscraper.state import StateStore, leftover_parts, newest, normalize_date

logger = logging.getLogger(__name__)


def _fields(item: Any) -> Any:
    """The item's fields as a mapping: a dict item itself (our records are dicts; an
    ItemAdapter costs ~2 us and the crawl asked for ~6 per page), else its ItemAdapter."""
    return item if type(item) is dict else ItemAdapter(item)


# Exit codes (README "Incremental runs and cron"). 1 and 2 are Scrapy's own (failed to
# start, usage error).
EXIT_OK = 0
EXIT_NO_SOURCE = 3
EXIT_ERRORS = 4
EXIT_OUTPUT = 5
EXIT_EMPTY = 6
EXIT_INTERRUPTED = 7
EXIT_LOCKED = 75  # sysexits EX_TEMPFAIL: another run holds the lock; try again later

PROBLEM_CODES: dict[str, int] = {
    "output_unwritable": EXIT_OUTPUT,
    "no_source_read": EXIT_NO_SOURCE,
    "error_ratio": EXIT_ERRORS,
    "empty_ratio": EXIT_EMPTY,
    "interrupted": EXIT_INTERRUPTED,
    "state_unwritable": EXIT_OUTPUT,
    "warc_unwritable": EXIT_OUTPUT,  # records written, their raw pages not archived
    "start_error": 1,  # the spider's start() raised: like a failed start
}

STAT_EXIT = "dwscraper/exit_code"
STAT_NEW = "dwscraper/records/new"
STAT_UPDATED = "dwscraper/records/updated"
STAT_UNCHANGED = "dwscraper/records/unchanged"
STAT_PAGES_FETCHED = "dwscraper/pages/fetched"
STAT_EXTRACTOR = "dwscraper/extractor/"  # + dw-new / dw-old / dw-state / fallback / none
EXTRACTORS = ("dw-new", "dw-old", "dw-state", "fallback")
FILTER_REASON = "not_modified"  # counted by the spider as dwscraper/discovery/not_modified

# Skip reasons that mean a page *failed* (count toward DW_MAX_ERROR_RATIO). The rest
# (robots, http_404/410 gone, not_html, duplicate, ...) are decisions, not failures.
_ERROR_REASONS = frozenset(
    {
        "timeout",
        "dns_error",
        "connection_refused",
        "connection_error",
        "download_error",
        "too_many_redirects",
        "parse_error",
        "item_error",
    }
)
_GONE = frozenset({"http_404", "http_410"})


def is_error_reason(reason: str) -> bool:
    """True for a skip reason that is a failure (network, HTTP error, parser crash)."""
    if reason.startswith("http_"):
        return reason not in _GONE
    return reason in _ERROR_REASONS


def parse_refetch(value: Any) -> bool:
    """The `-a refetch=` argument: True for 'all'; ValueError for anything unknown."""
    text = str(value or "").strip().lower()
    if text in ("", "no", "none", "changed", "0", "false"):
        return False
    if text in ("all", "1", "yes", "true"):
        return True
    raise ValueError(f"refetch must be 'all' (or omitted), got {text!r}")


def _refetch_all(spider: Spider | None) -> bool:
    return parse_refetch(getattr(spider, "refetch", None))


def discovery_date(disc: Any) -> str | None:
    """The newest date the sitemaps/feeds gave for an id (publication time or lastmod)."""
    return newest(
        normalize_date(getattr(disc, "date", None)), normalize_date(getattr(disc, "lastmod", None))
    )


class StatsCollector(MemoryStatsCollector):
    """Scrapy's default stats collector (STATS_CLASS) without its per-access shim.

    Scrapy 2.19's StatsCollector sends every attribute access through a Python
    __getattribute__ that wraps the stat methods to warn about a deprecated `spider`
    argument: ~4 us per inc_value instead of ~0.15 us, and a crawl makes ~30 of them per
    page (Scrapy's middlewares, the ledger, WARC capture). Same methods and stats; a
    `spider` argument is still accepted (and ignored), just not warned about.
    """

    __getattribute__ = object.__getattribute__


def logs_debug(settings: Any) -> bool:
    """True when LOG_LEVEL lets DEBUG messages through to Scrapy's log."""
    probe = logging.Handler()
    try:
        probe.setLevel(settings.get("LOG_LEVEL") or logging.DEBUG)
    except (TypeError, ValueError):
        return True
    return probe.level <= logging.DEBUG


class LogFormatter(logformatter.LogFormatter):
    """Scrapy's LOG_FORMATTER, minus DEBUG messages per page nobody sees.

    Scrapy leaves the root logger at NOTSET and filters by LOG_LEVEL in its handler, so
    "Crawled (200)" and "Scraped from" are built as log records for every page and then
    discarded. With LOG_LEVEL above DEBUG they are not made at all (returning None is
    LogFormatter's documented way to skip a message); with DEBUG they are as before.
    """

    debug = True

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LogFormatter:
        """Decide once whether DEBUG is logged."""
        fmt = cls()
        fmt.debug = logs_debug(crawler.settings)
        return fmt

    def crawled(self, request: Request, response: Response, spider: Spider) -> Any:
        """Scrapy's 'Crawled (200)' message, or None when DEBUG is not logged."""
        return super().crawled(request, response, spider) if self.debug else None

    def scraped(self, item: Any, response: Any, spider: Spider) -> Any:
        """Scrapy's 'Scraped from' message, or None when DEBUG is not logged."""
        return super().scraped(item, response, spider) if self.debug else None

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Spider) -> Any:
        """Scrapy's 'Dropped' message; None for a DEBUG one (an unchanged record, one per
        refetched page) when DEBUG is not logged."""
        result = super().dropped(item, exception, response, spider)
        if not self.debug and result["level"] <= logging.DEBUG:
            return None
        return result


def summary_path_for(settings: Any) -> Path | None:
    """Where last-run.json goes: DW_SUMMARY_PATH, else beside the output, else the state."""
    if summary := settings.get("DW_SUMMARY_PATH", ""):
        return Path(summary)
    if out := settings.get("DW_OUTPUT_DIR", "output"):
        return Path(out) / "last-run.json"
    if state := settings.get("DW_STATE_PATH", "output/state.sqlite3"):
        return Path(state).with_name("last-run.json")
    return None


def write_refused_start(settings: Any, problem: str, detail: str) -> None:
    """last-run.json for a run refused before its crawl began (its state unusable), so a
    monitor reading it sees this failure, not the last good run."""
    path = summary_path_for(settings)
    if path is None:
        return
    now = utc_now()
    summary = {
        "status": "failed",
        "exit_code": PROBLEM_CODES[problem],
        "problems": [problem],
        "finish_reason": problem,
        "started": now,
        "finished": now,
        "error": detail,
        "state_path": settings.get("DW_STATE_PATH") or None,
    }
    write_summary(path, summary)


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Replace last-run.json atomically (a reader never sees half a file); an error is logged."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        logger.error("cannot write run summary %s: %s", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()


class RunStateExtension:
    """One per crawl; see the module docstring. Get it with RunStateExtension.of(crawler)."""

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_error_ratio = s.getfloat("DW_MAX_ERROR_RATIO", 0.2)
        self.max_empty_ratio = s.getfloat("DW_MAX_EMPTY_RATIO", 0.2)
        # A ratio over a handful of pages is noise: one timeout in a cron run that fetched
        # three new articles is not a failing run. Exit 4/6 need this many pages besides.
        self.min_problem_pages = s.getint("DW_MIN_PROBLEM_PAGES", 3)
        self.progress_interval = s.getfloat("DW_PROGRESS_INTERVAL", 60.0)
        out = s.get("DW_OUTPUT_DIR", "output")
        self.output_dir: Path | None = Path(out) if out else None
        state_path = s.get("DW_STATE_PATH", "output/state.sqlite3")
        self.state_path: Path | None = Path(state_path) if state_path else None
        self.summary_path = summary_path_for(s)
        self.started = time.time()
        self.started_at = utc_now()
        self.lock: runlock.RunLock | None = None
        self.store: StateStore | None = None
        self.problems: list[str] = []
        self.recovered: list[dict[str, Any]] = []
        self.refetch = False
        self.exit_code: int | None = None
        self.summary: dict[str, Any] | None = None
        self.article_ids: set[str] = set()  # a- ids answered 200: the empty-ratio denominator
        self.good_articles: set[str] = set()  # a- ids whose record has a title and text
        self.item_errors: Counter[str] = Counter()
        # Failures the ledger (dwscraper.accounting) does not count as a skip of their URL:
        # added to its error skips, so every failure is counted exactly once.
        self.unledgered_item_errors = 0
        self.unledgered_exceptions = 0
        self._fsync_fds: dict[str, int] = {}
        self._output_names: dict[str, str] = {}  # output path -> its final file name
        self._unfiled: list[dict[str, Any]] = []  # records with no run file (feeds only)
        self._task: Any = None
        self._refused = False  # stopped in spider_opened (output or state unusable)
        self._summary_logged = False
        self._prev_done = 0
        self._prev_time = time.monotonic()
        self._finished = False

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunStateExtension:
        """Lock, open and reconcile the state before any pipeline opens its output file.

        Only for crawls of a discovery spider (one with `fetch_filters`, i.e. `dw`):
        `scrapy shell`/`fetch` in the project must not take the lock or rewrite last-run.json.
        """
        if not isinstance(getattr(crawler.spider, "fetch_filters", None), list):
            raise NotConfigured("not a dwscraper discovery spider")
        ext = cls(crawler)
        ext.refetch = _refetch_all(crawler.spider)  # a bad -a value fails before locking
        ext._preflight_output()
        if ext.state_path is not None:
            ext.lock = runlock.acquire(runlock.lock_path_for(ext.state_path))
            if ext.lock.took_over:
                logger.warning(
                    "took over the stale run lock of pid %d (it died without releasing it)",
                    ext.lock.took_over,
                )
            try:
                ext.store = StateStore(
                    ext.state_path,
                    batch_size=crawler.settings.getint("DW_STATE_BATCH", 200),
                    commit_interval=crawler.settings.getfloat("DW_STATE_COMMIT_INTERVAL", 5.0),
                )
                ext._rebuild_if_lost()
                ext._recover()
            except (sqlite3.Error, OSError) as exc:
                # A corrupt or unwritable state: without it the run would fetch and write
                # everything again, so it stops before fetching (exit 5, one error line).
                ext._state_failed(exc)
            except Exception:
                ext._release()
                raise
        spider_filters = getattr(crawler.spider, "fetch_filters", None)
        if ext.store is not None and isinstance(spider_filters, list):
            spider_filters.append(ext.fetch_filter)
        sig = crawler.signals
        sig.connect(ext.spider_opened, signal=signals.spider_opened)
        sig.connect(ext.spider_closed, signal=signals.spider_closed)
        sig.connect(ext.engine_stopped, signal=signals.engine_stopped)
        sig.connect(ext.response_received, signal=signals.response_received)
        sig.connect(ext.item_scraped, signal=signals.item_scraped)
        sig.connect(ext.item_seen, signal=signals.item_dropped)
        sig.connect(ext.item_error, signal=signals.item_error)
        sig.connect(ext.spider_error, signal=signals.spider_error)
        sig.connect(ext.record_written, signal=pipelines.record_written)
        return ext

    @classmethod
    def of(cls, crawler: Crawler) -> RunStateExtension | None:
        """The crawl's extension instance, or None when it is not enabled."""
        return crawler.get_extension(cls)

    def _state_failed(self, exc: BaseException) -> None:
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()
            self.store = None
        self.problems.append("state_unwritable")
        self.stats.set_value("dwscraper/state/error", str(exc)[:300])
        logger.error(
            "state %s cannot be used (%s): nothing fetched. Move it aside: the next run "
            "rebuilds the state from the run files in the output directory",
            self.state_path,
            exc,
        )

    def _preflight_output(self) -> None:
        """Find an unwritable output directory before the run fetches anything."""
        if self.output_dir is None:
            return
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            probe = self.output_dir / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            self.problems.append("output_unwritable")
            self.stats.set_value("dwscraper/output/error", str(exc))
            logger.error("output directory %s is not writable: %s", self.output_dir, exc)

    def _rebuild_if_lost(self) -> None:
        """A new state beside earlier runs' files (the old one was moved aside or lost):
        learn their ids and revisions first, so revisions go on from there."""
        if self.output_dir is None or self.store is None or not self.store.is_empty():
            return
        # Also in subfolders (README suggests monthly ones for old files).
        files = sorted(self.output_dir.rglob("dw-*.jsonl"))
        if not files:
            return
        try:
            records = self.store.rebuild_from(files)
        except (OSError, sqlite3.Error) as exc:
            # Rolled back, the state stays empty: this run stops (exit 5), the next one tries
            # again; going on would write every article again as revision 1.
            raise OSError(f"could not rebuild it from {self.output_dir}: {exc}") from exc
        self.stats.set_value("dwscraper/state/rebuilt_records", records)
        logger.warning(
            "the state was new: rebuilt it from %d run files in %s (%d records)",
            len(files),
            self.output_dir,
            records,
        )

    def _recover(self) -> None:
        """Publish what killed runs left in .part files and commit their rows."""
        if self.output_dir is None or self.store is None or "output_unwritable" in self.problems:
            return
        for part in leftover_parts(self.output_dir):
            try:
                rec = self.store.recover_part(part)
            except OSError as exc:
                logger.error("cannot recover %s: %s", part, exc)
                continue
            self.recovered.append(
                {
                    "file": str(rec.published) if rec.published else None,
                    "records": rec.lines,
                    "committed": rec.committed,
                    "partial_line_bytes_removed": rec.truncated_bytes,
                }
            )
            self.stats.inc_value("dwscraper/recovered/files")
            self.stats.inc_value("dwscraper/recovered/records", rec.lines)
            logger.warning(
                "recovered %s from an interrupted run: %d records (%d not yet in the state), "
                "%d bytes of partial line removed -> %s",
                part,
                rec.lines,
                rec.committed,
                rec.truncated_bytes,
                rec.published or "removed (empty)",
            )

    # --- the spider's fetch filter -----------------------------------------------------------
    def fetch_filter(self, cid: str, disc: Any) -> str | None:
        """Skip an id already captured unless its discovery date is newer (or refetch=all).

        Pages named with -a urls= / url_file= are always fetched: the user asked for them
        (an unchanged one is still not written again).
        """
        if self.store is None or getattr(disc, "source", "") == "urls":
            return None
        if self.store.should_fetch(cid, discovery_date(disc), refetch=self.refetch):
            return None
        return FILTER_REASON

    # --- signals ----------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        """Start the progress line; stop at once if the output or the state is unusable."""
        for problem in ("output_unwritable", "state_unwritable"):
            if problem in self.problems:
                self._refused = True
                raise CloseSpider(problem)
        if self.progress_interval > 0:
            self._task = create_looping_call(self.log_progress)
            self._task.start(self.progress_interval, now=False)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        """Count fetched content pages; 200s for articles feed the empty-ratio check (not one
        that redirected off its article: a withdrawn story lands on a section page)."""
        meta = request.meta
        if not (meta.get("dw_id") or meta.get("dw_permalink")):
            return
        self.stats.inc_value(STAT_PAGES_FETCHED)
        landed = urls.content_id(response.url) or ""
        if response.status == 200 and landed.startswith("a-"):
            self.article_ids.add(landed)

    def item_seen(self, item: Any, response: Any = None, spider: Any = None, **kw: Any) -> None:
        """Note articles whose record has a title and a text (scraped or dropped alike)."""
        a = _fields(item)
        cid = a.get("id")
        if cid and str(cid).startswith("a-"):
            text, title = a.get("text"), a.get("title")
            if isinstance(text, str) and text.strip() and isinstance(title, str) and title.strip():
                self.good_articles.add(str(cid))

    def item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        """Quality count; without a run file (DW_OUTPUT_DIR empty, -O feeds only) remember
        the record so the state learns it when the run finishes cleanly (at-least-once)."""
        self.item_seen(item)
        # Which reader made the record: fallbacks (trafilatura) are a redesign's first sign.
        extractor = _fields(item).get("extractor")
        self.stats.inc_value(STAT_EXTRACTOR + (str(extractor) if extractor else "none"))
        if self.store is None or self.stats.get_value("dwscraper/output/file"):
            return  # the writer's record_written signal commits after each flushed line
        a = ItemAdapter(item)
        if a.get("id") and a.get("revision"):
            self._unfiled.append(a.asdict())

    def _commit_unfiled(self, reason: str) -> None:
        if self.store is None or not self._unfiled:
            return
        if reason != "finished":  # a feed export may be incomplete: fetch these again
            logger.warning("%d records not remembered: the run did not finish", len(self._unfiled))
            return
        for rec in self._unfiled:
            self.record_written(rec, rec)
        self._unfiled.clear()

    def item_error(self, item: Any, response: Any = None, failure: Any = None, **kw: Any) -> None:
        """A pipeline crashed on an item: an error; an OSError means the output is broken."""
        self.item_seen(item)
        err = getattr(failure, "value", failure)
        self.item_errors[type(err).__name__] += 1
        ledger = Ledger.existing(self.crawler)
        if ledger is None or not ledger.owns(response):  # else: the ledger's skip/item_error
            self.unledgered_item_errors += 1
        if isinstance(err, OSError) and "output_unwritable" not in self.problems:
            self.problems.append("output_unwritable")

    def spider_error(self, failure: Any, response: Any = None, spider: Any = None) -> None:
        """A callback or errback raised (Scrapy's spider_exceptions/count).

        A callback exception the ledger already counted (skipped/parse_error, or its URL had
        its outcome) is not counted again; anything else (an errback that raised, no
        accounting middleware) is an error of its own.
        """
        meta = None
        if isinstance(response, Response):
            with contextlib.suppress(AttributeError):  # a Response without a request
                meta = response.meta
        if not (meta and meta.get(EXCEPTION_ACCOUNTED)):
            self.unledgered_exceptions += 1

    def record_written(
        self, item: Any, record: dict[str, Any], path: Any = None, **kw: Any
    ) -> None:
        """The writer flushed this record's line: now (and only now) the state may know it."""
        if self.store is None:
            return
        a = _fields(item)
        revision = int(record.get("revision") or 1)
        output_file = None
        if path:  # a Path (or str) from the writer; None without a run file
            output_file = self._watch_fsync(path)
        try:
            self.store.mark_written(
                record["id"],
                revision=revision,
                content_hash=record.get("content_hash"),
                fetched_at=record.get("fetched_at"),
                source_date=newest(
                    normalize_date(a.get("_discovered_date")),
                    normalize_date(a.get("_discovered_lastmod")),
                ),
                url=record.get("url"),
                output_file=output_file,
            )
        except (sqlite3.Error, OSError) as exc:
            # The line is out but the state does not know it: the next run would write it
            # again. Say so loudly (exit 5) rather than let cron believe all is well.
            logger.error("state store %s failed for %s: %s", self.state_path, record["id"], exc)
            if "state_unwritable" not in self.problems:
                self.problems.append("state_unwritable")
        self.stats.inc_value(STAT_NEW if revision == 1 else STAT_UPDATED)

    def _watch_fsync(self, path: Any) -> str:
        """fsync the output before each state commit (fsync is per file, any fd will do).

        Returns the file's final name (without .part), as the state records it; both are
        worked out once per file, not per record.
        """
        key = str(path)
        name = self._output_names.get(key)
        if name is None:
            name = self._output_names[key] = Path(key).name.removesuffix(".part")
        if key in self._fsync_fds or self.store is None:
            return name
        try:
            fd = os.open(key, os.O_RDONLY)
        except OSError:
            return name
        self._fsync_fds[key] = fd

        def hook() -> None:
            with contextlib.suppress(OSError):
                os.fsync(fd)

        self.store.add_commit_hook(hook)
        return name

    def commit(self) -> None:
        """Commit pending state rows (called before the writer publishes its file)."""
        if self.store is not None:
            self.store.commit()

    def log_progress(self) -> None:
        """One line: pages done, queued, rate, and what they became."""
        logger.info(self.progress_line())

    def progress_line(self) -> str:
        """The periodic progress message (also handy in tests)."""
        st = self.stats
        done = int(st.get_value(STAT_PAGES_FETCHED, 0))
        queued = 0
        try:
            engine = self.crawler.engine
        except (AttributeError, RuntimeError):  # not started yet
            engine = None
        if engine is not None:
            with contextlib.suppress(Exception):
                queued += len(engine.scheduler)  # type: ignore[arg-type]
            with contextlib.suppress(Exception):
                queued += len(engine.downloader.active)
        now = time.monotonic()
        elapsed = max(now - self._prev_time, 1e-6)
        rate = (done - self._prev_done) * 60.0 / elapsed
        self._prev_done, self._prev_time = done, now
        skipped = sum(self._skips().values())
        return (
            f"progress: {done} pages done, {queued} queued, {rate:.0f} pages/min; "
            f"new {st.get_value(STAT_NEW, 0)}, updated {st.get_value(STAT_UPDATED, 0)}, "
            f"unchanged {st.get_value(STAT_UNCHANGED, 0)}, skipped {skipped}, "
            f"errors {self._errors()}"
        )

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Commit, close the store, judge the run and write last-run.json."""
        if self._task is not None and self._task.running:
            self._task.stop()
        try:
            self._commit_unfiled(reason)
            if self.store is not None:
                self.store.close()
        except Exception as exc:  # the state could not be saved: the next run refetches
            logger.error("could not commit the state store %s: %s", self.state_path, exc)
            self.problems.append("state_unwritable")
        finally:
            for fd in self._fsync_fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fsync_fds.clear()
        self.finish(reason)
        if self._refused:
            # Scrapy sends no engine_stopped for a spider closed while it opened.
            self._log_summary()
            self._release()

    def engine_stopped(self) -> None:
        """The very last word of the run: the summary line; then free the lock."""
        if self.summary is None:  # the spider never opened (e.g. output failed at once)
            self.finish("failed_to_start")
        self._log_summary()
        self._release()

    def _log_summary(self) -> None:
        if not self._summary_logged:
            self._summary_logged = True
            logger.info(self.summary_line())

    def _release(self) -> None:
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()
        if self.lock is not None:
            runlock.release(self.lock)
            self.lock = None

    # --- the verdict ------------------------------------------------------------------------
    def _skips(self) -> dict[str, int]:
        st = self.stats.get_stats()
        out: dict[str, int] = {}
        for k, v in st.items():
            if k.startswith("dwscraper/skipped/"):  # the ledger's one count per URL
                out[k.rsplit("/", 1)[1]] = int(v)
        filtered = int(st.get(f"dwscraper/discovery/{FILTER_REASON}", 0))
        if filtered:
            out[FILTER_REASON] = filtered
        return dict(sorted(out.items()))

    def _over(self, count: int, ratio: float, limit: float) -> bool:
        """A ratio is a verdict only over a few cases: DW_MIN_PROBLEM_PAGES of them."""
        return count >= self.min_problem_pages and ratio > limit

    def _errors(self) -> int:
        """Failed pages: the ledger's error skips (one per URL; a callback exception is its
        skipped/parse_error, an item error its skipped/item_error) plus the failures it did
        not count. Scrapy's spider_exceptions/count is NOT added: it repeats parse_error."""
        skipped = self.stats.get_stats()
        n = sum(
            int(v)
            for k, v in skipped.items()
            if k.startswith("dwscraper/skipped/") and is_error_reason(k.rsplit("/", 1)[1])
        )
        return n + self.unledgered_exceptions + self.unledgered_item_errors

    def finish(self, reason: str) -> dict[str, Any]:
        """Decide the outcome, write last-run.json, set the exit-code stat (once)."""
        if self.summary is not None:
            return self.summary
        st = self.stats.get_stats()
        g = lambda k: int(st.get(k, 0) or 0)  # noqa: E731
        problems = list(self.problems)
        if st.get("dwscraper/output/error") and "output_unwritable" not in problems:
            problems.append("output_unwritable")
        if g("dwscraper/warc/write_error"):
            # The records are out, but their raw pages are not archived (disk full?) and the
            # state counts them as captured: say so, or nobody notices until re-extraction.
            problems.append("warc_unwritable")
        requested, read = g("dwscraper/sources/requested"), g("dwscraper/sources/read")
        if requested > 0 and read == 0:
            problems.append("no_source_read")
        # Pages and sources are judged apart: sixty sitemaps must not dilute half the pages
        # failing, nor one sitemap's timeout fail a run that found three new articles. A
        # failed source is a skip too: the page errors are the error skips minus those.
        errors = self._errors()
        source_errors = sum(
            int(v)
            for k, v in st.items()
            if k.startswith("dwscraper/sources/error/") and is_error_reason(k.rsplit("/", 1)[1])
        )
        page_errors = max(0, errors - source_errors)
        pages = max(g("dwscraper/pages/scheduled"), g(STAT_PAGES_FETCHED))
        error_ratio = page_errors / pages if pages else 0.0
        # Sources that failed (a 404/410 or robots.txt is a decision, not a failure).
        failed = min(source_errors, requested)
        if self._over(page_errors, error_ratio, self.max_error_ratio) or (
            read and self._over(failed, failed / requested, self.max_error_ratio)
        ):
            problems.append("error_ratio")  # (none read at all is no_source_read, exit 3)
        articles = len(self.article_ids)
        empty = len(self.article_ids - self.good_articles)
        empty_ratio = empty / articles if articles else 0.0
        if self._over(empty, empty_ratio, self.max_empty_ratio):
            problems.append("empty_ratio")
        if reason == "shutdown":
            problems.append("interrupted")
        if reason == "start_error":
            problems.append("start_error")
        if reason == "closespider_errorcount" and "error_ratio" not in problems:
            problems.append("error_ratio")  # CLOSESPIDER_ERRORCOUNT reached
        if reason == "output_error" and "output_unwritable" not in problems:
            problems.append("output_unwritable")
        codes = [PROBLEM_CODES[p] for p in problems if p in PROBLEM_CODES]
        order = [EXIT_OUTPUT, EXIT_NO_SOURCE, EXIT_ERRORS, EXIT_EMPTY, EXIT_INTERRUPTED, 1]
        self.exit_code = next((c for c in order if c in codes), EXIT_OK)
        out_file = st.get("dwscraper/output/file")
        finished = time.time()
        self.summary = {
            "status": "ok" if self.exit_code == EXIT_OK else "failed",
            "exit_code": self.exit_code,
            "problems": problems,
            "finish_reason": reason,
            "started": self.started_at,
            "finished": utc_now(),
            "duration_s": round(finished - self.started, 3),
            "spider": getattr(self.crawler.spider, "name", None),
            "refetch": "all" if self.refetch else None,
            "sources": {
                "requested": requested,
                "read": read,
                "failed": sum(
                    int(v) for k, v in st.items() if k.startswith("dwscraper/sources/error/")
                ),
            },
            "pages": {
                "scheduled": g("dwscraper/pages/scheduled"),
                "fetched": g(STAT_PAGES_FETCHED),
                "parsed": g("dwscraper/pages/parsed"),
            },
            "new": g(STAT_NEW),
            "updated": g(STAT_UPDATED),
            "unchanged": g(STAT_UNCHANGED),
            "skipped": self._skips(),
            "errors": errors,
            "error_ratio": round(error_ratio, 4),
            "empty_ratio": round(empty_ratio, 4),
            "records_written": g("dwscraper/output/records"),
            "fallback": g(STAT_EXTRACTOR + "fallback"),
            "extractors": {
                **dict.fromkeys(EXTRACTORS, 0),
                **{
                    k[len(STAT_EXTRACTOR) :]: int(v)
                    for k, v in sorted(st.items())
                    if k.startswith(STAT_EXTRACTOR)
                },
            },
            "output_file": str(out_file) if out_file else None,
            "warc": {
                "records": g("dwscraper/warc/records"),
                "write_errors": g("dwscraper/warc/write_error"),
            },
            "recovered": self.recovered,
            "state_path": str(self.state_path) if self.state_path else None,
        }
        self.stats.set_value(STAT_EXIT, self.exit_code)
        self._write_summary()
        self._finished = True
        return self.summary

    def _write_summary(self) -> None:
        if self.summary_path is None or self.summary is None:
            return
        write_summary(self.summary_path, self.summary)

    def summary_line(self) -> str:
        """The run's final log line."""
        s = self.summary or {}
        skipped = s.get("skipped", {})
        skipped_txt = ", ".join(f"{k}={v}" for k, v in skipped.items()) or "none"
        return (
            f"run {s.get('status')} (exit {s.get('exit_code')}"
            f"{': ' + ', '.join(s['problems']) if s.get('problems') else ''}) in "
            f"{s.get('duration_s')}s: sources read {s.get('sources', {}).get('read')}/"
            f"{s.get('sources', {}).get('requested')}, pages fetched "
            f"{s.get('pages', {}).get('fetched')}, new {s.get('new')}, updated "
            f"{s.get('updated')}, unchanged {s.get('unchanged')}, fallback {s.get('fallback')}, "
            f"errors {s.get('errors')}, "
            f"skipped: {skipped_txt}; output {s.get('output_file') or 'none'}; "
            f"summary {self.summary_path or 'not written'}"
        )


class RevisionPipeline:
    """Number revisions by content hash; drop a refetched record whose content is the same."""

    def __init__(self, crawler: Crawler, ext: RunStateExtension | None) -> None:
        self.crawler = crawler
        self.ext = ext

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RevisionPipeline:
        """Uses RunStateExtension's store; without one every record is revision 1."""
        return cls(crawler, RunStateExtension.of(crawler))

    def process_item(self, item: Any) -> Any:
        """Set `revision`, or raise DropItem('unchanged: ...') after remembering the fetch."""
        a = _fields(item)
        store = self.ext.store if self.ext is not None else None
        cid = a.get("id")
        if store is None or not cid:
            a["revision"] = a.get("revision") or 1  # no memory of earlier runs: a first capture
            return item
        _change, revision = store.plan(cid, a.get("content_hash"))
        if revision is None:
            store.mark_unchanged(
                cid,
                fetched_at=a.get("fetched_at"),
                source_date=newest(
                    normalize_date(a.get("_discovered_date")),
                    normalize_date(a.get("_discovered_lastmod")),
                ),
            )
            self.crawler.stats.inc_value(STAT_UNCHANGED)
            raise DropItem(f"unchanged: {a.get('url')}", log_level="DEBUG")
        a["revision"] = revision
        return item


class StateCommitPipeline:
    """Last pipeline: its close_spider runs first, committing before the writer renames."""

    def __init__(self, ext: RunStateExtension) -> None:
        self.ext = ext

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StateCommitPipeline:
        """Only with a state store."""
        ext = RunStateExtension.of(crawler)
        if ext is None or ext.store is None:
            raise NotConfigured("no state store")
        return cls(ext)

    # No process_item: rows are written on record_written, after the flush, and a
    # pass-through step would cost every item a turn of Scrapy's pipeline chain.

    def close_spider(self) -> None:
        """Commit every row of this run while the output is still a .part file."""
        self.ext.commit()
