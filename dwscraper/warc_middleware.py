"""Scrapy side of WARC capture: archive every fetch, tag every record with where it is.

- WarcCaptureMiddleware (downloader middleware, outermost: sees the final request headers
  and the raw response before decompression/redirects) writes a response + request record
  per fetch (pages, sitemaps, feeds, robots.txt, redirects and errors alike) and leaves the
  file name, record id and WARC-Date in request.meta (warc_file / warc_record_id / warc_date).
- WarcItemMiddleware (spider middleware) copies those onto each record the spider produces
  from that response and sets its fetch time to the WARC-Date (one clock for both). It
  archives, in one JSON metadata record per record referring to the response, the record's
  private discovery keys ("_...") and what the pipelines did with it (written with its
  revision, or dropped and why), so `python -m dwscraper.reextract` rebuilds the run's
  records offline.

Discovery fetches (robots.txt, sitemaps, feeds) are held, gzipped, in memory until the first
content page arrives and are then written before it; a run that fetches no content page (a
cron run that found nothing new) discards them and leaves no WARC file at all. Once the held
bytes pass DW_WARC_HOLD_BYTES they are written at once (an archive backfill's big sitemaps).

Settings: DW_WARC_DIR (default <DW_OUTPUT_DIR>/warc, i.e. output/warc; empty disables),
DW_WARC_MAX_BYTES (roll-over size, default 1 GB), DW_WARC_HOLD_BYTES (default 8 MiB).
Stats: dwscraper/warc/{responses,records,bytes,files,write_error,discarded_source_records}.
"""

from __future__ import annotations

import logging
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from itemadapter import ItemAdapter, is_item
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from dwscraper import urls
from dwscraper.warc import DEFAULT_MAX_BYTES, Prepared, RotatingWarcWriter, Written

logger = logging.getLogger(__name__)


def _fields(item: Any) -> Any:
    """The item's fields as a mapping: a dict item itself, else its ItemAdapter (~2 us)."""
    return item if type(item) is dict else ItemAdapter(item)


STAT = "dwscraper/warc"
META_FILE = "warc_file"
META_ID = "warc_record_id"
META_DATE = "warc_date"
DEFAULT_HOLD_BYTES = 8 * 1024 * 1024  # held discovery records (gzipped) before writing them

# One writer per crawl, shared by the downloader and the spider middleware.
_writers: weakref.WeakKeyDictionary[Crawler, RotatingWarcWriter | None] = (
    weakref.WeakKeyDictionary()
)


def _headers(headers: Any) -> list[tuple[str, str]]:
    """Scrapy Headers (bytes -> [bytes]) as (name, value) str pairs, repeats kept."""
    out: list[tuple[str, str]] = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for v in values:
            out.append((key, v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return out


def writer_for(crawler: Crawler) -> RotatingWarcWriter | None:
    """The crawl's WARC writer (created on first use), or None when DW_WARC_DIR is empty."""
    if crawler in _writers:
        return _writers[crawler]
    s = crawler.settings
    directory = s.get("DW_WARC_DIR")
    if directory is None:  # default: next to the JSON Lines, i.e. output/warc
        directory = str(Path(s.get("DW_OUTPUT_DIR") or "output") / "warc")
    directory = str(directory).strip()
    writer = None
    if directory:
        max_bytes = s.getint("DW_WARC_MAX_BYTES", DEFAULT_MAX_BYTES)
        start = crawler.stats.get_value("start_time") if crawler.stats else None
        if not isinstance(start, datetime):
            start = datetime.now(UTC)
        info = {
            "operator": s.get("DW_CONTACT_URL"),
            "http-header-user-agent": s.get("USER_AGENT"),
            "robots": "obey" if s.getbool("ROBOTSTXT_OBEY") else "ignore",
            "description": "dwscraper crawl of Deutsche Welle (dw.com)",
        }
        writer = RotatingWarcWriter(
            directory, start, max_bytes=max_bytes, info=info, stem_hint=_jsonl_stem(crawler)
        )
        crawler.signals.connect(_closer(writer), signal=signals.spider_closed, weak=False)
    _writers[crawler] = writer
    return writer


def _jsonl_stem(crawler: Crawler) -> Any:
    """The run's JSON Lines file stem (dw-<start>), once its writer pipeline has opened it."""

    def hint() -> str | None:
        out = crawler.stats.get_value("dwscraper/output/file") if crawler.stats else None
        return Path(str(out)).name.removesuffix(".jsonl") if out else None

    return hint


_RSS_PATHS = ("/xml/", "/rdf/", "/atom/")  # where rss.dw.com keeps its feeds


def target_uri(url: str, base_url: str, rss_url: str) -> str:
    """The canonical www.dw.com / rss.dw.com URL of a fetched one (WARC-Target-URI).

    When one mirror stands in for both hosts (tests), feed paths map back to rss.dw.com.
    """
    base, rss = base_url.rstrip("/"), rss_url.rstrip("/")
    if base == rss and url.startswith(rss + "/") and url[len(rss) :].startswith(_RSS_PATHS):
        return urls.CANONICAL_RSS + url[len(rss) :]
    return urls.unrebase(url, base_url, rss_url)


def _closer(writer: RotatingWarcWriter) -> Any:
    def close(spider: Any = None) -> None:
        writer.close()
        if writer.files:
            logger.info("WARC: %d records in %s", writer.records, ", ".join(map(str, writer.files)))

    return close


def is_discovery(request: Request) -> bool:
    """robots.txt or a spider's sitemap/feed request (dw_source without dw_id in its meta).

    Everything else (content pages, their redirects and errors, anything unknown) counts as
    content: it is written at once and releases the held discovery records.
    """
    if urlsplit(request.url).path.endswith("/robots.txt"):
        return True
    return "dw_source" in request.meta and "dw_id" not in request.meta


class WarcCaptureMiddleware:
    """Downloader middleware writing each fetched response (and its request) to the WARC."""

    def __init__(self, crawler: Crawler, writer: RotatingWarcWriter) -> None:
        self.crawler = crawler
        self.writer = writer
        s = crawler.settings
        self.base_url = s.get("DW_BASE_URL", urls.CANONICAL_BASE)
        self.rss_url = s.get("DW_RSS_URL", urls.CANONICAL_RSS)
        self.hold_bytes = max(0, s.getint("DW_WARC_HOLD_BYTES", DEFAULT_HOLD_BYTES))
        # Discovery exchanges waiting for the first content page (None once released).
        self.held: list[Prepared] | None = []
        self.held_size = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        """Disabled (NotConfigured) when DW_WARC_DIR is empty."""
        writer = writer_for(crawler)
        if writer is None:
            raise NotConfigured("DW_WARC_DIR is empty: WARC capture off")
        return cls(crawler, writer)

    def _inc(self, key: str, n: int = 1) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(f"{STAT}/{key}", n)

    def process_response(self, request: Request, response: Response) -> Response:
        """Archive the response as received (before decompression), tag request.meta.

        Synchronous on purpose: responses reach the spider in the order they arrived, as
        without WARC capture (a worker thread would reorder them). Costs about 2 ms per
        fixture page and 5-9 ms per real DW page (gzip level 6 + digests) of reactor time.
        """
        try:
            prepared = self.writer.build_exchange(**self._exchange(request, response))
        except Exception as exc:  # never lose the response over its archive copy
            return self._failed(request, response, exc)
        if self.held is not None:
            if is_discovery(request):
                return self._hold(request, response, prepared)
            self.release()
        return self._append(request, response, prepared)

    def _hold(self, request: Request, response: Response, prepared: Prepared) -> Response:
        """Keep a discovery exchange until a content page arrives (no file until then).

        Its request.meta gets no WARC tags: no record is made from a sitemap or feed.
        """
        assert self.held is not None
        self.held.append(prepared)
        self.held_size += len(prepared.data)
        for key in (META_FILE, META_ID, META_DATE):
            request.meta.pop(key, None)
        if self.held_size > self.hold_bytes:
            self.release()  # bounded memory: a backfill's sitemaps go to the file now
        return response

    def release(self) -> None:
        """Write the held discovery exchanges (in arrival order); later ones go straight in."""
        held, self.held, self.held_size = self.held or [], None, 0
        for prepared in held:
            try:
                self._write_counted(prepared)
            except OSError as exc:
                self._inc("write_error")
                logger.error("WARC write failed for a held sitemap/feed record: %s", exc)

    def spider_closed(self, spider: Any = None) -> None:
        """No content page was captured: drop the held records, leaving no WARC file."""
        held, self.held, self.held_size = self.held or [], None, 0
        if held:
            n = sum(p.records for p in held)
            self._inc("discarded_source_records", n)
            logger.info("WARC: no content page fetched; %d robots/sitemap/feed records not kept", n)

    def _exchange(self, request: Request, response: Response) -> dict[str, Any]:
        return {
            "target_uri": target_uri(response.url, self.base_url, self.rss_url),
            "fetched_uri": response.url,
            "when": datetime.now(UTC),
            "method": request.method,
            "request_headers": _headers(request.headers),
            "request_body": request.body or b"",
            "status": response.status,
            "response_headers": _headers(response.headers),
            "body": response.body,
            "protocol": (response.protocol or "HTTP/1.1").upper(),
            "ip_address": str(response.ip_address) if response.ip_address else None,
            "truncated": "length" if "dataloss" in response.flags else None,
        }

    def _failed(self, request: Request, response: Response, exc: BaseException) -> Response:
        """Disk full etc.: the crawl goes on without this copy; the gap is counted."""
        self._inc("write_error")
        logger.error("WARC write failed for %s: %s", response.url, exc)
        for key in (META_FILE, META_ID, META_DATE):
            request.meta.pop(key, None)
        return response

    def _write_counted(self, prepared: Prepared) -> Written:
        files_before = len(self.writer.files)
        bytes_before = self.writer.bytes_written
        written = self.writer.write_prepared(prepared)
        self._inc("responses")
        self._inc("records", prepared.records)
        if len(self.writer.files) > files_before:
            self._inc("files", len(self.writer.files) - files_before)
        self._inc("bytes", self.writer.bytes_written - bytes_before)
        return written

    def _append(self, request: Request, response: Response, prepared: Prepared) -> Response:
        try:
            written = self._write_counted(prepared)
        except OSError as exc:
            return self._failed(request, response, exc)
        request.meta[META_FILE] = written.warc_file
        request.meta[META_ID] = written.record_id
        request.meta[META_DATE] = written.warc_date
        return response


class WarcItemMiddleware(BaseSpiderMiddleware):
    """Spider middleware: records name their WARC response; hints and outcome archived.

    Writes one small JSON metadata record per record, referring to the response, once the
    pipelines are done with it (item_scraped / item_dropped / item_error):
    {"kind": "record", "hints": {private "_" keys as the spider yielded them},
    "outcome": "written"|"dropped"|"error", ...}, revision included. Hints of a record that
    never got an outcome (the run stopped first) are written alone ({"kind": "hints"}) when
    the spider closes. One record, not two: each costs a gzip member, digests and a write.
    """

    def __init__(self, crawler: Crawler, writer: RotatingWarcWriter) -> None:
        super().__init__(crawler)
        self.writer = writer
        s = crawler.settings
        self.base_url = s.get("DW_BASE_URL", urls.CANONICAL_BASE)
        self.rss_url = s.get("DW_RSS_URL", urls.CANONICAL_RSS)
        # response record id -> [(target URI, WARC file, hints)] of records awaiting their
        # outcome (a few at a time: the pipelines are synchronous).
        self._pending: dict[str, list[tuple[str, str | None, dict[str, Any]]]] = {}
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.item_error, signal=signals.item_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcItemMiddleware:
        """Disabled (NotConfigured) when DW_WARC_DIR is empty."""
        writer = writer_for(crawler)
        if writer is None:
            raise NotConfigured("DW_WARC_DIR is empty: WARC capture off")
        return cls(crawler, writer)

    def _write(
        self, target: str, record_id: str, warc_file: str | None, data: dict[str, Any]
    ) -> None:
        before = self.writer.bytes_written
        try:
            self.writer.write_metadata(
                target_uri=target,
                refers_to=record_id,
                when=datetime.now(UTC),
                data=data,
                warc_file=warc_file,
            )
        except OSError as exc:
            if self.crawler.stats:
                self.crawler.stats.inc_value(f"{STAT}/write_error")
            logger.error("WARC metadata write failed for %s: %s", target, exc)
            return
        if self.crawler.stats:
            self.crawler.stats.inc_value(f"{STAT}/records")
            self.crawler.stats.inc_value(f"{STAT}/bytes", self.writer.bytes_written - before)

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        """Set warc_file / warc_record_id / fetch time; keep the private hints for later."""
        if response is None or not is_item(item):
            return item
        record_id = response.meta.get(META_ID)
        if not record_id:
            return item
        adapter = _fields(item)
        warc_file = response.meta.get(META_FILE)
        adapter["warc_file"] = warc_file
        adapter["warc_record_id"] = record_id
        date = response.meta.get(META_DATE)
        if date:
            # fetched_at is the WARC-Date: the same instant, so re-extraction reproduces it.
            adapter["_fetched_at"] = date
        hints = {k: v for k, v in adapter.items() if isinstance(k, str) and k.startswith("_")}
        target = target_uri(response.url, self.base_url, self.rss_url)
        self._pending.setdefault(record_id, []).append((target, warc_file, hints))
        return item

    def spider_closed(self, spider: Any = None) -> None:
        """Archive the hints of records the run stopped before the pipelines finished."""
        pending, self._pending = self._pending, {}
        for record_id, waiting in pending.items():
            for target, warc_file, hints in waiting:
                self._write(target, record_id, warc_file, {"kind": "hints", "hints": hints})

    # -- outcomes (signal handlers) --------------------------------------------------------
    def _outcome(self, item: Any, response: Response | None, data: dict[str, Any]) -> None:
        if response is None or not is_item(item):
            return
        record_id = response.meta.get(META_ID)
        if not record_id or _fields(item).get("warc_record_id") != record_id:
            return  # not a record this middleware tagged
        waiting = self._pending.get(record_id)
        if waiting:
            target, warc_file, hints = waiting.pop(0)
            if not waiting:
                del self._pending[record_id]
            self._write(target, record_id, warc_file, {"kind": "record", "hints": hints, **data})
        else:  # tagged, but its hints already went out (or were never kept)
            target = target_uri(response.url, self.base_url, self.rss_url)
            self._write(
                target, record_id, response.meta.get(META_FILE), {"kind": "outcome", **data}
            )

    def item_scraped(self, item: Any, response: Response | None = None, **kw: Any) -> None:
        """The record reached the output: note it, with its revision."""
        self._outcome(
            item, response, {"outcome": "written", "revision": _fields(item).get("revision")}
        )

    def item_dropped(
        self, item: Any, exception: BaseException, response: Response | None = None, **kw: Any
    ) -> None:
        """A pipeline dropped the record (invalid, duplicate, unchanged): note why."""
        self._outcome(item, response, {"outcome": "dropped", "reason": str(exception)[:300]})

    def item_error(
        self, item: Any, failure: Any, response: Response | None = None, **kw: Any
    ) -> None:
        """A pipeline failed on the record."""
        reason = str(getattr(failure, "value", failure))[:300]
        self._outcome(item, response, {"outcome": "error", "reason": reason})
