"""Pipelines: the pure normalize/validate functions and the Scrapy adapters around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from dwscraper import record as rec_mod
from dwscraper.pipelines import (
    DedupePipeline,
    JsonLinesWriterPipeline,
    NormalizePipeline,
    OutputError,
    ValidatePipeline,
    missing_required,
    normalize_record,
    output_closed,
    output_name,
    record_written,
    repair_record,
    schema_errors,
)
from dwscraper.spiders.dw import DwSpider


def rec(**kw):
    r = rec_mod.new_record()
    r.update(
        id="a-1001",
        url="https://www.dw.com/en/harbor-story/a-1001",
        language="en",
        page_type="article",
        title="Harbor story",
        text="First paragraph.\n\nSecond paragraph.",
        word_count=4,
    )
    r.update(kw)
    return r


# --- normalize_record ---------------------------------------------------------------------


def test_dates_become_rfc3339_utc_and_raw_is_kept():
    r = normalize_record(rec(published="2024-01-30T15:13:12.269+01:00", published_raw="30.01.2024"))
    assert r["published"] == "2024-01-30T14:13:12Z"
    assert r["published_raw"] == "30.01.2024"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-30T14:13:12Z", "2024-01-30T14:13:12Z"),
        ("2024-01-30T15:13:12+01:00", "2024-01-30T14:13:12Z"),
        ("2024-01-30T23:13:12-01:00", "2024-01-31T00:13:12Z"),
        ("2024-01-30T24:00:00Z", "2024-01-31T00:00:00Z"),  # dateutil's reading, kept
        ("2024-02-30T10:00:00Z", None),
        ("2024-01-30T14:13:60Z", None),
    ],
)
def test_instants_read_by_the_fast_path_as_by_dateutil(value, expected):
    """normalize.to_rfc3339 reads plain RFC 3339 instants without dateutil: same result."""
    from dwscraper.normalize import to_rfc3339

    assert to_rfc3339(value) == expected


def test_day_only_date_takes_the_sitemap_time_on_the_same_day():
    r = normalize_record(rec(published="30.01.2024", _discovered_published="2024-01-30T11:13:12Z"))
    assert r["published"] == "2024-01-30T11:13:12Z"


def test_day_only_date_never_gets_a_time_from_another_day_or_midnight():
    r = normalize_record(rec(published="2024-01-30", _discovered_published="2024-01-31T01:00:00Z"))
    assert r["published"] == "2024-01-30"
    r = normalize_record(rec(published="2024-01-30", _discovered_published=None))
    assert r["published"] == "2024-01-30"


def test_a_lastmod_never_times_the_publication_day():
    # An archive sitemap's lastmod (and the date Discovery falls back to) is when the page
    # last changed, not when it was published.
    r = normalize_record(rec(published="2019-05-03", _discovered_date="2019-05-03T21:47:00Z"))
    assert r["published"] == "2019-05-03"


def test_modified_refined_from_lastmod():
    r = normalize_record(rec(modified="2024-02-01", _discovered_lastmod="2024-02-01T08:00:00Z"))
    assert r["modified"] == "2024-02-01T08:00:00Z"


def test_urls_canonical_and_ids_filled():
    r = normalize_record(
        rec(id=None, language=None, page_type=None, url="http://127.0.0.1:8080/de/x/a-5?maca=1")
    )
    assert r["url"] == "https://www.dw.com/de/x/a-5"
    assert (r["id"], r["language"], r["page_type"]) == ("a-5", "de", "article")


def test_unicode_nfc_whitespace_and_empty_strings():
    r = normalize_record(
        rec(
            title="  Cafe\u0301   in\u00a0town ",
            teaser="",
            text="  one   two \n\n\n\n three\u200b ",
            authors=["Jane  Doe", "Jane Doe", "", None],
            topics="Climate",
            section="   ",
        )
    )
    assert r["title"] == "Café in town"
    assert r["teaser"] is None and r["section"] is None
    assert r["text"] == "one two\n\nthree"
    assert r["authors"] == ["Jane Doe"]
    assert r["topics"] == ["Climate"]


def test_image_cleaned_or_null():
    r = normalize_record(rec(image={"url": None, "caption": " ", "credit": None}))
    assert r["image"] is None
    r = normalize_record(
        rec(image={"url": "https://static.dw.com/image/1_6.jpg", "caption": "A  b"})
    )
    assert r["image"] == {
        "url": "https://static.dw.com/image/1_6.jpg",
        "caption": "A b",
        "credit": None,
    }


def test_fetched_at_and_content_hash_set():
    r = normalize_record(rec(_fetched_at="2024-02-02T10:00:00Z", content_hash="sha256:stale"))
    assert r["fetched_at"] == "2024-02-02T10:00:00Z"
    assert r["content_hash"] == rec_mod.content_hash(r) != "sha256:stale"
    r2 = normalize_record(rec(title="Another title"))
    assert r2["content_hash"] != r["content_hash"]
    assert r2["fetched_at"]  # now, when the spider gave none


def test_normalize_is_idempotent():
    r = normalize_record(
        rec(published="30.01.2024", _discovered_published="2024-01-30T11:13:12Z", title=" a  b ")
    )
    assert normalize_record(r) == r


def test_word_count_computed_when_missing():
    assert normalize_record(rec(word_count=None))["word_count"] == 4


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "url", "text"])
def test_missing_required(field):
    assert missing_required(rec(**{field: None})) == field
    assert missing_required(rec(**{field: "  "})) == field
    assert missing_required(rec()) is None


def test_schema_accepts_a_normalized_record_and_names_violations():
    assert schema_errors(normalize_record(rec())) == []
    bad = normalize_record(rec())
    bad["published"] = "2024-01-30T00:00:00+02:00"
    bad["authors"] = "Jane"
    errors = schema_errors(bad)
    assert any(e.startswith("published") for e in errors)
    assert any(e.startswith("authors") for e in errors)


# --- adapters -----------------------------------------------------------------------------


def make_crawler(tmp_path: Path, **settings):
    base = {"DW_OUTPUT_DIR": str(tmp_path / "out")}
    base.update(settings)
    return get_crawler(DwSpider, base)


def test_validate_pipeline_drops_with_counted_reason(tmp_path):
    crawler = make_crawler(tmp_path)
    p = ValidatePipeline.from_crawler(crawler)
    good = normalize_record(rec())
    assert p.process_item(good) is good
    with pytest.raises(DropItem):
        p.process_item(normalize_record(rec(text=None)))
    bad = normalize_record(rec())
    bad["id"] = "s-123"
    with pytest.raises(DropItem):
        p.process_item(bad)
    assert crawler.stats.get_value("dwscraper/dropped/no_text") == 1
    assert crawler.stats.get_value("dwscraper/dropped/schema") == 1


def test_a_bad_optional_field_costs_the_field_not_the_record(tmp_path):
    crawler = make_crawler(tmp_path)
    p = ValidatePipeline.from_crawler(crawler)
    bad = normalize_record(rec(authors=["Jane Doe"]))
    bad["page_type"] = "podcast"  # not one of DW's page types
    bad["keywords"] = "one string"  # not a list
    out = p.process_item(bad)
    assert out["page_type"] is None and out["keywords"] == []
    assert out["authors"] == ["Jane Doe"] and out["text"] == bad["text"]
    assert out["content_hash"] == rec_mod.content_hash(out)
    assert schema_errors(out) == []
    assert crawler.stats.get_value("dwscraper/emptied/page_type") == 1
    assert crawler.stats.get_value("dwscraper/emptied/keywords") == 1
    assert crawler.stats.get_value("dwscraper/dropped/schema") is None
    # A required field cannot be emptied: still dropped.
    worse = normalize_record(rec())
    worse["page_type"], worse["word_count"] = "podcast", -1
    assert repair_record(dict(worse)) is None
    with pytest.raises(DropItem):
        p.process_item(worse)


@pytest.mark.parametrize(
    "given",
    ["http://p.dw.com/p/3JkPq", " https://p.dw.com/p/3JkPq ", "http://dw.de/p/3JkPq"],
)
def test_short_url_has_one_form(given):
    assert normalize_record(rec(short_url=given))["short_url"] == "https://p.dw.com/p/3JkPq"
    assert normalize_record(rec(short_url="https://p.dw.com/p/3Jk_Pq"))["short_url"] is None


def test_normalize_pipeline_keeps_private_keys_for_later_stages(tmp_path):
    p = NormalizePipeline.from_crawler(make_crawler(tmp_path))
    out = p.process_item(rec(_source="rss:en", _discovered_date="2024-01-30T10:00:00Z"))
    assert out["_source"] == "rss:en"
    assert out["fetched_at"]


def test_dedupe_pipeline_one_record_per_id(tmp_path):
    crawler = make_crawler(tmp_path)
    p = DedupePipeline.from_crawler(crawler)
    p.process_item(rec())
    with pytest.raises(DropItem):
        p.process_item(rec(url="https://www.dw.com/en/other-slug/a-1001"))
    p.process_item(rec(id="a-1002", url="https://www.dw.com/en/x/a-1002"))
    assert crawler.stats.get_value("dwscraper/dropped/duplicate") == 1


def test_writer_part_file_flushed_per_line_then_renamed(tmp_path):
    crawler = make_crawler(tmp_path)
    seen = []

    def on_written(item, record, path, line_no):
        # The line is on disk when the signal fires: the state store may commit now.
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        seen.append((line_no, json.loads(lines[line_no - 1])["id"], item.get("_source")))

    closed = []

    def on_closed(path, count):
        closed.append((path, count))

    crawler.signals.connect(on_written, signal=record_written)
    crawler.signals.connect(on_closed, signal=output_closed)
    w = JsonLinesWriterPipeline.from_crawler(crawler)
    w.open_spider()
    assert w.part_path.name.endswith(".jsonl.part") and w.part_path.exists()
    out = w.process_item(normalize_record(rec(_source="news-sitemap:en")))
    assert list(out) == list(rec_mod.FIELDS)  # ordered, private keys gone (for -O feeds)
    w.process_item(normalize_record(rec(id="a-1002", url="https://www.dw.com/en/x/a-1002")))
    assert seen == [(1, "a-1001", "news-sitemap:en"), (2, "a-1002", None)]
    assert not w.path.exists()
    w.close_spider()
    assert not w.part_path.exists() and w.path.exists()
    assert closed == [(w.path, 2)]
    lines = w.path.read_text(encoding="utf-8").splitlines()
    assert [list(json.loads(x)) for x in lines] == [list(rec_mod.FIELDS)] * 2
    assert "_source" not in lines[0]


def test_writer_name_from_run_start_only():
    from datetime import UTC, datetime

    assert output_name(datetime(2024, 1, 30, 14, 13, 12, tzinfo=UTC)) == "dw-20240130T141312Z.jsonl"


def test_writer_two_runs_in_the_same_second_do_not_collide(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    import dwscraper.pipelines as pipelines_mod

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2024, 1, 30, 14, 13, 12, tzinfo=UTC)

    monkeypatch.setattr(pipelines_mod, "datetime", Frozen)
    paths = []
    for _ in range(3):
        w = JsonLinesWriterPipeline.from_crawler(make_crawler(tmp_path))
        w.open_spider()
        w.process_item(normalize_record(rec()))
        w.close_spider()
        paths.append(w.path)
    assert len(set(paths)) == 3 and all(p.exists() for p in paths)
    # Name order is run order, for readers that glob and sort.
    assert sorted(paths) == paths


def test_writer_empty_run_leaves_no_file(tmp_path):
    crawler = make_crawler(tmp_path)
    w = JsonLinesWriterPipeline.from_crawler(crawler)
    w.open_spider()
    w.close_spider()
    assert list((tmp_path / "out").iterdir()) == []


def test_writer_disabled_with_empty_output_dir(tmp_path):
    w = JsonLinesWriterPipeline.from_crawler(make_crawler(tmp_path, DW_OUTPUT_DIR=""))
    w.open_spider()
    out = w.process_item(normalize_record(rec(_source="x")))
    w.close_spider()
    assert "_source" not in out
    assert not (tmp_path / "out").exists()


def test_writer_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    w = JsonLinesWriterPipeline.from_crawler(make_crawler(tmp_path, DW_OUTPUT_DIR=str(blocker)))
    with pytest.raises(OutputError, match="cannot write output"):
        w.open_spider()


class _DiskFull:
    """A file that accepts `room` more bytes, writes part of the next chunk, then ENOSPC."""

    def __init__(self, fp, room):
        self.fp, self.room = fp, room

    def write(self, data):
        if len(data) > self.room:
            self.fp.write(data[: self.room // 2])
            self.fp.flush()
            raise OSError(28, "No space left on device")
        self.room -= len(data)
        return self.fp.write(data)

    def __getattr__(self, name):
        return getattr(self.fp, name)


def test_writer_disk_full_leaves_only_whole_lines(tmp_path):
    crawler = make_crawler(tmp_path)
    w = JsonLinesWriterPipeline.from_crawler(crawler)
    w.open_spider()
    first = w.process_item(normalize_record(rec()))
    line_len = len(json.dumps(first, ensure_ascii=False, separators=(",", ":"))) + 1
    w._writer._fp = _DiskFull(w._fp, room=line_len // 3)
    with pytest.raises(DropItem):
        w.process_item(normalize_record(rec(id="a-1002", url="https://www.dw.com/en/x/a-1002")))
    with pytest.raises(DropItem):  # the run is stopping: later records are refused, not lost
        w.process_item(normalize_record(rec(id="a-1003", url="https://www.dw.com/en/x/a-1003")))
    w.close_spider()
    lines = w.path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert [json.loads(x)["id"] for x in lines] == ["a-1001"]
    assert lines[-1].endswith("\n")
    assert crawler.stats.get_value("dwscraper/output/error")
    assert crawler.stats.get_value("dwscraper/dropped/output_error") == 2
