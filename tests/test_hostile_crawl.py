"""End to end: a crawl of a local DW mirror with a hostile section.

Broken servers, odd pages and malicious markup sit next to good articles. The crawl must
finish, write every good article, and count every hostile URL under the reason it failed,
one by one, with the outcomes adding up to the URLs scheduled.
"""

from __future__ import annotations

import gzip
import io
import re
import threading
from pathlib import Path

import pytest
from dwsite import WWW, DWSite, make_article, run_crawl

from dwscraper.accounting import skips, totals

GOOD = "Harbor lantern announced a festival for the whole valley on Saturday."

# A classic entity-expansion bomb: a sitemap that must be refused, not expanded.
XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><item><link>&lol9;</link></item></channel></rss>
"""
HTML = {"Content-Type": "text/html; charset=utf-8"}


def _html(a) -> bytes:
    return a.html().encode("utf-8")


class Flaky:
    """Fails `failures` times with `status` (and headers), then serves the page."""

    def __init__(self, article, failures: int, status: int, headers=None) -> None:
        self.body = _html(article)
        self.failures = failures
        self.status = status
        self.headers = headers or {}
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, handler):
        with self.lock:
            self.calls += 1
            n = self.calls
        if n <= self.failures:
            return self.status, self.headers, b"server trouble"
        return 200, HTML, self.body


def stream_without_length(handler):
    """12 MB with no Content-Length, ended by closing the connection (HTTP/1.0 style)."""
    w = handler.wfile
    try:
        w.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>")
        chunk = b"y" * 65536
        for _ in range(12 * 16):
            w.write(chunk)
        w.flush()
    except OSError:
        pass  # the client hung up once it had seen enough: that is the point
    handler.close_connection = True
    handler.wfile = io.BytesIO()  # the server's own status line goes nowhere
    return 200, {}, b""


def hostile_site() -> tuple[DWSite, dict[str, str], dict[str, str]]:
    """The default mirror plus hostile URLs; returns (site, {cid: reason}, {cid: path})."""
    site = DWSite.default()
    expect_skip: dict[str, str] = {}
    good: dict[str, str] = {}

    def listed(cid: str, slug: str) -> str:
        path = f"/en/{slug}/{cid}"
        site.extra_news_urls.setdefault("en", []).append(WWW + path)
        return path

    def art(n: int, title: str, **kw):
        return make_article(n, "en", "new", title, paragraphs=[GOOD, f"Second part of {n}."], **kw)

    # Good articles behind server trouble: retried, then written.
    a = art(9001, "Flaky server story")
    flaky = Flaky(a, failures=1, status=500)
    site.routes[listed("a-9001", "flaky")] = flaky
    good["a-9001"] = "500 then 200"
    a = art(9002, "Busy server story")
    busy = Flaky(a, failures=1, status=503, headers={"Retry-After": "1"})
    site.routes[listed("a-9002", "busy")] = busy
    good["a-9002"] = "503 Retry-After then 200"

    # Dead ends.
    site.routes[listed("a-9003", "missing")] = (404, HTML, b"<html><body>Not found</body></html>")
    expect_skip["a-9003"] = "http_404"
    site.routes[listed("a-9004", "gone")] = (410, HTML, b"<html><body>Gone</body></html>")
    expect_skip["a-9004"] = "http_410"
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    site.routes[listed("a-9005", "picture")] = (200, {"Content-Type": "image/png"}, png)
    expect_skip["a-9005"] = "not_html"
    big = b"<html><body><p>" + b"x" * (20 * 1024 * 1024) + b"</p></body></html>"
    site.routes[listed("a-9006", "huge")] = (200, HTML, big)
    expect_skip["a-9006"] = "too_large"
    site.routes[listed("a-9007", "elsewhere")] = (
        301,
        {"Location": "http://elsewhere.invalid/steal/a-9007"},
        b"",
    )
    expect_skip["a-9007"] = "offsite_redirect"
    site.routes[listed("a-9010", "empty")] = (200, HTML, b"")
    expect_skip["a-9010"] = "empty_page"
    zeros = gzip.compress(b"<html><body><p>" + b"0" * (20 * 1024 * 1024), compresslevel=9)
    site.routes[listed("a-9017", "gzip-bomb")] = (200, {**HTML, "Content-Encoding": "gzip"}, zeros)
    expect_skip["a-9017"] = "too_large"
    # A slug that tries to climb out of any directory it might be written into.
    site.extra_news_urls["en"].append(WWW + "/en/..%2F..%2F..%2Ftmp%2Fdw-pwned/a-9016")
    expect_skip["a-9016"] = "http_404"
    site.routes[listed("a-9015", "stream")] = stream_without_length
    expect_skip["a-9015"] = "too_large"
    site.routes[listed("a-9014", "nothing")] = (
        200,
        HTML,
        b"<html><head><title>DW</title></head><body><nav><a href='/en/'>Home</a></nav>"
        b"</body></html>",
    )
    expect_skip["a-9014"] = "no_article"
    slow = listed("a-9013", "slow")
    site.routes[slow] = (200, HTML, _html(art(9013, "Slow story")))
    site.delays[slow] = 30.0
    expect_skip["a-9013"] = "timeout"

    # Odd but readable pages: written.
    a = art(9008, "Truncated story")
    body = _html(a)
    cut = body[: body.index(b"Second part of")]
    site.routes[listed("a-9008", "truncated")] = (
        200,
        {**HTML, "Content-Length": str(len(body))},
        cut,
    )
    good["a-9008"] = "truncated"
    a = make_article(
        9009,
        "en",
        "old",
        "Grüße aus Köln",
        paragraphs=["Die Bürger von Köln grüßen die Fähre – ein schöner Tag.", GOOD],
    )
    latin = a.html().replace('<meta charset="utf-8">', "").replace("–", "-")
    site.routes[listed("a-9009", "latin")] = (
        200,
        {"Content-Type": "text/html"},
        latin.encode("latin-1"),
    )
    good["a-9009"] = "latin-1 without charset"
    deep = art(9011, "Deeply nested story").html()
    deep = deep.replace("</body>", "<div>" * 200_000 + "deep" + "</div>" * 200_000 + "</body>")
    site.routes[listed("a-9011", "deep")] = (200, HTML, deep.encode())
    good["a-9011"] = "200,000-deep nesting"
    broken = art(9012, "Broken JSON-LD story").html()
    broken = broken.replace(
        '<script type="application/ld+json">',
        '<script type="application/ld+json">{"headline": 5, "author": 42, '
        '"datePublished": "31.02.2024 25:61"}</script><script type="application/ld+json">[{',
        1,
    )
    site.routes[listed("a-9012", "brokenld")] = (200, HTML, broken.encode())
    good["a-9012"] = "broken JSON-LD"

    # A feed that is an entity bomb.
    site.routes["/xml/rss-en-all"] = (200, {"Content-Type": "application/rss+xml"}, XML_BOMB)
    site.flaky, site.busy = flaky, busy  # type: ignore[attr-defined]
    return site, expect_skip, good


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    site, expect_skip, good = hostile_site()
    with site:
        result = run_crawl(
            site,
            tmp_path_factory.mktemp("hostile"),
            "-a",
            "lang=en",
            DOWNLOAD_TIMEOUT=5,  # generous: a loaded CI machine must not time out good pages
            RETRY_TIMES=1,
            DW_RETRY_BACKOFF_BASE=0,
            DW_RETRY_AFTER_MAX=1,
            DW_MAX_ERROR_RATIO=1,
            DW_MAX_EMPTY_RATIO=1,
            timeout=240,
        )
        requested = list(site.log)
    return result, site, expect_skip, good, requested


def test_crawl_completes(hostile_run):
    result, *_ = hostile_run
    assert result.returncode == 0, result.log[-3000:]
    assert "Traceback" not in result.log, result.log[-3000:]
    assert result.stat("finish_reason") == "finished"


def test_every_good_article_is_written(hostile_run):
    result, _site, _skip, good, _ = hostile_run
    records = result.by_id()
    for cid, why in good.items():
        assert cid in records, f"{cid} ({why}) not written"
        assert GOOD in records[cid]["text"], why
    for cid in ("a-1001", "a-1002", "a-1006"):  # the default en articles still make it
        assert cid in records
    assert "a-1003" not in records  # robots.txt


def test_skip_counts_match_the_hostile_urls_one_by_one(hostile_run):
    result, _site, expect_skip, _good, _ = hostile_run
    got = skips(result.stats)
    expected: dict[str, int] = {"robots": 1, "unsafe_xml": 1}
    for reason in expect_skip.values():
        expected[reason] = expected.get(reason, 0) + 1
    assert got == expected, result.log[-4000:]
    for cid, reason in expect_skip.items():
        assert f"skipped {reason}: " in result.log and cid in result.log, (cid, reason)


def test_outcomes_add_up_to_the_urls_scheduled(hostile_run):
    result, *_ = hostile_run
    scheduled, done = totals(result.stats)
    assert scheduled > 0
    assert scheduled == done
    assert result.stat("dwscraper/outcome/record") == len(result.records)
    assert result.stat("dwscraper/skipped/unaccounted") == 0


def test_retries_honored_the_server(hostile_run):
    result, site, *_ = hostile_run
    assert site.flaky.calls == 2  # 500, then the retry got the page
    assert site.busy.calls == 2
    assert result.stat("dwscraper/retry/retry_after") == 1
    assert result.stat("retry/reason_count/503 Service Unavailable") == 1


def test_nothing_outside_dw_was_requested(hostile_run):
    result, _site, _skip, _good, requested = hostile_run
    assert not any("steal" in p for p in requested)  # our server never saw it either
    assert result.stat("dwscraper/scope/offsite_redirect") == 1


def test_urls_never_become_file_paths(hostile_run):
    result, *_ = hostile_run
    names = [p.relative_to(result.output_dir).as_posix() for p in result.output_dir.rglob("*")]
    allowed = re.compile(
        r"(dw-\d{8}T\d{6}Z(-\d+)?\.jsonl|last-run\.json|state\.sqlite3.*|warc(/.*)?)"
    )
    assert names and all(allowed.fullmatch(n) for n in names), names
    assert not list(Path("/tmp").glob("dw-pwned*"))


def test_odd_pages_read_right(hostile_run):
    result, *_ = hostile_run
    records = result.by_id()
    assert "Die Bürger von Köln grüßen die Fähre - ein schöner Tag." in records["a-9009"]["text"]
    assert records["a-9009"]["title"] == "Grüße aus Köln"
    assert "Second part of" not in records["a-9008"]["text"]  # cut: parsed as far as it goes
    assert result.stat("dwscraper/truncated") >= 1
    assert records["a-9012"]["title"] == "Broken JSON-LD story"
    assert records["a-9012"]["published"] != "31.02.2024 25:61"


def test_refetched_unchanged_pages_are_accounted(dwsite, tmp_path):
    first = run_crawl(dwsite, tmp_path / "out", "-a", "lang=en,de")
    assert first.returncode == 0, first.log[-3000:]
    second = run_crawl(dwsite, tmp_path / "out", "-a", "lang=en,de", "-a", "refetch=all")
    assert second.returncode == 0, second.log[-3000:]
    scheduled, done = totals(second.stats)
    assert scheduled == done
    assert second.stat("dwscraper/outcome/unchanged") == first.stat("dwscraper/outcome/record")
    assert second.stat("dwscraper/outcome/record") == 0


def test_site_down_is_retried_counted_and_exit_3(dwsite, tmp_path):
    dwsite.down = True  # 503 with Retry-After: 0 everywhere
    result = run_crawl(dwsite, tmp_path / "out", "-a", "lang=en,de", DW_RETRY_BACKOFF_BASE=0)
    assert result.returncode == 3, result.log[-3000:]
    assert "Traceback" not in result.log
    scheduled, done = totals(result.stats)
    assert scheduled == done == skips(result.stats)["http_503"]
    # each source retried once (robots.txt too), then given up
    assert result.stat("retry/reason_count/503 Service Unavailable") >= scheduled
    assert not list((tmp_path / "out").glob("dw-*.jsonl"))
