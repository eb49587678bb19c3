"""The ledger: every URL the crawl decided to fetch ends in exactly one counted outcome.

An unattended crawl must never lose a URL silently. Each request the spider schedules gets a
ticket (``request.meta["dw_ticket"]``, copied onto retries and redirects by Scrapy itself) and
the ledger closes that ticket once, whoever reports first:

- ``dwscraper/outcome/record``     the page became a record that passed every pipeline;
- ``dwscraper/outcome/unchanged``  the page was fetched but its record did not change;
- ``dwscraper/outcome/source``     a sitemap or feed was read (its URLs got tickets of their own);
- ``dwscraper/skipped/<reason>``   anything else, logged with its URL.

``dwscraper/scheduled`` counts the tickets; at close the ledger checks that the outcomes add up
and counts any ticket still open as ``skipped/unaccounted`` (or ``skipped/interrupted`` when the
run was stopped early), so the sum always holds and a leak shows up as a stat, not a silence.

Closing a ticket twice is a no-op: a middleware, the spider and a pipeline may all report the
same URL and it is still counted once. No other module increments these stats.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import Counter
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from dwscraper import urls

logger = logging.getLogger("dwscraper.accounting")

TICKET = "dw_ticket"  # request.meta key
# request.meta key: this callback exception was counted here (a skip, or the URL's earlier
# outcome), so the run summary must not count it again from Scrapy's spider_exceptions/count.
EXCEPTION_ACCOUNTED = "dw_exception_accounted"
KIND = "dw_kind"  # request.meta key: "page" or "source"; default from the URL
SCHEDULED = "dwscraper/scheduled"
OUTCOME = "dwscraper/outcome/"
SKIPPED = "dwscraper/skipped/"
OUTCOMES = ("record", "unchanged", "source")
MAX_REMEMBERED = 200_000  # open tickets whose URL is kept for the close-time log

_SLUG_RE = re.compile(r"[^a-z0-9_]+")


def slug(reason: str) -> str:
    """A stat-safe reason ('HTTP 404' -> 'http_404'), never empty."""
    s = _SLUG_RE.sub("_", str(reason).strip().lower()).strip("_")
    return s[:40] or "unknown"


def drop_reason(message: str) -> str:
    """The reason in a DropItem message: 'dropped no_text: URL' -> 'no_text'.

    Pipelines word their DropItem as '[dropped ]<reason>: <details>'; anything else is
    counted as 'dropped'. 'unchanged' is an outcome, not a skip.
    """
    head = message.split(":", 1)[0].strip()
    if head.lower().startswith("dropped "):
        head = head[len("dropped ") :]
    if not head or len(head) > 40 or " " in head.strip():
        return "dropped"
    return slug(head)


def kind_of(request: Request) -> str:
    """'page' for DW content URLs (a-, av-, ...), 'source' for sitemaps and feeds."""
    kind = request.meta.get(KIND)
    if kind in ("page", "source"):
        return kind
    return "page" if urls.is_content_url(request.url) else "source"


def _meta(obj: Request | Response | dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    try:
        return obj.meta
    except AttributeError:  # a Response without a request
        return None


class Ledger:
    """Per-crawl ticket book; get it with Ledger.of(crawler)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self._next = 0
        # Tickets are "<run>:<n>": a request resumed from an earlier run's JOBDIR carries
        # that run's ticket and must be opened afresh, not mistaken for one of ours.
        self._run = secrets.token_hex(4)
        self._open: dict[str, str] = {}  # ticket -> first URL (for the log)
        self._itemized: set[str] = set()  # tickets whose page produced an item
        self.outcomes: Counter[str] = Counter()

    @classmethod
    def existing(cls, crawler: Crawler) -> Ledger | None:
        """The crawl's ledger if the accounting middlewares made one (never creates it)."""
        ledger = getattr(crawler, "_dw_ledger", None)
        return ledger if isinstance(ledger, cls) else None

    @classmethod
    def of(cls, crawler: Crawler) -> Ledger:
        """The crawl's one ledger, created (and wired to signals) on first use."""
        ledger = getattr(crawler, "_dw_ledger", None)
        if ledger is None:
            ledger = cls(crawler)
            crawler._dw_ledger = ledger  # type: ignore[attr-defined]
            sig = crawler.signals
            sig.connect(ledger._on_scheduled, signal=signals.request_scheduled)
            sig.connect(ledger._on_dropped, signal=signals.request_dropped)
            sig.connect(ledger._on_item_scraped, signal=signals.item_scraped)
            sig.connect(ledger._on_item_dropped, signal=signals.item_dropped)
            sig.connect(ledger._on_item_error, signal=signals.item_error)
            sig.connect(ledger._on_closed, signal=signals.spider_closed)
        return ledger

    # --- opening ---------------------------------------------------------------------------
    def open(self, request: Request) -> str | None:
        """Give a request its ticket (once: retries and redirects keep the first one)."""
        meta = request.meta
        old = meta.get(TICKET)
        if isinstance(old, str) and old.startswith(self._run + ":"):
            return old
        if meta.get("dont_obey_robotstxt") and request.url.endswith("/robots.txt"):
            return None  # RobotsTxtMiddleware's own fetch, not a URL the crawl chose
        self._next += 1
        ticket = f"{self._run}:{self._next}"
        meta[TICKET] = ticket
        meta.setdefault(KIND, kind_of(request))
        # Bound memory on huge backfills: past MAX_REMEMBERED open URLs only count them.
        self._open[ticket] = request.url if len(self._open) < MAX_REMEMBERED else ""
        self.stats.inc_value(SCHEDULED)
        return ticket

    # --- closing ---------------------------------------------------------------------------
    def owns(self, obj: Request | Response | dict[str, Any] | None) -> bool:
        """True when obj's URL has a ticket of this run, open or closed: its one outcome is
        (or will be) counted here, so nobody else should count a failure of it again."""
        meta = _meta(obj)
        ticket = meta.get(TICKET) if meta else None
        return isinstance(ticket, str) and ticket.startswith(self._run + ":")

    def is_open(self, obj: Request | Response | dict[str, Any] | None) -> bool:
        """True while the URL behind obj still waits for its outcome."""
        meta = _meta(obj)
        return bool(meta) and meta.get(TICKET) in self._open

    def close(
        self,
        obj: Request | Response | dict[str, Any] | None,
        outcome: str,
        detail: str = "",
    ) -> bool:
        """Record the outcome (record/unchanged/source) of obj's URL; False if already closed."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; use skip() for skips")
        return self._close(obj, OUTCOME + outcome, outcome, detail, logging.DEBUG)

    def skip(
        self,
        obj: Request | Response | dict[str, Any] | None,
        reason: str,
        detail: str = "",
        level: int = logging.INFO,
    ) -> bool:
        """Count obj's URL as skipped for reason (logged once); False if already closed."""
        r = slug(reason)
        return self._close(obj, SKIPPED + r, r, detail, level)

    def _close(
        self,
        obj: Request | Response | dict[str, Any] | None,
        key: str,
        label: str,
        detail: str,
        level: int,
    ) -> bool:
        meta = _meta(obj)
        ticket = meta.get(TICKET) if meta else None
        if ticket not in self._open:
            return False
        first_url = self._open.pop(ticket)
        self._itemized.discard(ticket)
        self.stats.inc_value(key)
        self.outcomes[key] += 1
        url = getattr(obj, "url", None) or first_url or "(URL not kept)"
        if key.startswith(SKIPPED):
            via = f" (from {first_url})" if url != first_url else ""
            logger.log(
                level, "skipped %s: %s%s%s", label, url, via, f" [{detail}]" if detail else ""
            )
        return True

    # --- items -----------------------------------------------------------------------------
    def itemized(self, response: Response) -> None:
        """Note that response's page produced an item: its outcome now comes from the pipelines."""
        meta = _meta(response)
        if meta and meta.get(TICKET) in self._open:
            self._itemized.add(meta[TICKET])

    def was_itemized(self, response: Response) -> bool:
        """True once response's page has produced an item."""
        meta = _meta(response)
        return bool(meta) and meta.get(TICKET) in self._itemized

    # --- signal handlers -------------------------------------------------------------------
    def _on_scheduled(self, request: Request, spider: Any = None) -> None:
        self.open(request)

    def _on_dropped(self, request: Request, spider: Any = None) -> None:
        self.skip(request, "duplicate", "dropped by the scheduler", logging.DEBUG)

    def _on_item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        if isinstance(response, Response):
            self.close(response, "record")

    def _on_item_dropped(
        self, item: Any, response: Any = None, exception: Any = None, spider: Any = None
    ) -> None:
        if not isinstance(response, Response):
            return
        message = str(exception or "")
        reason = drop_reason(message)
        if reason == "unchanged":
            self.close(response, "unchanged")
        else:
            self.skip(response, reason, message)

    def _on_item_error(
        self, item: Any, response: Any = None, failure: Any = None, spider: Any = None
    ) -> None:
        if isinstance(response, Response):
            err = getattr(failure, "value", failure)
            self.skip(response, "item_error", repr(err), logging.ERROR)

    def _on_closed(self, spider: Any = None, reason: str = "finished") -> None:
        left = dict(self._open)
        label = "unaccounted" if reason == "finished" else "interrupted"
        level = logging.ERROR if label == "unaccounted" else logging.WARNING
        for ticket in left:
            self.skip({TICKET: ticket}, label, f"no outcome when the run closed ({reason})", level)
        scheduled = self.stats.get_value(SCHEDULED, 0)
        total = sum(self.outcomes.values())
        parts = ", ".join(f"{k.split('/', 1)[1]}={v}" for k, v in sorted(self.outcomes.items()))
        logger.info("accounting: %d URLs scheduled = %d outcomes (%s)", scheduled, total, parts)
        if total != scheduled:  # pragma: no cover - the reconciliation above makes this hold
            logger.error("accounting mismatch: scheduled=%d outcomes=%d", scheduled, total)


def totals(stats: dict[str, Any]) -> tuple[int, int]:
    """(scheduled, sum of outcomes and skips) from a stats dict: equal after every run."""
    scheduled = int(stats.get(SCHEDULED, 0))
    done = sum(int(v) for k, v in stats.items() if k.startswith((OUTCOME, SKIPPED)))
    return scheduled, done


def skips(stats: dict[str, Any]) -> dict[str, int]:
    """{reason: count} of the skips in a stats dict."""
    return {k[len(SKIPPED) :]: int(v) for k, v in stats.items() if k.startswith(SKIPPED)}
