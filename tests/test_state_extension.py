"""The run extension's verdict (exit codes), summary, progress line and pipeline order."""

from __future__ import annotations

import json

import pytest
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from dwscraper.accounting import Ledger
from dwscraper.commands.crawl import exit_code
from dwscraper.extensions import (
    EXIT_EMPTY,
    EXIT_ERRORS,
    EXIT_INTERRUPTED,
    EXIT_NO_SOURCE,
    EXIT_OK,
    EXIT_OUTPUT,
    RevisionPipeline,
    RunStateExtension,
    discovery_date,
    is_error_reason,
)
from dwscraper.middlewares import AccountingSpiderMiddleware
from dwscraper.state import StateStore


def make_ext(tmp_path, **settings):
    base = {
        "DW_OUTPUT_DIR": str(tmp_path / "out"),
        "DW_STATE_PATH": str(tmp_path / "out" / "state.sqlite3"),
    }
    base.update(settings)
    crawler = get_crawler(Spider, base)
    return RunStateExtension(crawler), crawler


def verdict(tmp_path, stats=None, reason="finished", **settings):
    ext, crawler = make_ext(tmp_path, **settings)
    for k, v in (stats or {}).items():
        crawler.stats.set_value(k, v)
    return ext, ext.finish(reason)


OK_SOURCES = {"dwscraper/sources/requested": 4, "dwscraper/sources/read": 4}


def test_clean_run_is_ok_and_summary_is_written(tmp_path):
    stats = {
        **OK_SOURCES,
        "dwscraper/pages/scheduled": 10,
        "dwscraper/pages/fetched": 10,
        "dwscraper/records/new": 7,
        "dwscraper/records/updated": 1,
        "dwscraper/records/unchanged": 2,
        "dwscraper/skipped/robots": 1,
        "dwscraper/skipped/http_404": 1,
        "dwscraper/discovery/not_modified": 40,
        "dwscraper/output/file": "out/dw-x.jsonl",
        "dwscraper/output/records": 8,
    }
    ext, s = verdict(tmp_path, stats)
    assert s["exit_code"] == EXIT_OK and s["status"] == "ok" and s["problems"] == []
    on_disk = json.loads((tmp_path / "out" / "last-run.json").read_text())
    assert on_disk == s
    assert (s["new"], s["updated"], s["unchanged"], s["errors"]) == (7, 1, 2, 0)
    assert s["skipped"] == {"http_404": 1, "not_modified": 40, "robots": 1}
    assert s["sources"] == {"requested": 4, "read": 4, "failed": 0}
    assert s["output_file"] == "out/dw-x.jsonl"
    line = ext.summary_line()
    assert "run ok (exit 0)" in line and "new 7, updated 1, unchanged 2" in line
    assert "not_modified=40" in line
    assert ext.crawler.stats.get_value("dwscraper/exit_code") == 0


def test_no_source_read_is_exit_3(tmp_path):
    stats = {"dwscraper/sources/requested": 4, "dwscraper/sources/error/http_503": 4}
    _, s = verdict(tmp_path, stats)
    assert (s["exit_code"], s["problems"]) == (EXIT_NO_SOURCE, ["no_source_read"])
    assert s["sources"]["failed"] == 4


def test_explicit_urls_without_sources_are_not_a_source_failure(tmp_path):
    _, s = verdict(tmp_path, {"dwscraper/pages/scheduled": 2, "dwscraper/pages/fetched": 2})
    assert s["exit_code"] == EXIT_OK


@pytest.mark.parametrize(
    ("failed", "code"),
    [(2, EXIT_OK), (3, EXIT_ERRORS)],  # 2/10 is at the limit, 3/10 over it
)
def test_error_ratio_over_limit_is_exit_4(tmp_path, failed, code):
    stats = {
        **OK_SOURCES,
        "dwscraper/pages/scheduled": 10,
        "dwscraper/skipped/http_503": failed,
        "dwscraper/skipped/http_404": 5,  # gone pages are skips, not failures
    }
    _, s = verdict(tmp_path, stats)
    assert s["exit_code"] == code
    assert s["errors"] == failed


def test_error_ratio_limit_is_a_setting(tmp_path):
    stats = {**OK_SOURCES, "dwscraper/pages/scheduled": 10, "dwscraper/skipped/timeout": 4}
    _, s = verdict(tmp_path, stats, DW_MAX_ERROR_RATIO=0.5)
    assert s["exit_code"] == EXIT_OK


@pytest.mark.parametrize(
    ("pages", "failed", "sources_failed", "code"),
    [
        (1, 0, 1, EXIT_OK),  # one of 8 sitemaps timed out in a run that found one article
        (2, 2, 0, EXIT_OK),  # two new articles, both timed out: retried next run
        (3, 3, 0, EXIT_ERRORS),  # three of three failed: a failing run however small
        (40, 2, 2, EXIT_OK),
        (40, 9, 0, EXIT_ERRORS),  # 9 of 40 pages
        (20, 10, 0, EXIT_ERRORS),  # half the pages, whatever the number of sources
        (40, 0, 3, EXIT_ERRORS),  # 3 of 8 sources failed
    ],
)
def test_pages_and_sources_are_judged_apart_and_need_a_few_failures(
    tmp_path, pages, failed, sources_failed, code
):
    stats = {
        "dwscraper/sources/requested": 8,
        "dwscraper/sources/read": 8 - sources_failed,
        "dwscraper/pages/scheduled": pages,
        "dwscraper/skipped/timeout": failed + sources_failed,
    }
    if sources_failed:
        stats["dwscraper/sources/error/timeout"] = sources_failed
    _, s = verdict(tmp_path, stats)
    assert s["exit_code"] == code
    assert s["errors"] == failed + sources_failed
    assert s["error_ratio"] == pytest.approx(failed / pages, abs=1e-4)


def test_gone_or_disallowed_sources_are_not_failures(tmp_path):
    stats = {
        "dwscraper/sources/requested": 10,
        "dwscraper/sources/read": 6,
        "dwscraper/sources/error/http_404": 2,
        "dwscraper/sources/error/robots": 2,
        "dwscraper/skipped/http_404": 2,
        "dwscraper/skipped/robots": 2,
        "dwscraper/pages/scheduled": 5,
    }
    assert verdict(tmp_path, stats)[1]["exit_code"] == EXIT_OK


def test_min_problem_pages_is_a_setting(tmp_path):
    stats = {"dwscraper/pages/scheduled": 1, "dwscraper/skipped/timeout": 1}  # urls=
    assert verdict(tmp_path, stats)[1]["exit_code"] == EXIT_OK
    _, s = verdict(tmp_path / "1", stats, DW_MIN_PROBLEM_PAGES=1)
    assert s["exit_code"] == EXIT_ERRORS


def test_error_reasons():
    assert is_error_reason("http_503") and is_error_reason("http_403")
    assert is_error_reason("timeout") and is_error_reason("parse_error")
    assert not is_error_reason("http_404") and not is_error_reason("robots")
    assert not is_error_reason("duplicate") and not is_error_reason("not_html")


def test_empty_ratio_over_limit_is_exit_6(tmp_path):
    ext, crawler = make_ext(tmp_path)
    for k, v in OK_SOURCES.items():
        crawler.stats.set_value(k, v)
    ext.article_ids = {f"a-{i}" for i in range(10)}
    for i in range(7):
        ext.item_seen({"id": f"a-{i}", "title": "T", "text": "body"})
    ext.item_seen({"id": "a-8", "title": "T", "text": "  "})  # no text
    ext.item_seen({"id": "a-9", "title": None, "text": "body"})  # no title
    ext.item_seen({"id": "av-1", "title": "video", "text": "x"})  # not an article page
    s = ext.finish("finished")
    assert s["exit_code"] == EXIT_EMPTY and "empty_ratio" in s["problems"]
    assert s["empty_ratio"] == pytest.approx(0.3)


def test_one_empty_page_of_three_is_not_a_redesign(tmp_path):
    ext, _ = make_ext(tmp_path)
    ext.article_ids = {f"a-{i}" for i in range(3)}
    for i in range(2):
        ext.item_seen({"id": f"a-{i}", "title": "T", "text": "body"})
    s = ext.finish("finished")
    assert s["exit_code"] == EXIT_OK and s["empty_ratio"] == pytest.approx(1 / 3, abs=1e-4)


def test_an_article_redirected_to_a_section_page_is_not_an_article_page(tmp_path):
    ext, crawler = make_ext(tmp_path)
    moved = Request("https://www.dw.com/en/old-story/a-1001", meta={"dw_id": "a-1001"})
    ext.response_received(
        HtmlResponse("https://www.dw.com/en/germany/s-1432", body=b"", request=moved), moved, None
    )
    renamed = Request("https://www.dw.com/en/old-slug/a-1002", meta={"dw_id": "a-1002"})
    ext.response_received(
        HtmlResponse("https://www.dw.com/en/new-slug/a-1002", body=b"", request=renamed),
        renamed,
        None,
    )
    assert ext.article_ids == {"a-1002"}
    assert crawler.stats.get_value("dwscraper/pages/fetched") == 2


def test_short_link_pages_count_by_the_article_they_land_on(tmp_path):
    ext, crawler = make_ext(tmp_path)
    short = Request("https://p.dw.com/p/4boRv", meta={"dw_permalink": True})
    landed = HtmlResponse("https://www.dw.com/en/story/a-3003", body=b"", request=short)
    ext.response_received(landed, short, None)
    assert ext.article_ids == {"a-3003"}
    assert crawler.stats.get_value("dwscraper/pages/fetched") == 1


def test_good_records_of_uncounted_pages_do_not_hide_empty_ones(tmp_path):
    ext, _ = make_ext(tmp_path)
    ext.article_ids = {"a-1", "a-2", "a-3"}  # fetched, and all three came out empty
    for i in (5, 6, 7):
        ext.item_seen({"id": f"a-{i}", "title": "T", "text": "body"})
    s = ext.finish("finished")
    assert s["exit_code"] == EXIT_EMPTY and s["empty_ratio"] == 1.0


def test_empty_ratio_within_limit_is_ok(tmp_path):
    ext, _ = make_ext(tmp_path)
    ext.article_ids = {f"a-{i}" for i in range(5)}
    for i in range(4):
        ext.item_seen({"id": f"a-{i}", "title": "T", "text": "body"})
    assert ext.finish("finished")["exit_code"] == EXIT_OK


def test_output_error_wins_and_interrupt_is_exit_7(tmp_path):
    stats = {"dwscraper/sources/requested": 4, "dwscraper/output/error": "No space left"}
    _, s = verdict(tmp_path, stats)
    assert s["exit_code"] == EXIT_OUTPUT
    assert set(s["problems"]) == {"output_unwritable", "no_source_read"}
    _, s = verdict(tmp_path / "2", OK_SOURCES, reason="shutdown")
    assert (s["exit_code"], s["problems"]) == (EXIT_INTERRUPTED, ["interrupted"])


def test_command_exit_code_mapping(tmp_path):
    _, crawler = make_ext(tmp_path)
    assert exit_code(crawler, bootstrap_failed=True) == 1  # never got to a verdict
    assert exit_code(None, bootstrap_failed=False) == 0
    crawler.stats.set_value("dwscraper/output/error", "read-only file system")
    assert exit_code(crawler, bootstrap_failed=True) == EXIT_OUTPUT
    crawler.stats.set_value("dwscraper/exit_code", EXIT_EMPTY)
    assert exit_code(crawler, bootstrap_failed=False) == EXIT_EMPTY


def test_exit_code_of_a_crawl_that_never_started():
    # Scrapy 2.13+ raises on Crawler.stats before the crawl starts; that must not become a
    # second traceback on top of the start-up failure.
    from scrapy.crawler import Crawler

    crawler = Crawler(Spider, get_project_settings())
    with pytest.raises(RuntimeError):
        _ = crawler.stats
    assert exit_code(crawler, bootstrap_failed=True) == 1


def test_progress_line_counts(tmp_path):
    ext, crawler = make_ext(tmp_path)
    for k, v in {
        "dwscraper/pages/fetched": 30,
        "dwscraper/records/new": 20,
        "dwscraper/records/unchanged": 5,
        "dwscraper/skipped/robots": 2,
        "dwscraper/skipped/timeout": 1,
    }.items():
        crawler.stats.set_value(k, v)
    line = ext.progress_line()
    assert line.startswith("progress: 30 pages done, 0 queued, ")
    assert "new 20, updated 0, unchanged 5, skipped 3, errors 1" in line


def test_summary_counts_records_by_extractor(tmp_path):
    ext, crawler = make_ext(tmp_path)
    for extractor in ("dw-new", "dw-new", "dw-old", "fallback", None):
        ext.item_scraped({"id": "a-1", "extractor": extractor})
    s = ext.finish("finished")
    assert s["fallback"] == 1
    assert s["extractors"] == {"dw-new": 2, "dw-old": 1, "dw-state": 0, "fallback": 1, "none": 1}
    assert crawler.stats.get_value("dwscraper/extractor/fallback") == 1
    assert crawler.stats.get_value("dwscraper/extractor/dw-new") == 2
    assert "fallback 1," in ext.summary_line()
    on_disk = json.loads((tmp_path / "out" / "last-run.json").read_text())
    assert on_disk["fallback"] == 1 and on_disk["extractors"]["dw-old"] == 1


def test_summary_lists_every_extractor_even_when_unused(tmp_path):
    _, s = verdict(tmp_path, OK_SOURCES)
    assert s["fallback"] == 0
    assert s["extractors"] == {"dw-new": 0, "dw-old": 0, "dw-state": 0, "fallback": 0}


PAGE_URL = "https://www.dw.com/en/invented-story/a-1001"


def scrapy_spider_error(ext, crawler, exc: Exception, response) -> None:
    """What Scrapy's Scraper.handle_spider_error does once no middleware handled it."""
    ext.spider_error(Failure(exc), response=response, spider=None)
    crawler.stats.inc_value("spider_exceptions/count")
    crawler.stats.inc_value(f"spider_exceptions/{type(exc).__name__}")


def ticketed_response(crawler) -> tuple[Ledger, HtmlResponse]:
    ledger = Ledger.of(crawler)
    request = Request(PAGE_URL)
    ledger.open(request)
    crawler.stats.set_value("dwscraper/pages/scheduled", 1)
    return ledger, HtmlResponse(PAGE_URL, body=b"<html></html>", request=request)


def test_callback_exception_is_one_error_not_two(tmp_path):
    """The ledger's skipped/parse_error and Scrapy's spider_exceptions/count are one failure."""
    ext, crawler = make_ext(tmp_path)
    _, response = ticketed_response(crawler)
    AccountingSpiderMiddleware(crawler).process_spider_exception(response, KeyError("x"))
    scrapy_spider_error(ext, crawler, KeyError("x"), response)
    s = ext.finish("finished")
    assert crawler.stats.get_value("spider_exceptions/count") == 1
    assert s["skipped"] == {"parse_error": 1}
    assert (s["errors"], s["error_ratio"]) == (1, 1.0)


def test_exception_the_ledger_did_not_count_is_still_an_error(tmp_path):
    ext, crawler = make_ext(tmp_path)  # no ticket: accounting off, or an errback that raised
    crawler.stats.set_value("dwscraper/pages/scheduled", 10)
    scrapy_spider_error(ext, crawler, ValueError("x"), HtmlResponse(PAGE_URL, body=b""))
    scrapy_spider_error(ext, crawler, ValueError("y"), Failure(ValueError("download")))
    s = ext.finish("finished")
    assert s["skipped"] == {} and s["errors"] == 2


def test_parser_failure_without_exception_counts_once(tmp_path):
    # pages.record_from_page catches the parser's exception: a skip, no spider exception
    stats = {**OK_SOURCES, "dwscraper/pages/scheduled": 4, "dwscraper/skipped/parse_error": 1}
    _, s = verdict(tmp_path, stats)
    assert s["errors"] == 1


def test_item_error_is_counted_once(tmp_path):
    ext, crawler = make_ext(tmp_path)
    ledger, response = ticketed_response(crawler)
    failure = Failure(RuntimeError("pipeline bug"))
    ext.item_error({"id": "a-1001"}, response=response, failure=failure)  # either order
    ledger._on_item_error({"id": "a-1001"}, response=response, failure=failure)
    ext.item_error({"id": "a-1002"}, response=None, failure=failure)  # no URL to skip
    s = ext.finish("finished")
    assert s["skipped"] == {"item_error": 1}
    assert s["errors"] == 2


def test_unwritable_output_is_found_before_the_run(tmp_path):
    (tmp_path / "file").write_text("x")
    ext, _ = make_ext(tmp_path, DW_OUTPUT_DIR=str(tmp_path / "file" / "out"))
    ext._preflight_output()
    assert ext.problems == ["output_unwritable"]


def test_discovery_date_is_the_newest_of_date_and_lastmod():
    class D:
        date = "2024-01-30T10:00:00Z"
        lastmod = "2024-02-02T08:00:00+02:00"

    assert discovery_date(D()) == "2024-02-02T06:00:00Z"
    D.lastmod = None
    assert discovery_date(D()) == "2024-01-30T10:00:00Z"


def test_revision_pipeline_numbers_and_drops_unchanged(tmp_path):
    ext, crawler = make_ext(tmp_path)
    ext.store = StateStore(tmp_path / "s.sqlite3")
    pipe = RevisionPipeline(crawler, ext)
    item = {"id": "a-1", "content_hash": "h1", "fetched_at": "2024-01-01T00:00:00Z"}
    assert pipe.process_item(dict(item))["revision"] == 1
    ext.store.mark_written("a-1", revision=1, content_hash="h1")
    from scrapy.exceptions import DropItem

    with pytest.raises(DropItem, match=r"^unchanged: "):
        pipe.process_item(dict(item))
    assert crawler.stats.get_value("dwscraper/records/unchanged") == 1
    assert pipe.process_item({**item, "content_hash": "h2"})["revision"] == 2
    ext.store.close()


def test_state_commit_closes_before_the_writer_renames():
    """Scrapy calls close_spider in reverse pipeline order; the design relies on it."""
    settings = get_project_settings()
    order = settings.getdict("ITEM_PIPELINES")
    writer = order["dwscraper.pipelines.JsonLinesWriterPipeline"]
    assert order["dwscraper.extensions.StateCommitPipeline"] > writer
    assert order["dwscraper.extensions.RevisionPipeline"] < writer

    calls: list[str] = []

    class Writer:
        def close_spider(self):
            calls.append("writer")

    class Commit:
        def close_spider(self):
            calls.append("commit")

    mgr = ItemPipelineManager(Writer(), Commit(), crawler=get_crawler())
    for method in mgr.methods["close_spider"]:  # the order _process_parallel calls them
        method()
    assert calls == ["commit", "writer"]


def test_without_state_every_record_is_revision_1(tmp_path):
    crawler = get_crawler(Spider, {"DW_STATE_PATH": ""})
    pipe = RevisionPipeline(crawler, None)
    assert pipe.process_item({"id": "a-1", "content_hash": "h"})["revision"] == 1
    ext, _ = make_ext(tmp_path, DW_STATE_PATH="")
    assert ext.state_path is None and ext.summary_path == tmp_path / "out" / "last-run.json"


@pytest.mark.parametrize(
    ("reason", "code"),
    [("start_error", 1), ("closespider_errorcount", EXIT_ERRORS), ("closespider_timeout", 0)],
)
def test_finish_reasons(tmp_path, reason, code):
    _, s = verdict(tmp_path, OK_SOURCES, reason=reason)
    assert s["exit_code"] == code


def test_extension_stays_out_of_non_discovery_spiders(tmp_path):
    from scrapy.exceptions import NotConfigured

    crawler = get_crawler(Spider, {"DW_STATE_PATH": str(tmp_path / "s.sqlite3")})
    crawler.spider = Spider("other")
    with pytest.raises(NotConfigured):
        RunStateExtension.from_crawler(crawler)
    assert not (tmp_path / "s.sqlite3.lock").exists()


def test_a_state_write_failure_is_exit_5(tmp_path):
    ext, crawler = make_ext(tmp_path)
    ext.store = StateStore(tmp_path / "s.sqlite3")
    ext.store.conn.execute("DROP TABLE content")  # the store breaks under the run
    rec = {"id": "a-1", "revision": 1, "content_hash": "h", "fetched_at": "2024-01-01T00:00:00Z"}
    ext.record_written(rec, rec, path=None)
    for k, v in OK_SOURCES.items():
        crawler.stats.set_value(k, v)
    s = ext.finish("finished")
    assert (s["exit_code"], s["problems"]) == (EXIT_OUTPUT, ["state_unwritable"])
    ext.store.close()


def test_refetch_argument_values():
    from dwscraper.extensions import parse_refetch

    assert parse_refetch("all") and parse_refetch("ALL ")
    assert not parse_refetch(None) and not parse_refetch("")
    with pytest.raises(ValueError, match="refetch must be 'all'"):
        parse_refetch("bogus")


def test_bad_refetch_is_a_usage_error_before_anything_runs(tmp_path):
    import subprocess
    import sys

    from dwsite import REPO

    state = tmp_path / "s.sqlite3"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "dw", "-a", "refetch=bogus",
         "-s", f"DW_STATE_PATH={state}"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "refetch must be 'all'" in proc.stderr
    assert not state.exists() and not (tmp_path / "s.sqlite3.lock").exists()


def test_project_stats_class_keeps_scrapys_stats_without_the_shim():
    """STATS_CLASS: Scrapy's MemoryStatsCollector, same stats, no per-access wrapper."""
    from scrapy.statscollectors import MemoryStatsCollector

    name = get_project_settings()["STATS_CLASS"]
    crawler = get_crawler(Spider, {"STATS_CLASS": name})
    stats = crawler.stats
    assert isinstance(stats, MemoryStatsCollector)
    assert type(stats).__getattribute__ is object.__getattribute__
    stats.inc_value("a")
    stats.inc_value("a", 2)
    stats.inc_value("a", spider=None)  # the deprecated argument is still accepted
    stats.max_value("m", 3)
    stats.max_value("m", 1)
    stats.set_value("s", "x")
    assert stats.get_stats() == {"a": 4, "m": 3, "s": "x"}
    assert stats.get_value("missing", 7) == 7


@pytest.mark.parametrize(
    ("level", "logged"), [("INFO", False), ("WARNING", False), ("DEBUG", True)]
)
def test_log_formatter_builds_per_page_debug_lines_only_when_logged(level, logged):
    import logging

    from scrapy.exceptions import DropItem

    from dwscraper.extensions import LogFormatter

    crawler = get_crawler(Spider, {"LOG_LEVEL": level})
    spider = Spider.from_crawler(crawler, name="dw")
    fmt = LogFormatter.from_crawler(crawler)
    request = Request("https://www.dw.com/en/x/a-1")
    response = HtmlResponse(request.url, body=b"<html></html>", request=request)
    assert (fmt.crawled(request, response, spider) is not None) is logged
    assert (fmt.scraped({"id": "a-1"}, response, spider) is not None) is logged
    dropped = fmt.dropped({"id": "a-1"}, DropItem("dropped x: y"), response, spider)
    assert dropped["level"] == logging.WARNING  # everything else is Scrapy's own
    unchanged = DropItem("unchanged: x", log_level="DEBUG")
    assert (fmt.dropped({"id": "a-1"}, unchanged, response, spider) is not None) is logged


def test_project_log_formatter_is_ours():
    assert get_project_settings()["LOG_FORMATTER"] == "dwscraper.extensions.LogFormatter"


def test_pages_not_archived_are_exit_5_with_the_count_in_the_summary(tmp_path):
    stats = {
        **OK_SOURCES,
        "dwscraper/pages/scheduled": 5,
        "dwscraper/warc/records": 3,
        "dwscraper/warc/write_error": 2,
    }
    _, s = verdict(tmp_path, stats)
    assert (s["exit_code"], s["problems"]) == (EXIT_OUTPUT, ["warc_unwritable"])
    assert s["warc"] == {"records": 3, "write_errors": 2}
