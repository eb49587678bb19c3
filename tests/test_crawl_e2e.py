"""End to end: `scrapy crawl dw` against the local DW mirror (tests/dwsite.py).

Each test runs the real command in a subprocess with DW_BASE_URL/DW_RSS_URL pointing at
127.0.0.1 and reads the JSON Lines it wrote, plus the server's request log.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import threading

import pytest
from dwsite import CLUTTER, REPO, DWSite, crawl_command, parse_stats, run_crawl

from dwscraper import record as rec_mod
from dwscraper.pipelines import schema_errors

NOT_CONTENT_RE = re.compile(r"/(s|t|person)-\d+(\?|$)")
LATEST_EN_DE = {"a-1001", "a-1002", "a-1006", "a-2001", "a-2002", "a-2003"}


@pytest.fixture(scope="module")
def latest(tmp_path_factory):
    """One default run over en and de, shared by the read-only assertions below."""
    site = DWSite.default().start()
    try:
        yield site, run_crawl(site, tmp_path_factory.mktemp("latest"), "-a", "lang=en,de")
    finally:
        site.stop()


def test_one_record_per_article_in_one_finished_file(latest):
    _, result = latest
    assert result.returncode == 0, result.log[-3000:]
    assert len(result.files) == 1 and result.part_files == []
    ids = [r["id"] for r in result.records]
    assert sorted(ids) == sorted(LATEST_EN_DE)  # no robots page, no archive-only page, no ar


def test_component_settings_log_no_warning(latest):
    """Scrapy components we switched off or replaced (settings.py) must not make every cron
    run log a warning (e.g. redirects without a RefererMiddleware)."""
    _, result = latest
    noisy = [ln for ln in result.log.splitlines() if " WARNING: " in ln and "scrapy." in ln]
    assert noisy == []


def test_records_are_canonical_valid_and_ordered(latest):
    site, result = latest
    for r in result.records:
        a = site.articles[r["id"]]
        assert r["url"] == a.url and r["url"].startswith("https://www.dw.com/")
        assert "?" not in r["url"] and "127.0.0.1" not in json.dumps(r)
        assert list(r) == list(rec_mod.FIELDS)
        assert not any(k.startswith("_") for k in r)
        assert schema_errors(r) == []
        assert r["language"] == a.lang and r["page_type"] == "article"
        assert r["fetched_at"] and r["content_hash"].startswith("sha256:")


def test_titles_teasers_and_text_are_clean(latest):
    site, result = latest
    for r in result.records:
        a = site.articles[r["id"]]
        assert r["title"] == a.title, "title keeps no ' – DW – date' / ' | DW | date' suffix"
        assert r["teaser"] == a.teaser
        assert r["text"] == a.expected_text(), r["id"]
        for phrase in CLUTTER:
            assert phrase not in r["text"], (r["id"], phrase)
        assert a.signature() is None or a.signature() not in r["text"]
        assert "Deutsche Welle" not in " ".join(r["authors"])
        assert r["authors"] == a.authors


def test_signature_line_becomes_editors_and_agencies(latest):
    _, result = latest
    recs = result.by_id()
    assert recs["a-1001"]["editors"] == ["rc", "msh"]
    assert recs["a-1001"]["agencies"] == ["AFP", "AP", "Reuters"]
    assert recs["a-1002"]["editors"] == ["ab", "jsi"]
    assert recs["a-2001"]["agencies"] == ["dpa", "afp"]


def test_dates_precise_and_day_only_pages_get_the_sitemap_time(latest):
    _, result = latest
    recs = result.by_id()
    assert recs["a-1001"]["published"] == "2024-01-30T14:13:12Z"  # JSON-LD
    # Old layout: the page says only 30.01.2024; the news sitemap gives 11:13:12 that day.
    assert recs["a-1002"]["published"] == "2024-01-30T11:13:12Z"
    assert recs["a-1002"]["published_raw"] and "2024" in recs["a-1002"]["published_raw"]


def test_robots_disallowed_page_never_requested(latest):
    site, result = latest
    assert site.requested("/robots.txt")
    assert site.requested("a-1003") == []
    assert result.stat("dwscraper/skipped/robots") == 1


def test_robots_crawl_delay_is_obeyed_even_with_autothrottle_and_capped(tmp_path):
    # Scrapy obeys only Allow/Disallow: the Crawl-delay (3600 s, capped here at 0.3 s) must
    # space every request after robots.txt, though AutoThrottle tunes delays down to 0.
    site = DWSite.default()
    site.routes["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: *\nCrawl-delay: 3600\nDisallow: /en/robots-disallowed-story/a-1003\n",
    )
    with site:
        result = run_crawl(
            site,
            tmp_path,
            "-a",
            "lang=en",
            DW_ROBOTS_CRAWL_DELAY_MAX="0.3",
            AUTOTHROTTLE_ENABLED="True",
            AUTOTHROTTLE_START_DELAY="0",
        )
    assert result.returncode == 0, result.log[-3000:]
    assert result.stat("dwscraper/crawl_delay/127.0.0.1") == 0.3
    assert "capped at DW_ROBOTS_CRAWL_DELAY_MAX" in result.log
    assert site.log[0] == "/robots.txt" and len(site.log) >= 5
    assert site.requested("a-1003") == []  # its Disallow still holds
    times = site.arrivals[1:]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.3 * 0.9, gaps  # a lower bound: a slow machine cannot break it


def test_only_content_pages_fetched_each_id_once(latest):
    site, _ = latest
    assert [p for p in site.log if NOT_CONTENT_RE.search(p)] == []
    for cid in LATEST_EN_DE:
        assert len(site.fetches_of(cid)) == 1, (cid, site.fetches_of(cid))
    # a-1001 is listed by the news sitemap and (other slug, ?maca=) by the feed: whichever
    # source is read first, the page is fetched once (an old slug is redirected), never
    # with the tracking query.
    assert not any("maca=" in p for p in site.article_requests())
    for path, status in site.statuses:
        if "ferry-line-approved" in path:
            assert status == 301


def test_sources_read_and_accounted(latest):
    site, result = latest
    for path in (
        "/en/news-sitemap.xml",
        "/de/news-sitemap.xml",
        "/xml/rss-en-all",
        "/xml/rss-de-all",
    ):
        assert site.requested(path), path
    assert not site.requested("article-sitemap")  # latest mode
    assert result.stat("dwscraper/sources/read") == 4
    skipped = sum(v for k, v in result.stats.items() if k.startswith("dwscraper/skipped/"))
    assert result.stat("dwscraper/pages/scheduled") == len(result.records) + skipped


def test_since_until_filter_before_fetching(dwsite, tmp_path):
    result = run_crawl(dwsite, tmp_path / "a", "-a", "lang=en,de", "-a", "since=2024-01-01")
    assert result.returncode == 0
    assert "a-1006" not in result.by_id() and "a-1001" in result.by_id()
    assert dwsite.fetches_of("a-1006") == []
    dwsite.clear_log()
    result = run_crawl(dwsite, tmp_path / "b", "-a", "lang=en", "-a", "until=2023-12-31")
    assert set(result.by_id()) == {"a-1006"}
    assert dwsite.article_requests() == [p for p in dwsite.article_requests() if "a-1006" in p]


def test_archive_mode_follows_the_index_and_gzip_child(dwsite, tmp_path):
    result = run_crawl(dwsite, tmp_path / "out", "-a", "lang=en,ar", "-a", "mode=archive")
    assert result.returncode == 0, result.log[-3000:]
    for path in (
        "/en/article-sitemap.xml",
        "/en/article-sitemap-1.xml",
        "/en/article-sitemap-2.xml.gz",
    ):
        assert dwsite.requested(path), path
    recs = result.by_id()
    assert {"a-1001", "a-1002", "a-1004", "a-1006", "a-3001"} <= set(recs)
    assert recs["a-1004"]["published"] == "2023-05-01T09:30:00Z"
    assert dwsite.requested("/xml/rss-ara-all")
    ar = recs["a-3001"]
    assert ar["language"] == "ar" and ar["text"] == dwsite.articles["a-3001"].expected_text()


def test_archive_mode_since_skips_old_pages(dwsite, tmp_path):
    result = run_crawl(
        dwsite, tmp_path / "out", "-a", "lang=en", "-a", "mode=archive", "-a", "since=2024-01-01"
    )
    assert "a-1004" not in result.by_id()
    assert dwsite.fetches_of("a-1004") == []


def test_explicit_urls_fetch_exactly_those(dwsite, tmp_path):
    urls = ",".join(
        [
            dwsite.articles["a-1001"].url + "?maca=en-Twitter-sharing",
            "https://www.dw.com/en/germany/s-1432",
            dwsite.articles["a-2002"].url,
        ]
    )
    result = run_crawl(dwsite, tmp_path / "out", "-a", f"urls={urls}")
    assert result.returncode == 0
    assert set(result.by_id()) == {"a-1001", "a-2002"}
    assert result.by_id()["a-1001"]["url"] == dwsite.articles["a-1001"].url
    assert not dwsite.requested("sitemap") and not dwsite.requested("/xml/")
    assert not [p for p in dwsite.log if NOT_CONTENT_RE.search(p)]


def test_short_links_in_urls_follow_dws_redirect_to_the_article(dwsite, tmp_path):
    a, b = dwsite.articles["a-1001"], dwsite.articles["a-2002"]
    given = [
        f"https://p.dw.com/p/{a.short_code}",
        f"http://dw.com/p/{b.short_code}?maca=en-Twitter-sharing",
        "https://p.dw.com/p/zzzzzz9",  # no such link: a counted 404
    ]
    result = run_crawl(dwsite, tmp_path / "out", "-a", f"urls={','.join(given)}")
    assert result.returncode == 0, result.log[-3000:]
    assert set(result.by_id()) == {"a-1001", "a-2002"}
    assert result.by_id()["a-1001"]["url"] == a.url
    assert result.by_id()["a-2002"]["short_url"] == f"https://p.dw.com/p/{b.short_code}"
    assert result.stat("dwscraper/discovery/permalinks") == 3
    assert result.stat("dwscraper/skipped/http_404") == 1
    assert "not a content page" not in result.log


def test_url_file_and_feed_export(dwsite, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# one URL a line\n{dwsite.articles['a-2001'].url}\n\n{dwsite.articles['a-1006'].url}\n",
        encoding="utf-8",
    )
    feed = tmp_path / "feed.jsonl"
    result = run_crawl(
        dwsite, tmp_path / "out", "-a", f"url_file={listing}", "-O", str(feed), DW_OUTPUT_DIR=""
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.files == []  # DW_OUTPUT_DIR empty: only the -O feed
    rows = [json.loads(x) for x in feed.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == ["a-1006", "a-2001"]
    assert all(list(r) == list(rec_mod.FIELDS) for r in rows)


def test_part_file_is_renamed_only_when_the_run_closes(dwsite, tmp_path):
    """While a page is still pending the output is a .part; at close it becomes .jsonl."""
    release = threading.Event()
    slow = dwsite.articles["a-2002"]

    def held_page(handler):
        release.wait(120)
        return 200, {"Content-Type": "text/html; charset=utf-8"}, slow.html().encode()

    dwsite.routes[slow.path] = held_page
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        crawl_command(dwsite, out, "-a", "lang=de"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Wait (event-driven, no fixed sleep) until both other de pages are on disk.
        done = threading.Event()

        def watch():
            while not done.is_set():
                parts = list(out.glob("*.jsonl.part"))
                if parts and len(parts[0].read_text(encoding="utf-8").splitlines()) >= 2:
                    done.set()
                    return
                done.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        watcher.join(120)
        assert done.is_set(), "records never reached the .part file"
        done.set()
        assert list(out.glob("dw-*.jsonl")) == []
    finally:
        release.set()
        log, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, log[-3000:]
    assert list(out.glob("*.part")) == []
    final = list(out.glob("dw-*.jsonl"))
    assert len(final) == 1
    ids = sorted(json.loads(x)["id"] for x in final[0].read_text(encoding="utf-8").splitlines())
    assert ids == ["a-2001", "a-2002", "a-2003"]
    assert parse_stats(log).get("dwscraper/output/records") == 3


def test_a_removed_article_is_a_counted_skip(dwsite, tmp_path):
    dwsite.articles["a-2002"].status = 404
    result = run_crawl(dwsite, tmp_path / "out", "-a", "lang=de")
    assert "a-2002" not in result.by_id()
    assert result.stat("dwscraper/skipped/http_404") == 1
    assert {"a-2001", "a-2003"} <= set(result.by_id())


def test_bad_spider_argument_fails_with_a_message(dwsite, tmp_path):
    result = run_crawl(dwsite, tmp_path / "out", "-a", "lang=xx")
    assert result.returncode != 0
    assert "unknown edition" in result.log
    assert dwsite.log == []
