"""RobotsCrawlDelay's slot bookkeeping, on a stub downloader (the e2e test in
test_crawl_e2e.py measures the spacing itself at the local mirror)."""

from __future__ import annotations

from types import SimpleNamespace

from scrapy import Request
from scrapy.http import Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.settings import Settings
from scrapy.signalmanager import SignalManager
from scrapy.utils.httpobj import urlparse_cached

from dwscraper.crawl_delay import RobotsCrawlDelay


class StubDownloader:
    """The parts of scrapy.core.downloader.Downloader the extension touches."""

    def __init__(self, delay: float, slots_setting: dict) -> None:
        self._delay = delay
        self.per_slot_settings = dict(slots_setting)  # as Settings.getdict copies it
        self.slots: dict = {}

    def get_slot_key(self, request: Request) -> str:
        return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""


def make(delay: float = 0.25, slots: dict | None = None, **settings):
    stats: dict = {}
    crawler = SimpleNamespace(
        settings=Settings(settings),
        signals=SignalManager(),
        stats=SimpleNamespace(set_value=stats.__setitem__),
        engine=SimpleNamespace(downloader=StubDownloader(delay, slots or {})),
    )
    return RobotsCrawlDelay(crawler), crawler.engine.downloader, stats


def robots(body: bytes) -> ProtegoRobotParser:
    return ProtegoRobotParser(body, None)


def test_delay_goes_to_the_robots_host_even_after_a_cross_host_redirect():
    ext, dl, stats = make()
    old = SimpleNamespace(delay=0.25, jitter=0.5)
    dl.slots["127.0.0.1"] = old
    # A redirect from 127.0.0.1 carries its slot in meta; the robots.txt is localhost's.
    req = Request("http://localhost/page", meta={"download_slot": "127.0.0.1"})
    ext.robots_parsed(robots(b"User-agent: *\nCrawl-delay: 2\n"), req)
    assert dl.per_slot_settings["localhost"] == {"delay": 2.0, "jitter": 0.0}
    assert (old.delay, old.jitter) == (0.25, 0.5)
    assert stats == {"dwscraper/crawl_delay/localhost": 2.0}


def test_a_recreated_slot_keeps_the_larger_download_delay_and_user_slot_settings():
    user = {"www.dw.com": {"concurrency": 2, "jitter": 0.3}}
    ext, dl, _ = make(delay=3.0, slots=user)
    ext.robots_parsed(robots(b"User-agent: *\nCrawl-delay: 1\n"), Request("https://www.dw.com/x"))
    assert dl.per_slot_settings["www.dw.com"] == {"concurrency": 2, "jitter": 0.0, "delay": 3.0}
    assert user == {"www.dw.com": {"concurrency": 2, "jitter": 0.3}}  # the user's dict as is


def test_an_existing_slot_is_raised_and_held_above_autothrottle():
    ext, dl, _ = make()
    slot = SimpleNamespace(delay=0.25, jitter=0.5)
    dl.slots["www.dw.com"] = slot
    req = Request("https://www.dw.com/en/x/a-1")
    ext.robots_parsed(robots(b"User-agent: *\nCrawl-delay: 5\n"), req)
    assert (slot.delay, slot.jitter) == (5.0, 0.0)
    slot.delay = 0.1  # what AutoThrottle does after a fast response
    ext.response_downloaded(Response(req.url), req)
    assert slot.delay == 5.0


def test_capped_and_absent_delays():
    ext, dl, stats = make(DW_ROBOTS_CRAWL_DELAY_MAX=10)
    ext.robots_parsed(robots(b"User-agent: *\nCrawl-delay: 86400\n"), Request("https://a.dw.com/"))
    assert dl.per_slot_settings["a.dw.com"]["delay"] == 10.0
    ext.robots_parsed(robots(b"User-agent: *\nDisallow: /x\n"), Request("https://b.dw.com/"))
    assert "b.dw.com" not in dl.per_slot_settings and len(stats) == 1
    # Another agent's delay is not ours.
    body = b"User-agent: otherbot\nCrawl-delay: 9\n\nUser-agent: *\nDisallow: /x\n"
    ext.robots_parsed(robots(body), Request("https://c.dw.com/"))
    assert "c.dw.com" not in dl.per_slot_settings
