"""Unit tests of the scope/accounting/retry middlewares on fake Requests and Responses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request, Spider, signals
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    DropItem,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler

from dwscraper import accounting, charsets
from dwscraper.accounting import SCHEDULED, Ledger, drop_reason, skips, totals
from dwscraper.middlewares import (
    RETRY_DELAY,
    AccountingMiddleware,
    AccountingSpiderMiddleware,
    BackoffRetryMiddleware,
    ScopeMiddleware,
    allowed_netlocs,
    backoff_delay,
    exception_reason,
    in_scope,
    is_html,
    request_in_scope,
    retry_after_seconds,
)

MIRROR = "http://127.0.0.1:8765"
PAGE = f"{MIRROR}/en/some-title/a-12345"
SITEMAP = f"{MIRROR}/en/news-sitemap.xml"
HTML = b"<html><head><title>t</title></head><body><p>Hello</p></body></html>"


def make_crawler(**settings):
    base = {
        "DW_BASE_URL": MIRROR,
        "DW_RSS_URL": "http://127.0.0.1:8766",
        "RETRY_TIMES": 2,
        "DW_RETRY_BACKOFF_BASE": 0.5,
        "DW_RETRY_BACKOFF_MAX": 4,
        "DW_RETRY_AFTER_MAX": 30,
    }
    base.update(settings)
    crawler = get_crawler(Spider, base)
    crawler.spider = Spider.from_crawler(crawler, name="t")
    Ledger.of(crawler)  # as the middlewares do when the crawl is built
    return crawler


def scheduled(crawler, url, **meta):
    req = Request(url, meta=meta)
    crawler.signals.send_catch_log(signals.request_scheduled, request=req, spider=crawler.spider)
    return req


def html_response(req, body=HTML, status=200, ctype=b"text/html; charset=utf-8", **kw):
    headers = {"Content-Type": ctype} if ctype else {}
    return HtmlResponse(req.url, status=status, body=body, headers=headers, request=req, **kw)


def stats(crawler):
    return crawler.stats.get_stats()


# --- scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.dw.com/en/x/a-1", True),
        ("https://p.dw.com/p/3xyz", True),
        ("https://rss.dw.com/xml/rss-en-all", True),
        ("https://static.dw.com/image/1_6.jpg", True),
        ("https://WWW.DW.COM/en/x/a-1", True),
        (f"{MIRROR}/en/x/a-1", True),
        ("http://127.0.0.1:8766/xml/rss-en-all", True),
        ("http://127.0.0.1:9999/en/x/a-1", False),  # same host, other port
        ("https://evil.example/en/x/a-1", False),
        ("https://www.dw.com.evil.example/en/x/a-1", False),
        ("https://evildw.com/x", False),
        ("https://www.dw.com@evil.example/x", False),
        ("https://www.dw.com:2222/x", False),
        ("ftp://www.dw.com/x", False),
        ("file:///etc/passwd", False),
        ("data:text/html,hi", False),
        ("http://localhost/x", False),
    ],
)
def test_in_scope(url, ok):
    bases = allowed_netlocs(MIRROR, "http://127.0.0.1:8766")
    assert in_scope(url, bases) is ok
    assert request_in_scope(Request(url), bases) is ok  # what the middleware checks


def test_scope_drops_offsite_and_counts_it():
    crawler = make_crawler()
    mw = ScopeMiddleware.from_crawler(crawler)
    req = scheduled(crawler, "https://evil.example/en/x/a-1")
    with pytest.raises(IgnoreRequest):
        mw.process_request(req)
    assert stats(crawler)["dwscraper/skipped/offsite"] == 1


def test_scope_counts_offsite_redirect():
    crawler = make_crawler()
    mw = ScopeMiddleware.from_crawler(crawler)
    first = scheduled(crawler, PAGE)
    redirected = first.replace(url="https://evil.example/steal")
    redirected.meta["redirect_urls"] = [PAGE]
    with pytest.raises(IgnoreRequest):
        mw.process_request(redirected)
    st = stats(crawler)
    assert st["dwscraper/skipped/offsite_redirect"] == 1
    assert totals(st) == (1, 1)


def test_scope_refuses_offsite_redirects_when_scheduled():
    crawler = make_crawler()
    mw = ScopeMiddleware.from_crawler(crawler)  # signals hold weak references: keep it
    first = scheduled(crawler, PAGE)
    redirected = first.replace(url="https://evil.example/steal")
    redirected.meta["redirect_urls"] = [PAGE]
    results = crawler.signals.send_catch_log(
        signals.request_scheduled, request=redirected, spider=None, dont_log=IgnoreRequest
    )
    assert any(getattr(r, "check", lambda *_: False)(IgnoreRequest) for _, r in results)
    st = stats(crawler)
    assert skips(st) == {"offsite_redirect": 1}
    assert totals(st) == (1, 1)
    assert mw.bases


def test_scope_rebases_dw_urls_onto_the_mirror():
    crawler = make_crawler()
    mw = ScopeMiddleware.from_crawler(crawler)
    req = Request("https://www.dw.com/en/x/a-1?maca=1")
    out = mw.process_request(req)
    assert isinstance(out, Request)
    assert out.url == f"{MIRROR}/en/x/a-1?maca=1"
    assert mw.process_request(out) is None


def test_scope_leaves_dw_alone_without_mirror():
    crawler = make_crawler(DW_BASE_URL="https://www.dw.com", DW_RSS_URL="https://rss.dw.com")
    mw = ScopeMiddleware.from_crawler(crawler)
    assert mw.process_request(Request("https://www.dw.com/en/x/a-1")) is None


# --- accounting: downloader side -------------------------------------------------------------


def test_ticket_survives_retries_and_redirects():
    crawler = make_crawler()
    req = scheduled(crawler, PAGE)
    ticket = req.meta[accounting.TICKET]
    retry = req.copy()
    crawler.signals.send_catch_log(signals.request_scheduled, request=retry, spider=None)
    redirect = req.replace(url=PAGE + "-moved")
    crawler.signals.send_catch_log(signals.request_scheduled, request=redirect, spider=None)
    assert retry.meta[accounting.TICKET] == redirect.meta[accounting.TICKET] == ticket
    assert stats(crawler)[SCHEDULED] == 1


def test_ticket_from_an_earlier_run_is_replaced():
    crawler = make_crawler()
    req = Request(PAGE, meta={accounting.TICKET: "0badc0de:1"})  # resumed from a JOBDIR
    crawler.signals.send_catch_log(signals.request_scheduled, request=req, spider=None)
    assert req.meta[accounting.TICKET] != "0badc0de:1"
    other = scheduled(crawler, PAGE + "2")
    assert other.meta[accounting.TICKET] != req.meta[accounting.TICKET]
    Ledger.of(crawler).skip(req, "http_404")
    assert totals(stats(crawler)) == (2, 1)


def test_robots_txt_fetch_is_not_a_scheduled_url():
    crawler = make_crawler()
    ledger = Ledger.of(crawler)
    robots = Request(f"{MIRROR}/robots.txt", meta={"dont_obey_robotstxt": True})
    assert ledger.open(robots) is None
    assert stats(crawler).get(SCHEDULED) is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "http_404"), (410, "http_410"), (500, "http_500"), (301, "http_301")],
)
def test_final_error_status_counted(status, reason):
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    resp = html_response(req, status=status)
    assert mw.process_response(req, resp) is resp  # HttpErrorMiddleware still filters it
    assert skips(stats(crawler)) == {reason: 1}


def test_allowed_status_is_not_a_skip():
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE, handle_httpstatus_list=[304])
    mw.process_response(req, html_response(req, status=304))
    assert skips(stats(crawler)) == {}


def test_png_served_as_article_is_not_html():
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    with pytest.raises(IgnoreRequest):
        mw.process_response(req, Response(PAGE, body=png, headers={"Content-Type": "image/png"}))
    assert skips(stats(crawler)) == {"not_html": 1}


def test_png_labelled_html_is_still_not_html():
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    with pytest.raises(IgnoreRequest):
        mw.process_response(req, html_response(req, body=png))
    assert skips(stats(crawler)) == {"not_html": 1}


def test_html_without_content_type_passes():
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    resp = html_response(req, ctype=None)
    assert mw.process_response(req, resp) is resp
    assert skips(stats(crawler)) == {}


@pytest.mark.parametrize("body", [b"", b"   \r\n\t "])
def test_empty_200_is_reported_not_written(body):
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    with pytest.raises(IgnoreRequest):
        mw.process_response(req, html_response(req, body=body))
    assert skips(stats(crawler)) == {"empty_page": 1}


def test_sources_are_not_held_to_html_rules():
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, SITEMAP)
    resp = TextResponse(SITEMAP, body=b"<urlset/>", headers={"Content-Type": "application/xml"})
    assert mw.process_response(req, resp) is resp
    assert skips(stats(crawler)) == {}


def test_body_over_maxsize_is_too_large():
    crawler = make_crawler(DOWNLOAD_MAXSIZE=1000)
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    with pytest.raises(IgnoreRequest):
        mw.process_response(req, html_response(req, body=b"<p>" + b"x" * 2000))
    assert skips(stats(crawler)) == {"too_large": 1}


def test_per_request_maxsize_is_respected():
    crawler = make_crawler(DOWNLOAD_MAXSIZE=1000)
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, SITEMAP, download_maxsize=50_000)
    resp = TextResponse(SITEMAP, body=b"<urlset>" + b" " * 5000 + b"</urlset>", request=req)
    assert mw.process_response(req, resp) is resp
    assert skips(stats(crawler)) == {}


def test_dataloss_body_is_flagged_and_passed_on():
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    resp = html_response(req, body=b"<html><body><p>half a pa", flags=["dataloss"])
    assert mw.process_response(req, resp) is resp
    assert stats(crawler)["dwscraper/truncated"] == 1


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (IgnoreRequest("Forbidden by robots.txt"), "robots"),
        (DownloadTimeoutError("took longer than 30 seconds"), "timeout"),
        (DownloadCancelledError("expected size larger than download max size"), "too_large"),
        (DownloadCancelledError(""), "too_large"),
        (DownloadConnectionRefusedError("refused"), "connection_error"),
        (IgnoreRequest("max redirections reached"), "too_many_redirects"),
        (IgnoreRequest("Ignoring response: larger than download max size"), "too_large"),
        (ValueError("boom"), "download_error"),
    ],
)
def test_exception_reasons(exc, reason):
    assert exception_reason(exc) == reason
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    assert mw.process_exception(req, exc) is None  # the spider's errback still runs
    assert skips(stats(crawler)) == {reason: 1}


def test_http_error_exception_reason():
    resp = Response(PAGE, status=404)
    assert exception_reason(HttpError(resp, "Ignoring non-200 response")) == "http_404"


def test_is_html_variants():
    assert is_html(Response(PAGE, body=HTML, headers={"Content-Type": "text/html"}))
    assert is_html(Response(PAGE, body=HTML, headers={"Content-Type": "application/xhtml+xml"}))
    assert not is_html(Response(PAGE, body=HTML, headers={"Content-Type": "application/pdf"}))
    assert not is_html(Response(PAGE, body=b"%PDF-1.4 ...", headers={}))


# --- accounting: the ledger ------------------------------------------------------------------


def test_closing_twice_counts_once():
    crawler = make_crawler()
    ledger = Ledger.of(crawler)
    req = scheduled(crawler, PAGE)
    assert ledger.skip(req, "http_404") is True
    assert ledger.skip(req, "parse_error") is False
    assert ledger.close(req, "record") is False
    assert skips(stats(crawler)) == {"http_404": 1}


def test_unknown_outcome_is_rejected():
    crawler = make_crawler()
    with pytest.raises(ValueError):
        Ledger.of(crawler).close(scheduled(crawler, PAGE), "written")


def test_item_signals_close_tickets():
    crawler = make_crawler()
    reqs = [scheduled(crawler, f"{PAGE}{i}") for i in range(4)]
    resps = [html_response(r) for r in reqs]
    send = crawler.signals.send_catch_log
    send(signals.item_scraped, item={}, response=resps[0], spider=None)
    send(
        signals.item_dropped,
        item={},
        response=resps[1],
        exception=DropItem("dropped no_text: x"),
        spider=None,
    )
    send(
        signals.item_dropped,
        item={},
        response=resps[2],
        exception=DropItem("unchanged: x"),
        spider=None,
    )
    send(signals.item_error, item={}, response=resps[3], failure=OSError("disk"), spider=None)
    st = stats(crawler)
    assert st["dwscraper/outcome/record"] == 1
    assert st["dwscraper/outcome/unchanged"] == 1
    assert skips(st) == {"no_text": 1, "item_error": 1}
    assert totals(st) == (4, 4)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("dropped no_text: https://x (y)", "no_text"),
        ("dropped duplicate: https://x", "duplicate"),
        ("unchanged: a-1", "unchanged"),
        ("something went very wrong", "dropped"),
        ("", "dropped"),
    ],
)
def test_drop_reason(message, reason):
    assert drop_reason(message) == reason


def test_scheduler_drop_is_a_counted_duplicate():
    crawler = make_crawler()
    req = scheduled(crawler, PAGE)
    crawler.signals.send_catch_log(signals.request_dropped, request=req, spider=None)
    assert skips(stats(crawler)) == {"duplicate": 1}


def test_open_tickets_at_close_are_counted():
    crawler = make_crawler()
    scheduled(crawler, PAGE)
    scheduled(crawler, PAGE + "1")
    crawler.signals.send_catch_log(signals.spider_closed, spider=None, reason="finished")
    st = stats(crawler)
    assert skips(st) == {"unaccounted": 2}
    assert totals(st) == (2, 2)


def test_open_tickets_after_interrupt_are_interrupted():
    crawler = make_crawler()
    scheduled(crawler, PAGE)
    crawler.signals.send_catch_log(signals.spider_closed, spider=None, reason="shutdown")
    assert skips(stats(crawler)) == {"interrupted": 1}


# --- accounting: spider side -----------------------------------------------------------------


async def _collect(agen):
    return [x async for x in agen]


async def _agen(items):
    for x in items:
        yield x


def run_output(crawler, response, items):
    mw = AccountingSpiderMiddleware.from_crawler(crawler)
    return asyncio.run(_collect(mw.process_spider_output(response, _agen(items))))


def test_page_without_item_is_no_article():
    crawler = make_crawler()
    req = scheduled(crawler, PAGE)
    assert run_output(crawler, html_response(req), []) == []
    assert skips(stats(crawler)) == {"no_article": 1}


def test_page_with_item_waits_for_the_pipelines():
    crawler = make_crawler()
    req = scheduled(crawler, PAGE)
    resp = html_response(req)
    assert run_output(crawler, resp, [{"id": "a-12345"}]) == [{"id": "a-12345"}]
    assert skips(stats(crawler)) == {}
    crawler.signals.send_catch_log(signals.item_scraped, item={}, response=resp, spider=None)
    assert stats(crawler)["dwscraper/outcome/record"] == 1


def test_source_read_is_an_outcome():
    crawler = make_crawler()
    req = scheduled(crawler, SITEMAP)
    resp = TextResponse(SITEMAP, body=b"<urlset/>", request=req)
    child = Request(PAGE)
    assert run_output(crawler, resp, [child]) == [child]
    st = stats(crawler)
    assert st["dwscraper/outcome/source"] == 1
    assert totals(st) == (1, 1)


def test_callback_exception_is_parse_error():
    crawler = make_crawler()
    mw = AccountingSpiderMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    assert mw.process_spider_exception(html_response(req), RuntimeError("bug")) is None
    assert skips(stats(crawler)) == {"parse_error": 1}


# --- retries -----------------------------------------------------------------------------------


def test_retry_after_seconds_forms():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds("  12 ") == 12.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now) == pytest.approx(90.0)
    past = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(past, now=now) == 0.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(b"-5") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(b"9" * 40) == 10**7


def test_backoff_delay():
    assert backoff_delay(1, None, 0.5, 4, 30) == 0.5
    assert backoff_delay(2, None, 0.5, 4, 30) == 1.0
    assert backoff_delay(5, None, 0.5, 4, 30) == 4
    assert backoff_delay(1, 10, 0.5, 4, 30) == 10
    assert backoff_delay(1, 3600, 0.5, 4, 30) == 30
    assert backoff_delay(3, None, 0, 4, 30) == 0.0


def test_503_with_retry_after_is_retried_after_that_delay():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    req = Request(PAGE)
    resp = Response(PAGE, status=503, headers={"Retry-After": "3"}, request=req)
    new = mw.process_response(req, resp)
    assert isinstance(new, Request)
    assert new.meta["retry_times"] == 1
    assert new.meta[RETRY_DELAY] == 3.0
    assert stats(crawler)["dwscraper/retry/retry_after"] == 1


def test_500_backs_off_exponentially_then_gives_up():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    req = Request(PAGE)
    delays = []
    for _ in range(2):
        req = mw.process_response(req, Response(PAGE, status=500))
        assert isinstance(req, Request)
        delays.append(req.meta[RETRY_DELAY])
    final = Response(PAGE, status=500)
    assert mw.process_response(req, final) is final  # retries exhausted: the 500 goes on
    assert delays == [0.5, 1.0]


def test_429_retry_after_is_capped():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    req = Request(PAGE)
    new = mw.process_response(req, Response(PAGE, status=429, headers={"Retry-After": "86400"}))
    assert new.meta[RETRY_DELAY] == 30


def test_404_is_not_retried():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    resp = Response(PAGE, status=404)
    assert mw.process_response(Request(PAGE), resp) is resp


def test_truncated_2xx_is_retried_then_kept():
    crawler = make_crawler(RETRY_TIMES=1)
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    req = Request(PAGE)
    resp = Response(PAGE, body=b"<p>half", flags=["dataloss"])
    new = mw.process_response(req, resp)
    assert isinstance(new, Request)
    again = Response(PAGE, body=b"<p>half", flags=["dataloss"])
    assert mw.process_response(new, again) is again


def test_timeout_is_retried_with_backoff():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    new = mw.process_exception(Request(PAGE), DownloadTimeoutError("slow"))
    assert isinstance(new, Request)
    assert new.meta[RETRY_DELAY] == 0.5


def test_process_request_consumes_the_delay():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    req = Request(PAGE, meta={RETRY_DELAY: 0})
    assert asyncio.run(mw.process_request(req)) is None
    assert RETRY_DELAY not in req.meta


def test_dont_retry_is_respected():
    crawler = make_crawler()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    resp = Response(PAGE, status=503)
    assert mw.process_response(Request(PAGE, meta={"dont_retry": True}), resp) is resp


# --- charsets --------------------------------------------------------------------------------

WORDS = "Grüße aus Köln – „Zitat“ €"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (f"<p>{WORDS}</p>".encode("cp1252"), "text/html"),  # no charset at all
        ("<p>Grüße aus Köln</p>".encode("latin-1"), "text/html"),
        (f"<p>{WORDS}</p>".encode("cp1252"), "text/html; charset=utf-8"),  # wrong header
        (f"<p>{WORDS}</p>".encode(), "text/html; charset=iso-8859-1"),  # UTF-8 labelled Latin-1
        (f"<meta charset=iso-8859-1><p>{WORDS}</p>".encode(), "text/html"),  # lying meta
        (b"\xef\xbb\xbf" + f"<p>{WORDS}</p>".encode(), "text/html; charset=iso-8859-1"),
        (f"<p>{WORDS}</p>".encode("utf-16"), "text/html"),
    ],
)
def test_pages_are_decoded_with_their_real_charset(body, ctype):
    crawler = make_crawler()
    mw = AccountingMiddleware.from_crawler(crawler)
    req = scheduled(crawler, PAGE)
    out = mw.process_response(req, html_response(req, body=body, ctype=ctype.encode()))
    expected = "Grüße aus Köln" if b"Zitat" not in body.replace(b"\x00", b"") else WORDS
    assert expected in out.text
    assert "\ufffd" not in out.text and "Ã" not in out.text
    assert out.body == body  # bytes untouched (WARC records what was sent)


def test_choose_encoding_prefers_declared_legacy_charset_over_cp1252():
    body = "<p>Привет, мир</p>".encode("cp1251")
    assert charsets.choose(body, "windows-1251") == "cp1251"
    assert charsets.choose(body, None) == "cp1252"  # nothing better to go on
    assert charsets.choose(b"<p>ok</p>", "windows-1251") == "utf-8"
    cut = "<p>Grüße</p>".encode()[:-8]  # a multi-byte char cut at the end
    assert charsets.choose(cut[: cut.index(b"\xc3") + 1], None) == "utf-8"


def test_a_stray_bad_byte_in_a_utf8_page_does_not_make_it_windows_1252():
    from dwscraper.parsing import parse_article

    page = "<html><head><meta charset=utf-8></head><body><article><h1>标题</h1>"
    page += '<div class="rich-text"><p>德国之声中文网报道，柏林的天气很冷。</p></div>'
    body = (
        (page + "</article></body></html>")
        .encode()
        .replace("柏林".encode(), b"\x92" + "柏林".encode())
    )
    assert charsets.choose(body, "utf-8") == charsets.choose(body) == "utf-8"
    rec = parse_article(body, "https://www.dw.com/zh/x/a-1")
    assert rec["text"] == "德国之声中文网报道，\ufffd柏林的天气很冷。"
    # A Windows-1252 page with a UTF-8 label is still Windows-1252.
    latin = "<p>Übermut ist schön, sagt der Bürgermeister.</p>".encode("cp1252")
    assert charsets.choose(latin, "utf-8") == "cp1252"


# --- meta refresh ----------------------------------------------------------------------------


def _refresh_pages() -> list[bytes]:
    pad = b"<p>" + b"x" * 5000 + b"</p>"
    return [
        HTML,
        b'<html><head><META HTTP-EQUIV="Refresh" CONTENT="0; URL=/en/moved/a-2"></head></html>',
        b"<html><head><meta http-equiv='refresh' content='5;url=https://www.dw.com/en/y/a-3'>",
        b'<html><head><base href="/de/"><meta http-equiv="refresh" content="0;url=z/a-4">',
        b'<html><head><meta name="description" content="refresh your memory"></head></html>',
        b'<html><head><script><meta http-equiv="refresh" content="0;url=/a-5"></script>',
        b'<html><head><meta http-equiv="&#82;efresh" content="0;url=/en/e/a-6"></head></html>',
        b"<html><head>" + pad + b'<meta http-equiv="refresh" content="0;url=/a-7">',
        '<title>Ünïcödé</title><meta http-equiv="REFRESH" content="0;url=/a-8">'.encode(),
    ]


_REFRESH_UTF16 = '<html><head><meta http-equiv="refresh" content="0;url=/a-9">'.encode("utf-16")


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b, "text/html; charset=utf-8") for b in _refresh_pages()]
    + [(b, "text/html") for b in _refresh_pages()[:3]]
    + [
        (_REFRESH_UTF16, "text/html; charset=utf-16"),
        (_refresh_pages()[1], "text/html; charset=cp1252"),
    ],
)
def test_meta_refresh_precheck_decides_as_scrapy(body, ctype):
    """Our MetaRefreshMiddleware gives Scrapy's answer on every page, refresh or not."""
    from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as Scrapys

    from dwscraper.middlewares import MetaRefreshMiddleware

    crawler = make_crawler()
    ours, theirs = MetaRefreshMiddleware.from_crawler(crawler), Scrapys.from_crawler(crawler)
    out = []
    for mw in (ours, theirs):
        req = Request(f"{MIRROR}/en/x/a-1")
        resp = HtmlResponse(req.url, body=body, request=req, headers={"Content-Type": ctype})
        got = mw.process_response(req, resp)
        out.append(got.url if isinstance(got, Request) else got is resp)
    assert out[0] == out[1]


def test_meta_refresh_still_redirects():
    from dwscraper.middlewares import MetaRefreshMiddleware

    mw = MetaRefreshMiddleware.from_crawler(make_crawler())
    req = Request(f"{MIRROR}/en/x/a-1")
    body = _refresh_pages()[1]
    got = mw.process_response(req, HtmlResponse(req.url, body=body, request=req))
    assert isinstance(got, Request) and got.url == f"{MIRROR}/en/moved/a-2"
    plain = HtmlResponse(req.url, body=HTML, request=req)
    assert mw.process_response(req, plain) is plain
