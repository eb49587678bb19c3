"""The dw spider's crawl policy, without a network: arguments, sources, discovery, pages."""

from __future__ import annotations

import gzip

import pytest
from dwsite import make_article, news_sitemap, rss_feed, sitemap_index, urlset
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from dwscraper.accounting import Ledger
from dwscraper.spiders.dw import DwSpider
from dwscraper.urls import EDITIONS

BASE = "http://127.0.0.1:9"


def spider(**kwargs):
    settings = kwargs.pop("settings", {})
    crawler = get_crawler(DwSpider, {"DW_BASE_URL": BASE, "DW_RSS_URL": BASE + "/rss", **settings})
    return DwSpider.from_crawler(crawler, **kwargs)


def stat(sp, key):
    return sp.crawler.stats.get_value(f"dwscraper/{key}", 0)


def source_response(sp, url, body, source="news-sitemap:en", depth=0):
    req = Request(url, meta={"dw_source": source, "dw_depth": depth})
    return XmlResponse(url, body=body, request=req)


def page_requests(out):
    return [r for r in out if isinstance(r, Request) and r.callback.__name__ == "parse_page"]


# --- arguments ----------------------------------------------------------------------------


def test_defaults_all_editions_latest_mode():
    sp = spider()
    assert sp.langs == list(EDITIONS) and len(sp.langs) == 31
    assert sp.mode == "latest" and sp.since is None
    assert "127.0.0.1" in sp.allowed_domains and "dw.com" in sp.allowed_domains


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lang": "en,xx"}, "unknown edition"),
        ({"mode": "everything"}, "mode must be"),
        ({"since": "30.01.2024"}, "YYYY-MM-DD"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "after until"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        spider(**kwargs)


def test_lang_is_case_insensitive_and_all_means_every_edition():
    assert spider(lang=" EN , de ").langs == ["en", "de"]
    assert spider(lang="all").langs == list(EDITIONS)


def test_missing_url_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read url_file"):
        spider(url_file=str(tmp_path / "nope.txt"))


def test_url_file_lines_and_comments(tmp_path):
    f = tmp_path / "u.txt"
    f.write_text(
        "# comment\nhttps://www.dw.com/en/a/a-1\n\n  https://www.dw.com/de/b/a-2  \n  # x\n"
    )
    sp = spider(urls="https://www.dw.com/en/c/a-3", url_file=str(f))
    assert sp.explicit_urls == [
        "https://www.dw.com/en/c/a-3",
        "https://www.dw.com/en/a/a-1",
        "https://www.dw.com/de/b/a-2",
    ]


def test_sources_per_edition_rebased():
    sp = spider(lang="en,fr", mode="archive")
    assert sp.source_urls() == [
        (f"{BASE}/en/news-sitemap.xml", "news-sitemap:en"),
        (f"{BASE}/rss/xml/rss-en-all", "rss:en"),
        (f"{BASE}/en/article-sitemap.xml", "article-sitemap:en"),
        (f"{BASE}/fr/news-sitemap.xml", "news-sitemap:fr"),  # no known French feed
        (f"{BASE}/fr/article-sitemap.xml", "article-sitemap:fr"),
    ]


# --- discovery ----------------------------------------------------------------------------


def test_news_sitemap_schedules_content_pages_rebased_once_per_id():
    sp = spider(lang="en")
    a, b = make_article(1, title="One story"), make_article(2, title="Two story")
    body = news_sitemap(
        [a, b, a],
        ["https://www.dw.com/en/germany/s-1432", "https://example.org/en/x/a-9", a.url + "?maca=x"],
    )
    out = list(sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", body)))
    reqs = page_requests(out)
    assert [r.url for r in reqs] == [BASE + a.path, BASE + b.path]
    assert [r.meta["dw_id"] for r in reqs] == ["a-1", "a-2"]
    assert stat(sp, "discovery/duplicate") == 2
    assert stat(sp, "discovery/not_content") == 1
    assert stat(sp, "discovery/offsite") == 1
    assert stat(sp, "sources/read") == 1
    assert sp.discovered["a-1"].date == "2024-01-30T14:13:12Z"


def test_feed_links_with_other_slug_and_query_map_to_the_same_id():
    sp = spider(lang="en")
    a = make_article(1, alt_slug="other-slug")
    list(sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", news_sitemap([a]))))
    out = list(
        sp.parse_source(
            source_response(sp, f"{BASE}/rss/xml/rss-en-all", rss_feed("en", [a]), "rss:en")
        )
    )
    assert page_requests(out) == []
    assert stat(sp, "discovery/duplicate") == 1


def test_dates_filter_before_fetching():
    sp = spider(lang="en", since="2024-01-01", until="2024-01-31")
    arts = [
        make_article(1, published="2023-12-31T23:00:00Z"),
        make_article(2, published="2024-01-15T10:00:00Z"),
        make_article(3, published="2024-02-01T00:30:00Z"),
    ]
    out = list(
        sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", news_sitemap(arts)))
    )
    assert [r.meta["dw_id"] for r in page_requests(out)] == ["a-2"]
    assert stat(sp, "discovery/out_of_window") == 2


def test_sitemap_index_children_followed_rebased_and_bounded():
    sp = spider(lang="en", mode="archive", settings={"DW_SITEMAP_MAX_DEPTH": 1})
    body = sitemap_index(
        [
            ("https://www.dw.com/en/article-sitemap-1.xml", None),
            ("https://evil.example/x.xml", None),
        ]
    )
    out = list(
        sp.parse_source(
            source_response(sp, f"{BASE}/en/article-sitemap.xml", body, "article-sitemap:en")
        )
    )
    assert [r.url for r in out] == [f"{BASE}/en/article-sitemap-1.xml"]
    assert out[0].meta["dw_depth"] == 1
    deeper = list(
        sp.parse_source(source_response(sp, out[0].url, body, "article-sitemap:en", depth=1))
    )
    assert deeper == []
    assert stat(sp, "sources/error/too_deep") == 2


def test_index_child_older_than_since_is_not_fetched():
    from datetime import UTC, datetime

    sp = spider(lang="en", mode="archive", since="2024-01-01")
    body = sitemap_index(
        [
            ("https://www.dw.com/en/old.xml", datetime(2023, 6, 1, tzinfo=UTC)),
            ("https://www.dw.com/en/new.xml", datetime(2024, 6, 1, tzinfo=UTC)),
        ]
    )
    out = list(sp.parse_source(source_response(sp, f"{BASE}/en/article-sitemap.xml", body)))
    assert [r.url for r in out] == [f"{BASE}/en/new.xml"]


def test_gzip_child_sitemap_read():
    sp = spider(lang="en", mode="archive")
    a = make_article(7)
    req = Request(f"{BASE}/x", meta={"dw_source": "s", "dw_depth": 1})
    url = f"{BASE}/en/article-sitemap-2.xml.gz"
    resp = Response(url, body=gzip.compress(urlset([a])), request=req)
    assert [r.meta["dw_id"] for r in page_requests(sp.parse_source(resp))] == ["a-7"]


def test_unreadable_source_counted():
    sp = spider(lang="en")
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><urlset>&a;</urlset>'
    assert list(sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", body))) == []
    assert stat(sp, "sources/error/unsafe_xml") == 1
    assert stat(sp, "sources/read") == 0


def test_fetch_filter_holds_back_pages():
    sp = spider(lang="en")
    sp.fetch_filters.append(lambda cid, disc: "unchanged" if cid == "a-1" else None)
    arts = [make_article(1), make_article(2)]
    out = list(
        sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", news_sitemap(arts)))
    )
    assert [r.meta["dw_id"] for r in page_requests(out)] == ["a-2"]
    assert stat(sp, "discovery/unchanged") == 1


def test_explicit_urls_start_without_sources():
    import asyncio

    sp = spider(urls="https://www.dw.com/en/x/a-5?maca=1,https://www.dw.com/en/germany/s-1")

    async def collect():
        return [r async for r in sp.start()]

    out = asyncio.run(collect())
    assert [r.url for r in out] == [f"{BASE}/en/x/a-5"]
    assert stat(sp, "discovery/not_content") == 1


# --- pages --------------------------------------------------------------------------------


def _page(sp, article, body=None, ctype=b"text/html; charset=utf-8", cls=HtmlResponse):
    url = BASE + article.path
    req = Request(url, meta={"dw_id": article.cid, "dw_source": "news-sitemap:en"})
    Ledger.of(sp.crawler).open(req)
    body = article.html().encode() if body is None else body
    return cls(url, body=body, headers={"Content-Type": ctype}, request=req)


def test_page_becomes_record_with_canonical_url_and_private_keys():
    sp = spider(lang="en")
    a = make_article(1, layout="old", published="2024-01-30T11:13:12Z")
    list(sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", news_sitemap([a]))))
    (rec,) = list(sp.parse_page(_page(sp, a)))
    assert rec["url"] == a.url and rec["id"] == "a-1"
    assert rec["_discovered_date"] == "2024-01-30T11:13:12Z"
    assert rec["_source"] == "news-sitemap:en"
    assert rec["_fetched_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "ctype", "cls", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n....", b"image/png", Response, "not_html"),
        (b"   ", b"text/html", HtmlResponse, "empty_page"),
        (b"%PDF-1.4", b"application/pdf", TextResponse, "not_html"),
    ],
)
def test_non_article_pages_are_counted_skips(body, ctype, cls, reason):
    sp = spider(lang="en")
    assert list(sp.parse_page(_page(sp, make_article(1), body, ctype, cls))) == []
    assert stat(sp, f"skipped/{reason}") == 1


def test_hostile_locs_are_counted_not_fatal():
    sp = spider(lang="en")
    a = make_article(1)
    body = news_sitemap(
        [a],
        [
            "http://[::1/en/x/a-2",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://www.dw.com/en/y/a-3",
        ],
    )
    out = list(sp.parse_source(source_response(sp, f"{BASE}/en/news-sitemap.xml", body)))
    assert [r.meta["dw_id"] for r in page_requests(out)] == ["a-1", "a-3"]
    assert stat(sp, "discovery/offsite") == 3


def test_a_sitemap_slug_wins_over_a_feed_slug_for_later_requests():
    sp = spider(lang="en")
    sp.fetch_filters.append(lambda cid, disc: None if disc.lastmod else "unchanged")
    a = make_article(1, alt_slug="old-slug")
    feed = source_response(sp, f"{BASE}/rss/xml/rss-en-all", rss_feed("en", [a]), "rss:en")
    assert page_requests(sp.parse_source(feed)) == []  # held back by the filter
    out = list(sp.parse_source(source_response(sp, f"{BASE}/en/s.xml", urlset([a]), "s:en")))
    assert [r.url for r in page_requests(out)] == [BASE + a.path]


def test_source_requests_allow_large_sitemaps():
    sp = spider(lang="en", settings={"DOWNLOAD_MAXSIZE": 1000, "DW_SOURCE_MAXSIZE": 5000})
    req = sp._source_request(f"{BASE}/en/news-sitemap.xml", "news-sitemap:en")
    assert req.meta["download_maxsize"] == 5000
    assert req.dont_filter and req.priority > 0


@pytest.mark.parametrize(
    ("cmdline", "agent"),
    [
        ({}, "dwscraper/0.1 (+https://github.com/dwscraper/dwscraper; news research crawler)"),
        ({"DW_CONTACT_URL": "mailto:me@example.org"}, "(+mailto:me@example.org; news research"),
        ({"DW_CONTACT_URL": "mailto:me@example.org", "USER_AGENT": "mine/1"}, "mine/1"),
        ({"USER_AGENT": "mine/1"}, "mine/1"),
    ],
)
def test_user_agent_follows_contact_url_unless_set_itself(cmdline, agent):
    from scrapy.crawler import Crawler
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for key, value in cmdline.items():
        settings.set(key, value, "cmdline")
    crawler = Crawler(DwSpider, settings)
    assert agent in crawler.settings["USER_AGENT"]


@pytest.mark.parametrize(
    ("dates", "kept"),
    [
        (["2024-05-02T10:00:00Z", "2024-05-02T16:00:00Z"], "2024-05-02T16:00:00Z"),
        (["2024-05-02", "2024-05-02T10:00:00Z"], "2024-05-02T10:00:00Z"),
        (["2024-05-01T23:00:00Z", "2024-05-02"], "2024-05-02"),
    ],
)
def test_discovery_keeps_the_newest_date_whatever_the_source_order(dates, kept):
    """A feed that dates an article later than the news sitemap is an update, whether the
    feed or the sitemap answered first."""
    from dwscraper.sources import Entry
    from dwscraper.spiders.dw import Discovery

    url = "https://www.dw.com/en/x/a-1"
    for order in (dates, dates[::-1]):
        disc = Discovery(url)
        for i, date in enumerate(order):
            disc.merge(Entry(url, date=date), "rss:en" if i else "news:en", url)
        assert disc.date == kept
