"""Hostile sitemaps and feeds in a real crawl: loops, deep indexes, gzip, bombs, 50,000 URLs."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from dwsite import WWW, DWSite, make_article, run_crawl, sitemap_index, urlset

from dwscraper.accounting import skips, totals

OLD = datetime(2020, 1, 1, tzinfo=UTC)
XML = {"Content-Type": "application/xml; charset=utf-8"}
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://www.dw.com/en/&xxe;/a-8999</loc></url></urlset>"""


def big_urlset(n: int, keep: list) -> bytes:
    """n old URLs (filtered out by -a since before any fetch) plus the articles in keep."""
    rows = [
        f"<url><loc>{WWW}/en/old-story-{i}/a-{50_000_000 + i}</loc>"
        "<lastmod>2020-01-01T00:00:00Z</lastmod></url>"
        for i in range(n)
    ]
    rows += [f"<url><loc>{a.url}</loc><lastmod>2024-02-01T00:00:00Z</lastmod></url>" for a in keep]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(rows) + "</urlset>"
    ).encode()


@pytest.fixture(scope="module")
def sources_run(tmp_path_factory):
    site = DWSite()
    arts = {
        n: site.add(
            make_article(
                n,
                "en",
                "new",
                f"Story {n}",
                published=datetime(2024, 2, 1, 9, tzinfo=UTC),
                in_rss=False,  # reachable only through the sitemaps under test
            )
        )
        for n in (8001, 8002, 8003, 8004, 8005)
    }
    root = "/en/news-sitemap.xml"
    # Root index: itself (loop), a chain four indexes deep, a gzip child, a malformed
    # child, an XXE child and a 50,000-URL child.
    site.routes[root] = (
        200,
        XML,
        sitemap_index(
            [
                (WWW + root, None),
                (WWW + "/en/idx-1.xml", None),
                (WWW + "/en/gz-child.xml.gz", None),
                (WWW + "/en/http-gzip.xml", None),
                (WWW + "/en/malformed.xml", None),
                (WWW + "/en/xxe.xml", None),
                (WWW + "/en/big.xml", None),
            ]
        ),
    )
    site.routes["/en/idx-1.xml"] = (
        200,
        XML,
        sitemap_index([(WWW + "/en/idx-2.xml", None), (WWW + root, None)]),
    )
    site.routes["/en/idx-2.xml"] = (200, XML, sitemap_index([(WWW + "/en/idx-3.xml", None)]))
    site.routes["/en/idx-3.xml"] = (200, XML, sitemap_index([(WWW + "/en/idx-4.xml", None)]))
    site.routes["/en/idx-4.xml"] = (200, XML, urlset([arts[8005]]))  # too deep: never fetched
    site.routes["/en/gz-child.xml.gz"] = (
        200,
        {"Content-Type": "application/x-gzip"},
        gzip.compress(urlset([arts[8001]])),
    )
    site.routes["/en/http-gzip.xml"] = (
        200,
        {**XML, "Content-Encoding": "gzip"},
        gzip.compress(urlset([arts[8002]])),
    )
    body = urlset([arts[8003]]).decode()
    site.routes["/en/malformed.xml"] = (
        200,
        XML,
        body.replace("</urlset>", "<url><loc>https://www.dw.com/en/cut/a-8").encode(),
    )
    site.routes["/en/xxe.xml"] = (200, XML, XXE)
    site.routes["/en/big.xml"] = (200, XML, big_urlset(50_000, [arts[8004]]))
    with site:
        result = run_crawl(
            site,
            tmp_path_factory.mktemp("sources"),
            "-a",
            "lang=en",
            "-a",
            "since=2024-01-01",
            DW_SITEMAP_MAX_DEPTH=3,
            DOWNLOAD_MAXSIZE=1024 * 1024,  # pages; the 50,000-URL sitemap (~6 MB) is a source
            DW_MAX_ERROR_RATIO=1,
            DW_MAX_EMPTY_RATIO=1,
            timeout=240,
        )
        log = list(site.log)
    return result, log


def test_crawl_completes(sources_run):
    result, _ = sources_run
    assert result.returncode == 0, result.log[-3000:]
    assert "Traceback" not in result.log


def test_articles_from_gzip_malformed_and_big_sitemaps_are_written(sources_run):
    result, _ = sources_run
    assert set(result.by_id()) == {"a-8001", "a-8002", "a-8003", "a-8004"}


def test_index_nesting_is_bounded_and_loops_fetched_once(sources_run):
    result, log = sources_run
    assert log.count("/en/news-sitemap.xml") == 1  # listed by itself and by idx-1
    assert "/en/idx-3.xml" in log
    assert "/en/idx-4.xml" not in log
    assert result.stat("dwscraper/sources/error/too_deep") == 1
    assert result.stat("dwscraper/discovery/duplicate_source") == 2


def test_xxe_sitemap_is_refused_and_counted(sources_run):
    result, log = sources_run
    assert skips(result.stats).get("unsafe_xml") == 1
    assert not any("passwd" in p or "a-8999" in p for p in log)


def test_50000_url_sitemap_is_read_and_filtered_before_fetching(sources_run):
    result, log = sources_run
    assert result.stat("dwscraper/discovery/entries") >= 50_000
    assert result.stat("dwscraper/discovery/out_of_window") >= 50_000
    assert not any("old-story" in p for p in log)


def test_source_outcomes_add_up(sources_run):
    result, _ = sources_run
    scheduled, done = totals(result.stats)
    assert scheduled == done
    # root, idx-1..3, gz, http-gzip, malformed (partly read), big and the (empty) feed.
    assert result.stat("dwscraper/outcome/source") == 9
    assert skips(result.stats) == {"unsafe_xml": 1}
