"""robots.txt Crawl-delay, obeyed: Scrapy reads robots.txt for Allow/Disallow only.

A site that writes `Crawl-delay: 10` asks for ten seconds between requests; a scraper run
from cron for years should not need an operator to notice that and set DOWNLOAD_DELAY. When
Scrapy's RobotsTxtMiddleware has parsed a host's robots.txt (signal robots_parsed), the
delay it gives our user agent becomes that host's downloader-slot delay, without jitter (a
jittered delay dips below the one asked for), and AutoThrottle, which tunes slot delays
down to DOWNLOAD_DELAY, is held above it after every response. A delay beyond
DW_ROBOTS_CRAWL_DELAY_MAX is capped there with a warning: one odd robots.txt must not turn a
cron run into a day-long one. Stats: dwscraper/crawl_delay/<host> (seconds obeyed).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

log = logging.getLogger(__name__)


class RobotsCrawlDelay:
    """Sets each host's downloader-slot delay to its robots.txt Crawl-delay."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("DW_ROBOTS_CRAWL_DELAY_MAX", 60.0)
        self.user_agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or None
        self.delays: dict[str, float] = {}  # host -> seconds
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)
        # Connected after AutoThrottle's handler (EXTENSIONS order), so it runs after it.
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsCrawlDelay:
        return cls(crawler)

    def _agent(self, request: Request) -> str:
        """The user agent robots.txt is read for, as RobotsTxtMiddleware reads it."""
        agent = self.user_agent or request.headers.get(b"User-Agent")
        if isinstance(agent, bytes):
            agent = agent.decode("latin-1")
        return agent or self.crawler.settings.get("USER_AGENT") or "*"

    def robots_parsed(self, robotparser: Any, request: Request, **_: Any) -> None:
        try:
            asked = robotparser.crawl_delay(self._agent(request))
        except Exception as exc:  # a parser without Crawl-delay support, or a broken file
            log.debug("no Crawl-delay read for %s: %s", request.url, exc)
            return
        if not asked or asked <= 0:
            return
        delay = float(asked)
        if delay > self.max_delay:
            log.warning(
                "robots.txt for %s asks for Crawl-delay %s s; capped at "
                "DW_ROBOTS_CRAWL_DELAY_MAX=%s s",
                request.url,
                asked,
                self.max_delay,
            )
            delay = self.max_delay
        downloader = self.crawler.engine.downloader
        # The robots.txt is the host's: key on the URL's host, not on meta["download_slot"]
        # (a redirect from another host carries that host's slot along).
        key = urlparse_cached(request).hostname or ""
        self.delays[key] = delay
        # A slot made later (first use, or again after Scrapy's idle-slot collection) is
        # made from DOWNLOAD_SLOTS' entry: the larger of this and the delay it had anyway.
        default = float(getattr(downloader, "_delay", 0.0) or 0.0)
        entry = dict(downloader.per_slot_settings.get(key, {}))  # the user's dict stays as is
        entry["delay"] = max(float(entry.get("delay", default)), delay)
        entry["jitter"] = 0.0
        downloader.per_slot_settings[key] = entry
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(f"dwscraper/crawl_delay/{key}", delay)
        log.info("robots.txt for %s: Crawl-delay %s s obeyed", key, delay)

    def response_downloaded(self, response: Response, request: Request, **_: Any) -> None:
        if not self.delays:
            return
        delay = self.delays.get(urlparse_cached(request).hostname or "")
        if not delay:
            return
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None and slot.delay < delay:
            slot.delay = delay
