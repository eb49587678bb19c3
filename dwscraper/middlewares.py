"""Middlewares that keep an unattended crawl safe, polite and fully accounted for.

- ScopeMiddleware (downloader, 40, and on request_scheduled): only DW hosts and the
  configured mirror are ever requested; anything else, including a redirect off DW, is
  dropped and counted (offsite / offsite_redirect) before Scrapy's OffsiteMiddleware would
  drop it silently, and before RobotsTxtMiddleware would fetch that host's robots.txt.
- AccountingMiddleware (downloader, 10, outermost): sees each request's final response or
  exception and closes its ledger ticket with a reason (http_<status>, not_html, empty_page,
  too_large, robots, timeout, ...). Pages that cannot be articles never reach the spider;
  pages with a missing or wrong charset are decoded by what their bytes are.
- BackoffRetryMiddleware (downloader, 550): Scrapy's RetryMiddleware plus a wait before each
  retry: Retry-After when the server sends one (capped), exponential backoff otherwise;
  truncated 2xx bodies (flag "dataloss") are retried too, then parsed as far as they go.
- MetaRefreshMiddleware (downloader, 580): Scrapy's, skipping its <meta> scan on pages
  whose head cannot hold a refresh (the bytes never spell "refresh").
- AccountingSpiderMiddleware (spider, 950): a page whose callback yields no item is counted
  (no_article), a callback that raises is counted (parse_error), a read feed is "source".

The ledger itself (dwscraper/accounting.py) is the one place that counts outcomes.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from dwscraper import charsets, urls
from dwscraper.accounting import EXCEPTION_ACCOUNTED, Ledger, kind_of

logger = logging.getLogger(__name__)

RETRY_DELAY = "dw_retry_delay"  # request.meta: seconds to wait before this retry is sent

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Magic numbers of what a misconfigured server may send in place of an article.
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",
    b"RIFF",
    b"\x1f\x8b",
    b"ID3",
    b"OggS",
    b"\x00\x00\x01\x00",
)


# --- scope ---------------------------------------------------------------------------------
def allowed_netlocs(base_url: str, rss_url: str) -> frozenset[tuple[str, int | None]]:
    """(host, port) pairs of the configured bases; port None means the scheme default."""
    out = set()
    for base in (base_url, rss_url):
        parts = urlparse_cached(Request(base)) if base else None
        if parts and parts.hostname:
            out.add((parts.hostname.lower(), parts.port))
    return frozenset(out)


def in_scope(url: str, bases: frozenset[tuple[str, int | None]]) -> bool:
    """True for http(s) URLs on a DW host or on a configured base (host and port)."""
    try:
        return _parts_in_scope(urlparse_cached(Request(url)), bases)
    except ValueError:
        return False


def request_in_scope(request: Request, bases: frozenset[tuple[str, int | None]]) -> bool:
    """in_scope(request.url): a Request's URL is already what Request() makes of a URL, so
    its cached parse (shared with Scrapy's middlewares) stands in for a new Request."""
    try:
        return _parts_in_scope(urlparse_cached(request), bases)
    except ValueError:
        return False


def _parts_in_scope(parts: Any, bases: frozenset[tuple[str, int | None]]) -> bool:
    port = parts.port  # ValueError for a port that is not a number
    if parts.scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or "@" in parts.netloc or "\\" in parts.netloc:
        return False
    if (host, port) in bases:
        return True
    return host in urls.DW_HOSTS and port in (None, 80, 443)


class ScopeMiddleware:
    """Drop every request that is not for DW; rebase www/rss.dw.com onto a mirror."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.ledger = Ledger.of(crawler)
        self.base_url = settings.get("DW_BASE_URL", urls.CANONICAL_BASE)
        self.rss_url = settings.get("DW_RSS_URL", urls.CANONICAL_RSS)
        self.bases = allowed_netlocs(self.base_url, self.rss_url)
        self.mirrored = (self.base_url.rstrip("/"), self.rss_url.rstrip("/")) != (
            urls.CANONICAL_BASE,
            urls.CANONICAL_RSS,
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeMiddleware:
        """Scrapy entry point; also checks requests as they are scheduled."""
        mw = cls(crawler)
        # Scrapy's OffsiteMiddleware drops off-site requests (redirects included) in this
        # signal, before any downloader middleware sees them; we must count them first.
        crawler.signals.connect(mw.request_scheduled, signal=signals.request_scheduled)
        return mw

    def request_scheduled(self, request: Request, spider: Any = None) -> None:
        """Refuse (and count) an off-DW request before it enters the scheduler."""
        if not request_in_scope(request, self.bases):
            self._refuse(request)

    def process_request(self, request: Request) -> Request | None:
        """None to go on; a rebased copy for a mirror; IgnoreRequest for anything off DW."""
        if request_in_scope(request, self.bases):
            if self.mirrored:
                rebased = urls.rebase(request.url, self.base_url, self.rss_url)
                if rebased != request.url:
                    return request.replace(url=rebased)
            return None
        self._refuse(request)
        return None  # not reached

    def _refuse(self, request: Request) -> None:
        reason = "offsite_redirect" if request.meta.get("redirect_urls") else "offsite"
        self.ledger.skip(request, reason, "not a DW host", logging.WARNING)
        self.crawler.stats.inc_value(f"dwscraper/scope/{reason}")
        raise IgnoreRequest(f"{reason}: {request.url}")


# --- accounting ------------------------------------------------------------------------------
def looks_binary(body: bytes) -> bool:
    """True for an image/archive/media body or anything with NUL bytes up front."""
    head = body[:1024].lstrip()
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False  # UTF-16 text has NULs by design
    return head.startswith(_BINARY_MAGIC) or b"\x00" in head


def is_html(response: Response) -> bool:
    """Declared HTML, or undeclared and not binary; an image labelled text/html is not."""
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    mime = ctype.split(";", 1)[0].strip()
    if mime and mime not in HTML_TYPES and mime not in ("application/octet-stream", "text/plain"):
        return False
    return not looks_binary(response.body)


def exception_reason(exc: BaseException) -> str:
    """The skip reason of a download that ended in exc."""
    name = type(exc).__name__
    msg = str(exc)
    if isinstance(exc, IgnoreRequest):
        response = getattr(exc, "response", None)
        if response is not None:
            return f"http_{response.status}"
        low = msg.lower()
        if "robots.txt" in low:
            return "robots"
        if "max size" in low or "maxsize" in low or "larger than" in low:
            return "too_large"
        if "redirect" in low:
            return "too_many_redirects"
        head = msg.split(":", 1)[0]
        return head if head and head.replace("_", "").isalnum() and len(head) <= 40 else "ignored"
    if "Timeout" in name or "TimedOut" in name:
        return "timeout"
    if name in ("DownloadCancelledError", "CancelledError"):
        return "too_large"  # Scrapy cancels a download only when it outgrows DOWNLOAD_MAXSIZE
    if name in ("ResponseDataLossError", "_DataLoss"):
        return "truncated"
    if name in (
        "DownloadConnectionRefusedError",
        "ConnectionRefusedError",
        "CannotResolveHostError",
        "DNSLookupError",
        "ConnectError",
        "ConnectionLost",
        "ConnectionDone",
        "DownloadFailedError",
        "ResponseFailed",
        "TunnelError",
    ):
        return "connection_error"
    if name == "UnsupportedURLSchemeError":
        return "offsite"
    return "download_error"


class AccountingMiddleware:
    """Close each URL's ticket on its final response or exception (outermost middleware)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.ledger = Ledger.of(crawler)
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AccountingMiddleware:
        """Scrapy entry point."""
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Count the failure (after retries: inner middlewares already had their turn)."""
        reason = exception_reason(exception)
        level = logging.INFO if reason in ("robots", "offsite") else logging.WARNING
        self.ledger.skip(request, reason, f"{type(exception).__name__}: {exception}"[:300], level)
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        """Count responses that cannot become a record; pass the rest on untouched."""
        if not self.ledger.is_open(request):
            return response
        status = response.status
        if not 200 <= status < 300:
            allowed = request.meta.get("handle_httpstatus_list") or ()
            if not request.meta.get("handle_httpstatus_all") and status not in allowed:
                self.ledger.skip(request, f"http_{status}", response_status_message(status))
            return response
        if "dataloss" in response.flags:
            self.crawler.stats.inc_value("dwscraper/truncated")
            logger.warning("truncated body, parsing what arrived: %s", response.url)
        limit = request.meta.get("download_maxsize", self.maxsize)  # sitemaps may be larger
        if limit and len(response.body) > limit:
            self.ledger.skip(request, "too_large", f"{len(response.body)} bytes")
            raise IgnoreRequest(f"too_large: {response.url}")
        if kind_of(request) != "page":
            return response
        if not response.body.strip():
            self.ledger.skip(request, "empty_page", f"HTTP {status} with an empty body")
            raise IgnoreRequest(f"empty_page: {response.url}")
        if not is_html(response):
            ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            self.ledger.skip(request, "not_html", f"Content-Type {ctype or 'none'!r}")
            raise IgnoreRequest(f"not_html: {response.url}")
        return self._fix_charset(response)

    def _fix_charset(self, response: Response) -> Response:
        """Decode with the page's real charset (the body itself is kept byte for byte)."""
        real = real_encoding(response)
        if real is None:
            return response
        self.crawler.stats.inc_value("dwscraper/charset_fixed")
        logger.debug("decoding %s as %s, not %s", response.url, real, response.encoding)
        return response.replace(encoding=real)


# --- charset ---------------------------------------------------------------------------------
def real_encoding(response: Response) -> str | None:
    """The encoding a text response must be decoded with when Scrapy's choice is wrong.

    None when Scrapy's own choice stands (or the response is not text). The crawl applies it
    in AccountingMiddleware; reextract applies it to archived pages, so both see one text.
    """
    if not isinstance(response, TextResponse) or response.body.isascii():
        return None
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", ctype, re.I)
    real = charsets.choose(response.body, m.group(1) if m else None)
    return None if charsets.codec(response.encoding) == charsets.codec(real) else real


# --- retries ---------------------------------------------------------------------------------
def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP-date); None if unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(min(int(text), 10**7))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    base: float,
    cap: float,
    after_cap: float,
) -> float:
    """Wait before retry number attempt (1-based): Retry-After if given, else base*2^(n-1)."""
    if retry_after is not None:
        return max(0.0, min(retry_after, after_cap))
    if base <= 0:
        return 0.0
    return min(base * (2 ** max(0, attempt - 1)), cap)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, plus a wait before each retry and retries of truncated bodies.

    Settings: DW_RETRY_BACKOFF_BASE (seconds, default 1; 0 disables the exponential wait),
    DW_RETRY_BACKOFF_MAX (cap of that wait, default 60), DW_RETRY_AFTER_MAX (cap on a
    server's Retry-After, default 120: a server asking for an hour does not stall cron).
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("DW_RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("DW_RETRY_BACKOFF_MAX", 60.0)
        self.after_cap = settings.getfloat("DW_RETRY_AFTER_MAX", 120.0)

    async def process_request(self, request: Request) -> None:
        """Wait the delay the previous attempt asked for, without blocking other requests."""
        delay = request.meta.pop(RETRY_DELAY, 0) or 0
        if delay > 0:
            await sleep(delay)

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        """Retry 5xx/429 (and truncated 2xx) after a delay; give up with the last response."""
        if request.meta.get("dont_retry", False):
            return response
        if response.status in self.retry_http_codes:
            reason = response_status_message(response.status)
        elif 200 <= response.status < 300 and "dataloss" in response.flags:
            reason = "dataloss"
        else:
            return response
        new = self._retry(request, reason)
        if new is None:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None:
            self.crawler.stats.inc_value("dwscraper/retry/retry_after")
        new.meta[RETRY_DELAY] = self._delay(new, wait)
        return new

    def process_exception(self, request: Request, exception: Exception) -> Request | None:  # type: ignore[override]
        """Retry network errors and timeouts after a backoff delay."""
        new = super().process_exception(request, exception)
        if isinstance(new, Request):
            new.meta[RETRY_DELAY] = self._delay(new, None)
            return new
        return None

    def _delay(self, request: Request, retry_after: float | None) -> float:
        attempt = int(request.meta.get("retry_times", 1))
        delay = backoff_delay(attempt, retry_after, self.base, self.cap, self.after_cap)
        if delay:
            logger.debug("retry %d of %s in %.1fs", attempt, request.url, delay)
        return delay


# --- meta refresh ----------------------------------------------------------------------------
def may_refresh(response: TextResponse) -> bool:
    """False when the first 4096 characters of a UTF-8 page cannot spell "refresh".

    Each character is at most 4 bytes, so those characters lie in the first 16384 bytes,
    and an ASCII letter is its own byte: a bytes test, without lowercasing 4096 decoded
    characters (~40 us when any is non-ASCII). True (ask Scrapy) for other encodings.
    """
    try:
        utf8 = codecs.lookup(response.encoding).name == "utf-8"
    except LookupError:
        return True
    return not utf8 or b"refresh" in response.body[:16384].lower()


class MetaRefreshMiddleware(ScrapyMetaRefresh):
    """Scrapy's MetaRefreshMiddleware (same settings), asking first whether there can be one.

    Scrapy looks for <meta http-equiv="refresh"> in a page's first 4096 characters by
    working out the page's <base> URL and scanning every <meta> tag there, on every page.
    w3lib only considers a tag whose attribute text contains "refresh" (any case), so a
    page that never spells it there has none; any page that may goes through Scrapy's own
    code unchanged.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        """The response as is when it cannot hold a meta refresh, else Scrapy's verdict."""
        if (
            isinstance(response, HtmlResponse)
            and not request.meta.get("dont_redirect", False)
            and request.method != "HEAD"
            and not may_refresh(response)
        ):
            return response
        return super().process_response(request, response)


# --- spider side -------------------------------------------------------------------------------
class AccountingSpiderMiddleware:
    """Close tickets the callbacks leave open: no item from a page, an exception, a read feed."""

    def __init__(self, crawler: Crawler) -> None:
        self.ledger = Ledger.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AccountingSpiderMiddleware:
        """Scrapy entry point."""
        return cls(crawler)

    def _seen(self, response: Response, item: Any) -> None:
        if not isinstance(item, Request):
            self.ledger.itemized(response)

    def _done(self, response: Response) -> None:
        if not self.ledger.is_open(response) or self.ledger.was_itemized(response):
            return
        if kind_of(response.request or Request(response.url)) == "page":
            self.ledger.skip(response, "no_article", "the page gave no record")
        else:
            self.ledger.close(response, "source")

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """Pass output through; close the ticket once the callback is exhausted."""
        async for x in result:
            self._seen(response, x)
            yield x
        self._done(response)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        """A callback that raised: count parse_error (Scrapy still logs the traceback).

        Scrapy also counts it in spider_exceptions/count; the flag tells the run summary
        (dwscraper.extensions) that the ledger has it, so it is one error, not two.
        """
        self.ledger.skip(
            response, "parse_error", f"{type(exception).__name__}: {exception}"[:300], logging.ERROR
        )
        if self.ledger.owns(response):  # counted now, or the URL already had its one outcome
            response.meta[EXCEPTION_ACCOUNTED] = True
        return None
