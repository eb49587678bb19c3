"""The `dw` spider: discovery and fetching only (a crawl policy, no parsing rules).

Sources per edition: the Google News sitemap, the RSS feed (where DW has one) and, with
`-a mode=archive`, the article sitemap (following sitemap indexes). Every URL met is fetched
from DW_BASE_URL / DW_RSS_URL (so tests crawl a local mirror) and each content id is fetched
at most once per run. Pages go through dwscraper.pages.record_from_page (the page checks and
parse_article); everything that does not become a record is counted in stats under
dwscraper/skipped/<reason> with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from dwscraper import pages, sources, urls
from dwscraper import settings as project_settings
from dwscraper.accounting import Ledger
from dwscraper.normalize import utc_now
from dwscraper.state import newest
from dwscraper.urls import EDITIONS

logger = logging.getLogger(__name__)

STAT = "dwscraper"


@dataclass(slots=True)
class Discovery:
    """What the discovery sources said about one content id (merged over sources)."""

    url: str  # canonical https://www.dw.com URL to fetch (a sitemap's slug over a feed's)
    date: str | None = None  # publication time (news sitemap / feed), else lastmod
    lastmod: str | None = None
    published: str | None = None  # from publication dates only: what may time a bare day
    source: str = ""
    url_from_feed: bool = False

    def merge(self, entry: sources.Entry, source: str, url: str | None = None) -> None:
        """Keep the newest date (the more precise one within a day), the newest lastmod, and a
        sitemap's URL for this id, whatever order the sources answered in.

        Feeds may link an older slug (DW redirects it); sitemaps list the current one.
        """
        self.date = newest(self.date, entry.date)
        self.published = newest(self.published, entry.published)
        if entry.lastmod and (not self.lastmod or entry.lastmod > self.lastmod):
            self.lastmod = entry.lastmod
        from_feed = source.startswith("rss")
        if not self.source:
            self.source = source
            self.url_from_feed = from_feed
        elif url and self.url_from_feed and not from_feed:
            self.url, self.url_from_feed = url, False


# A fetch filter decides, before a page is requested, whether to skip it.
# It returns None to fetch, or a short reason ("unchanged") that is counted in
# dwscraper/discovery/<reason>. The state store (issue 3) plugs in here.
FetchFilter = Callable[[str, Discovery], "str | None"]


def _host(url: str) -> str:
    """Lower-case host of url; "" when there is none or the URL cannot be parsed."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _split_arg(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()]


class DwSpider(scrapy.Spider):
    """Crawl DW editions' sitemaps and feeds (or an explicit URL list) into records."""

    name = "dw"

    def __init__(
        self,
        lang: str | None = None,
        mode: str = "latest",
        since: str | None = None,
        until: str | None = None,
        urls: str | None = None,
        url_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        langs = [x.lower() for x in _split_arg(lang)]
        if not langs or langs == ["all"]:
            langs = list(EDITIONS)
        unknown = [x for x in langs if x not in EDITIONS]
        if unknown:
            raise ValueError(
                f"unknown edition(s) {','.join(unknown)}; known: {','.join(EDITIONS)} or all"
            )
        if mode not in ("latest", "archive"):
            raise ValueError(f"mode must be latest or archive, got {mode!r}")
        self.langs: list[str] = langs
        self.mode = mode
        self.since = sources.parse_day(since)
        self.until = sources.parse_day(until)
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since {self.since} is after until {self.until}")
        self.explicit_urls: list[str] = _split_arg(urls)
        if url_file:
            try:
                text = Path(url_file).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"cannot read url_file {url_file}: {exc}") from exc
            lines = (ln.strip() for ln in text.splitlines())
            self.explicit_urls += [ln for ln in lines if ln and not ln.startswith("#")]
        self.discovered: dict[str, Discovery] = {}
        self.fetch_filters: list[FetchFilter] = []
        self.filtered: dict[str, str] = {}  # content id -> reason a fetch filter gave
        self.base_url = "https://www.dw.com"
        self.rss_url = "https://rss.dw.com"
        self.permalink_url = "https://p.dw.com"
        self.max_depth = 3
        self.max_source_size = sources.MAX_SIZE
        # Sitemap indexes may list themselves or fan out: each source once, and a cap.
        self.max_sources = 20_000
        self.sources_seen: set[str] = set()

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """USER_AGENT follows DW_CONTACT_URL unless USER_AGENT itself was set: one -s
        DW_CONTACT_URL=mailto:... names the operator to DW and in the WARC files."""
        super().update_settings(settings)
        contact_priority = settings.getpriority("DW_CONTACT_URL") or 0
        agent_priority = settings.getpriority("USER_AGENT") or 0
        if contact_priority > agent_priority:
            settings.set(
                "USER_AGENT", project_settings.user_agent(settings["DW_CONTACT_URL"]), "spider"
            )

    @classmethod
    def check_arguments(cls, **spargs: Any) -> None:
        """ValueError for a bad -a value; the crawl command calls this before anything starts,
        so a typo in a crontab line is one usage line (exit 2), not a traceback."""
        cls(**spargs)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DwSpider:
        """Read the DW_* settings once, when the crawl is built."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.base_url = s.get("DW_BASE_URL", urls.CANONICAL_BASE).rstrip("/")
        spider.rss_url = s.get("DW_RSS_URL", urls.CANONICAL_RSS).rstrip("/")
        spider.permalink_url = s.get("DW_PERMALINK_URL", urls.CANONICAL_PERMALINK).rstrip("/")
        spider.max_depth = s.getint("DW_SITEMAP_MAX_DEPTH", 3)
        spider.max_sources = s.getint("DW_MAX_SOURCES", 20_000)
        spider.max_source_size = s.getint("DW_SOURCE_MAXSIZE", sources.MAX_SIZE)
        hosts = {"dw.com"}
        for base in (spider.base_url, spider.rss_url, spider.permalink_url):
            host = urlsplit(base).hostname
            if host:
                hosts.add(host)
        spider.allowed_domains = sorted(hosts)
        return spider

    # --- helpers ---------------------------------------------------------------------------

    def _inc(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"{STAT}/{key}", n)

    def _rebase(self, url: str) -> str:
        return urls.rebase(url, self.base_url, self.rss_url)

    def _canonical(self, fetched_url: str) -> str:
        return urls.canonical_url(urls.unrebase(fetched_url, self.base_url, self.rss_url))

    def skip(self, reason: str, where: scrapy.Request | Response, detail: str = "") -> None:
        """Count and log a URL that will not become a record (never silently lost).

        The ledger (dwscraper/accounting.py) counts each scheduled URL once, whoever reports
        it first: a middleware may already have counted this one.
        """
        Ledger.of(self.crawler).skip(where, reason, detail)

    def source_urls(self) -> list[tuple[str, str]]:
        """(URL to fetch, source name) for every discovery source of this run."""
        out: list[tuple[str, str]] = []
        for lang in self.langs:
            out.append((f"{self.base_url}/{lang}/news-sitemap.xml", f"news-sitemap:{lang}"))
            code = urls.RSS_CODES.get(lang)
            if code:
                out.append((f"{self.rss_url}/xml/rss-{code}-all", f"rss:{lang}"))
            if self.mode == "archive":
                out.append(
                    (f"{self.base_url}/{lang}/article-sitemap.xml", f"article-sitemap:{lang}")
                )
        return out

    def _source_request(self, url: str, source: str, depth: int = 0) -> scrapy.Request:
        self._inc("sources/requested")
        self.sources_seen.add(urls.normalized(url))
        return scrapy.Request(
            url,
            callback=self.parse_source,
            errback=self.source_failed,
            priority=10,
            # Sitemaps may be up to 50 MB (the protocol's cap), above a page's DOWNLOAD_MAXSIZE.
            meta={
                "dw_source": source,
                "dw_depth": depth,
                "download_maxsize": max(
                    self.max_source_size, self.settings.getint("DOWNLOAD_MAXSIZE")
                ),
            },
            dont_filter=True,
        )

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """Sources first; with urls=/url_file= only the given pages."""
        if self.explicit_urls:
            for url in self.explicit_urls:
                code = urls.permalink_code(url)
                if code is not None:
                    yield self._permalink_request(code)
                    continue
                entry = sources.Entry(url)
                for req in self.consider(entry, "urls", filter_dates=False):
                    yield req
            return
        for url, source in self.source_urls():
            yield self._source_request(url, source)

    # --- discovery -------------------------------------------------------------------------

    def parse_source(self, response: Response) -> Iterator[scrapy.Request]:
        """Read a sitemap, sitemap index or feed; schedule children and pages, streaming."""
        source = response.meta.get("dw_source", "source")
        depth = response.meta.get("dw_depth", 0)
        result = sources.ReadResult()
        try:
            for entry in sources.read_source(response.body, result, self.max_source_size):
                if entry.kind == "sitemap":
                    yield from self._child_sitemap(entry, source, depth)
                else:
                    yield from self.consider(entry, source)
        except sources.SourceError as exc:
            result.error, result.detail = exc.reason, exc.detail
        if result.error and not result.entries:
            self._inc(f"sources/error/{result.error}")
            self.skip(result.error, response, result.detail or "")
            logger.warning(
                "source unreadable (%s): %s %s", result.error, response.url, result.detail or ""
            )
            return
        self._inc("sources/read")
        if result.error:
            self._inc(f"sources/{result.error}")
            logger.warning(
                "source partly read (%s after %d entries): %s %s",
                result.error,
                result.entries,
                response.url,
                result.detail or "",
            )
        logger.debug("source %s: %d entries (%s)", response.url, result.entries, result.format)

    def _child_sitemap(
        self, entry: sources.Entry, source: str, depth: int
    ) -> Iterator[scrapy.Request]:
        if depth + 1 > self.max_depth:
            self._inc("sources/error/too_deep")
            logger.warning("sitemap index nesting over %d, not followed: %s", depth, entry.url)
            return
        host = _host(entry.url)
        if host not in urls.DW_HOSTS and not self._is_base_host(host):
            self._inc("discovery/offsite")
            logger.warning("offsite sitemap not followed: %s", entry.url)
            return
        if self.since and entry.lastmod and not sources.in_window(entry.lastmod, self.since, None):
            self._inc("discovery/sitemap_before_since")
            return
        target = self._rebase(entry.url)
        if urls.normalized(target) in self.sources_seen:
            self._inc("discovery/duplicate_source")
            return
        if len(self.sources_seen) >= self.max_sources:
            self._inc("sources/error/too_many")
            logger.warning(
                "over %d sources (DW_MAX_SOURCES), not followed: %s", self.max_sources, entry.url
            )
            return
        yield self._source_request(target, source, depth + 1)

    @cached_property
    def _base_hosts(self) -> frozenset[str]:
        return frozenset(h for h in (_host(self.base_url), _host(self.rss_url)) if h)

    def _is_base_host(self, host: str) -> bool:
        return host in self._base_hosts

    def consider(
        self, entry: sources.Entry, source: str, filter_dates: bool = True
    ) -> Iterator[scrapy.Request]:
        """Decide whether a listed URL is fetched: scope, page type, dates, once per id."""
        self._inc("discovery/entries")
        url = entry.url.strip()
        host = _host(url)
        try:
            if host in urls.DW_HOSTS:
                canonical = urls.canonical_url(url)
            elif self._is_base_host(host):
                canonical = self._canonical(url)
            else:
                self._inc("discovery/offsite")
                logger.info("offsite URL not fetched: %s", url[:300])
                return
        except ValueError:  # a URL urllib cannot split: never a crash of the whole source
            self._inc("discovery/bad_url")
            logger.info("unparseable URL not fetched: %r", url[:300])
            return
        cid = urls.content_id(canonical)
        if cid is None:
            self._inc("discovery/not_content")
            if source == "urls":
                logger.warning("not a content page (a-, av-, audio-, g-, live-): %s", url)
            return
        if filter_dates and not sources.in_window(entry.date, self.since, self.until):
            self._inc("discovery/out_of_window")
            return
        disc = self.discovered.get(cid)
        if disc is not None:
            disc.merge(entry, source, canonical)
            held = self.filtered.get(cid)
            # A later source may bring a newer date for an id a filter held back: ask again.
            if held is None or self._filter_reason(cid, disc):
                self._inc("discovery/duplicate")
                return
            del self.filtered[cid]
            self._inc(f"discovery/{held}", -1)
        else:
            disc = Discovery(canonical)
            disc.merge(entry, source, canonical)
            self.discovered[cid] = disc
            reason = self._filter_reason(cid, disc)
            if reason:
                self.filtered[cid] = reason
                self._inc(f"discovery/{reason}")
                return
        self._inc("pages/scheduled")
        yield scrapy.Request(
            self._rebase(disc.url),
            callback=self.parse_page,
            errback=self.page_failed,
            meta={"dw_id": cid, "dw_source": source},
        )

    def _permalink_request(self, code: str) -> scrapy.Request:
        """A p.dw.com/p/<code> link: DW redirects it to the content, whose URL names the id
        (parse_page reads it from the response). Not known before the fetch, so not
        filtered by the state; an unchanged page is still not written again."""
        self._inc("discovery/permalinks")
        self._inc("pages/scheduled")
        return scrapy.Request(
            f"{self.permalink_url}/p/{code}",
            callback=self.parse_page,
            errback=self.page_failed,
            meta={"dw_source": "urls", "dw_permalink": True},
        )

    def _filter_reason(self, cid: str, disc: Discovery) -> str | None:
        for check in self.fetch_filters:
            reason = check(cid, disc)
            if reason:
                return reason
        return None

    # --- pages -----------------------------------------------------------------------------

    def parse_page(self, response: Response) -> Iterator[dict[str, Any]]:
        """Hand an article page to the parser; yield its record plus private discovery keys."""
        url = response.url
        cid = response.meta.get("dw_id") or urls.content_id(url)
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
        page = None
        if isinstance(response, TextResponse):
            page = partial(pages.parser_input, response)
        record, skipped = pages.record_from_page(response.body, ctype, self._canonical(url), page)
        if skipped is not None:  # record_from_page gives exactly one of the two
            self.skip(skipped.reason, response, skipped.detail)
            return
        disc = self.discovered.get(cid) if cid else None
        record["_discovered_date"] = disc.date if disc else None
        record["_discovered_published"] = disc.published if disc else None
        record["_discovered_lastmod"] = disc.lastmod if disc else None
        record["_source"] = disc.source if disc else response.meta.get("dw_source")
        record["_fetched_at"] = utc_now()
        record["_fetch_url"] = url
        self._inc("pages/parsed")
        yield record

    # --- failures --------------------------------------------------------------------------

    @staticmethod
    def failure_reason(failure: Failure) -> str:
        """A short, stable reason for a failed request (http_404, timeout, robots, ...)."""
        if failure.check(HttpError):
            return f"http_{failure.value.response.status}"
        if failure.check(IgnoreRequest):
            msg = str(failure.value).lower()
            if "robots" in msg:
                return "robots"
            if "offsite" in msg:
                return "offsite_redirect"
            if "redirect" in msg:
                return "too_many_redirects"
            if "max size" in msg or "maxsize" in msg or "larger than" in msg:
                return "too_large"
            return "ignored"
        if failure.check(TimeoutError, TCPTimedOutError):
            return "timeout"
        if failure.check(DNSLookupError):
            return "dns_error"
        if failure.check(ConnectionRefusedError):
            return "connection_refused"
        name = type(failure.value).__name__
        if name == "CancelledError":
            return "too_large"
        return "download_error"

    def page_failed(self, failure: Failure) -> None:
        """Errback of page requests: count the reason, never lose the URL silently."""
        request = failure.request
        self.skip(self.failure_reason(failure), request, str(failure.value)[:200])

    def source_failed(self, failure: Failure) -> None:
        """Errback of sitemap/feed requests."""
        reason = self.failure_reason(failure)
        self._inc(f"sources/error/{reason}")
        self.skip(reason, failure.request, str(failure.value)[:200])
        logger.warning("source failed (%s): %s", reason, failure.request.url)
