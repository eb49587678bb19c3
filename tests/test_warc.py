"""WARC writing and reading (dwscraper.warc) and the Scrapy middlewares, without a crawl."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from scrapy import Request
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from dwscraper.warc import (
    FETCHED_URI_HEADER,
    RotatingWarcWriter,
    WarcReadError,
    is_warc,
    iter_archived_pages,
    iter_responses,
    read_metadata,
)
from dwscraper.warc_middleware import WarcCaptureMiddleware, WarcItemMiddleware, target_uri

START = datetime(2024, 1, 30, 14, 13, 12, tzinfo=UTC)
MIRROR = "http://127.0.0.1:8123"
PAGE = (
    b"<!doctype html><html><head><title>T</title></head><body><p>Invented text.</p></body></html>"
)


def write_page(w: RotatingWarcWriter, n: int, *, body: bytes = PAGE, status: int = 200, **kw):
    headers = kw.pop("headers", [("Content-Type", "text/html; charset=utf-8")])
    path = kw.pop("path", f"/en/invented-story-{n}/a-{1000 + n}")
    return w.write_exchange(
        target_uri=f"https://www.dw.com{path}",
        fetched_uri=f"{MIRROR}{path}",
        when=kw.pop("when", START),
        method="GET",
        request_headers=[("User-Agent", "dwscraper-test")],
        request_body=b"",
        status=status,
        response_headers=headers,
        body=body,
        **kw,
    )


def records(path: Path) -> list:
    with path.open("rb") as fh:
        return [
            (r.rec_type, dict(r.rec_headers.headers), r.content_stream().read())
            for r in ArchiveIterator(fh)
        ]


def test_exchange_round_trip_keeps_headers_and_urls(tmp_path):
    w = RotatingWarcWriter(tmp_path, START)
    body = gzip.compress(PAGE)
    written = write_page(
        w,
        1,
        body=body,
        headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),  # already undone by Scrapy: must not be kept
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
        ip_address="127.0.0.1",
    )
    w.close()
    assert written.warc_file == "dw-20240130T141312Z-00000.warc.gz"
    recs = records(tmp_path / written.warc_file)
    assert [r[0] for r in recs] == ["warcinfo", "response", "request"]
    resp_h, req_h = recs[1][1], recs[2][1]
    assert resp_h["WARC-Record-ID"] == written.record_id
    assert resp_h["WARC-Target-URI"] == "https://www.dw.com/en/invented-story-1/a-1001"
    assert resp_h[FETCHED_URI_HEADER] == f"{MIRROR}/en/invented-story-1/a-1001"
    assert resp_h["WARC-Date"] == "2024-01-30T14:13:12Z" == written.warc_date
    assert resp_h["WARC-IP-Address"] == "127.0.0.1"
    assert req_h["WARC-Concurrent-To"] == written.record_id
    # warcio decodes the stored gzip body itself: the raw bytes were kept as received.
    assert recs[1][2] == PAGE
    with (tmp_path / written.warc_file).open("rb") as fh:
        resp = next(r for r in ArchiveIterator(fh) if r.rec_type == "response")
        http = resp.http_headers
        assert http.statusline == "200 OK"
        assert http.get_header("Content-Encoding") == "gzip"
        assert http.get_header("Transfer-Encoding") is None
        assert [v for k, v in http.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
        assert resp.raw_stream.read() == body
    with (tmp_path / written.warc_file).open("rb") as fh:
        req = next(r for r in ArchiveIterator(fh) if r.rec_type == "request")
        assert req.http_headers.protocol == "GET"
        assert req.http_headers.statusline.startswith("/en/invented-story-1/a-1001 ")
        assert req.http_headers.get_header("Host") == "127.0.0.1:8123"
        assert req.http_headers.get_header("User-Agent") == "dwscraper-test"


def test_an_already_compressed_body_is_stored_not_deflated_again(tmp_path):
    """Content-Encoding bodies go into their gzip member as they are (level 0); others are
    deflated. The body below is compressible, so the file size tells which happened."""
    body = b"a" * 20000
    w = RotatingWarcWriter(tmp_path / "enc", START)
    write_page(w, 1, body=body, headers=[("Content-Encoding", "gzip")])
    w.close()
    plain = RotatingWarcWriter(tmp_path / "plain", START)
    write_page(plain, 1, body=body, headers=[("Content-Type", "text/html")])
    plain.close()
    assert w.files[0].stat().st_size > len(body) > 10 * plain.files[0].stat().st_size
    resp = next(r for r in records(w.files[0]) if r[0] == "response")
    assert resp[2] == body and resp[1]["WARC-Payload-Digest"].startswith("sha1:")


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
        (None, lambda b: b),
    ],
)
def test_archived_pages_are_decoded(tmp_path, coding, encode):
    w = RotatingWarcWriter(tmp_path, START)
    headers = [("Content-Type", "text/html")]
    if coding:
        headers.append(("Content-Encoding", coding))
    written = write_page(w, 1, body=encode(PAGE), headers=headers)
    w.close()
    pages = list(iter_archived_pages(tmp_path / written.warc_file))
    assert len(pages) == 1
    page = pages[0]
    assert page.body == PAGE
    assert page.url == "https://www.dw.com/en/invented-story-1/a-1001"
    assert page.fetched_url == f"{MIRROR}/en/invented-story-1/a-1001"
    assert page.warc_date == "2024-01-30T14:13:12Z"
    assert page.record_id == written.record_id
    assert page.warc_file == written.warc_file


def test_only_ok_html_content_pages_are_pages(tmp_path):
    w = RotatingWarcWriter(tmp_path, START)
    write_page(w, 1)
    xml = [("Content-Type", "application/xml")]
    write_page(w, 2, path="/en/news-sitemap.xml", headers=xml, body=b"<urlset/>")
    write_page(w, 3, path="/robots.txt", headers=[("Content-Type", "text/plain")], body=b"")
    write_page(w, 4, status=404)
    write_page(w, 5, status=301, headers=[("Location", "/en/x/a-1")], body=b"")
    write_page(w, 6, headers=[("Content-Type", "image/jpeg")], body=b"\xff\xd8")
    write_page(w, 7, headers=[("Content-Encoding", "gzip")], body=b"not gzip at all")
    write_page(w, 8, path="/en/some-topic/t-123")
    write_page(w, 9, headers=[])  # no type: left to the response-class sniffing, as in a crawl
    write_page(w, 10, headers=[("Content-Type", "application/xhtml+xml")])
    w.close()
    stats: dict[str, int] = {}
    pages = list(iter_archived_pages(w.files[0], stats))
    assert [p.url[-6:] for p in pages] == ["a-1001", "a-1009", "a-1010"]
    assert stats == {
        "not_content_url": 3,
        "http_404": 1,
        "http_301": 1,
        "not_html": 1,
        "undecodable_body": 1,
    }
    assert len(list(iter_responses(w.files[0]))) == 10


def test_rollover_by_size_names_from_run_time_only(tmp_path):
    w = RotatingWarcWriter(tmp_path, START, max_bytes=2000)
    ids = [write_page(w, n, body=PAGE * 5) for n in range(8)]
    w.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) > 2
    assert names == [f"dw-20240130T141312Z-{i:05d}.warc.gz" for i in range(len(names))]
    assert [p.name for p in w.files] == names
    # each file starts with a warcinfo record and stays near the bound
    for p in w.files:
        recs = records(p)
        assert recs[0][0] == "warcinfo"
        assert p.stat().st_size < 2000 + 2000
    # every response is found, in order, in the file its Written says
    got = [(p.warc_file, p.record_id) for f in w.files for p in iter_archived_pages(f)]
    assert got == [(x.warc_file, x.record_id) for x in ids]
    assert w.bytes_written == sum(p.stat().st_size for p in w.files)


def test_existing_files_are_never_overwritten(tmp_path):
    old = tmp_path / "dw-20240130T141312Z-00000.warc.gz"
    old.write_bytes(b"earlier run")
    w = RotatingWarcWriter(tmp_path, START)
    written = write_page(w, 1)
    w.close()
    assert old.read_bytes() == b"earlier run"
    assert written.warc_file == "dw-20240130T141312Z-00001.warc.gz"


def member_ends(path: Path) -> list[tuple[str, int]]:
    """(record type, offset of its gzip member's end) for every record of a WARC."""
    out = []
    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            rec_type = rec.rec_type
            rec.content_stream().read()
            out.append((rec_type, it.get_record_offset() + it.get_record_length()))
    return out


def test_file_cut_anywhere_reads_up_to_last_whole_record(tmp_path):
    """A killed run: whatever byte the file stops at, every whole record before it reads."""
    w = RotatingWarcWriter(tmp_path, START)
    for n in range(4):
        write_page(w, n, body=PAGE * (n + 1))
    w.close()
    data = w.files[0].read_bytes()
    ends = member_ends(w.files[0])
    assert [t for t, _ in ends] == ["warcinfo"] + ["response", "request"] * 4
    assert ends[-1][1] == len(data)
    cut_file = tmp_path / "cut.warc.gz"
    for cut in range(ends[1][1], len(data), 23):
        cut_file.write_bytes(data[:cut])
        whole = [t for t, end in ends if end <= cut].count("response")
        stats: dict[str, int] = {}
        pages = list(iter_archived_pages(cut_file, stats))
        # every whole response is read; a cut one never shows as a (half) page -- at most a
        # response whose gzip trailer alone is missing reads, and then its body is complete
        assert whole <= len(pages) <= whole + 1, cut
        assert [p.body for p in pages] == [PAGE * (n + 1) for n in range(len(pages))]
        # warcio itself reads every whole record too, then reports the cut
        seen = 0
        with cut_file.open("rb") as fh:
            try:
                for _rec in ArchiveIterator(fh):
                    seen += 1
            except Exception:
                pass
        assert seen >= len([e for _, e in ends if e <= cut])
    # a cut in the middle of the last response's body is reported
    mid = (ends[-3][1] + ends[-2][1]) // 2
    cut_file.write_bytes(data[:mid])
    stats = {}
    assert len(list(iter_archived_pages(cut_file, stats))) == 3
    assert stats["truncated"] == 1


def test_is_warc_by_content_not_name(tmp_path):
    w = RotatingWarcWriter(tmp_path / "w", START)
    write_page(w, 1)
    w.close()
    renamed = tmp_path / "archive.bin"
    renamed.write_bytes(w.files[0].read_bytes())
    plain = tmp_path / "plain.warc"
    plain.write_bytes(gzip.decompress(w.files[0].read_bytes()))
    html = tmp_path / "page.warc.gz"
    html.write_bytes(gzip.compress(PAGE))
    assert is_warc(w.files[0]) and is_warc(renamed) and is_warc(plain)
    assert not is_warc(html) and not is_warc(tmp_path / "missing")
    assert [p.body for p in iter_archived_pages(plain)] == [PAGE]


class HalfThenFull:
    """A file whose next write stores half the bytes, then fails like a full disk."""

    def __init__(self, fh):
        self.fh, self.fail = fh, True

    def write(self, data):
        if self.fail:
            self.fail = False
            self.fh.write(bytes(data[: len(data) // 2]))
            raise OSError(28, "No space left on device")
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)


def test_disk_full_write_is_cut_back_and_later_records_read(tmp_path):
    w = RotatingWarcWriter(tmp_path, START)
    write_page(w, 1)
    w._current.fh = HalfThenFull(w._current.fh)
    with pytest.raises(OSError):
        write_page(w, 2)
    write_page(w, 3)  # space is back
    w.close()
    stats: dict[str, int] = {}
    assert [p.url[-6:] for p in iter_archived_pages(w.files[0], stats)] == ["a-1001", "a-1003"]
    assert stats.get("truncated", 0) == 0
    assert w.bytes_written == w.files[0].stat().st_size


def test_unreadable_files_raise_one_error(tmp_path):
    with pytest.raises(WarcReadError):
        list(iter_responses(tmp_path / "missing.warc.gz"))
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(b"this is not a WARC file\r\n\r\n")
    with pytest.raises(WarcReadError):
        list(iter_responses(bad))
    with pytest.raises(WarcReadError):
        read_metadata([bad])


def test_metadata_merges_hints_and_outcome_across_files(tmp_path):
    w = RotatingWarcWriter(tmp_path, START, max_bytes=1)  # every exchange in a new file
    a = write_page(w, 1)
    b = write_page(w, 2)  # a's metadata now lands in b's file
    w.write_metadata(
        target_uri="https://www.dw.com/x",
        refers_to=a.record_id,
        when=START,
        data={"kind": "hints", "hints": {"_discovered_date": "2024-01-30T10:00:00Z"}},
    )
    w.write_metadata(
        target_uri="https://www.dw.com/x",
        refers_to=a.record_id,
        when=START,
        data={"kind": "outcome", "outcome": "written", "revision": 1},
    )
    w.close()
    assert len(w.files) == 2
    meta = read_metadata(w.files)
    assert meta == {
        a.record_id: {
            "hints": {"_discovered_date": "2024-01-30T10:00:00Z"},
            "outcome": "written",
            "revision": 1,
        }
    }
    pages = list(iter_archived_pages(w.files[0], meta=meta))
    assert pages[0].hints == {"_discovered_date": "2024-01-30T10:00:00Z"}
    assert b.record_id not in meta


def test_metadata_joins_its_responses_file_after_rollover(tmp_path):
    w = RotatingWarcWriter(tmp_path, START, max_bytes=1)  # every exchange in a new file
    first = write_page(w, 1)
    later = [write_page(w, n) for n in range(2, 5)]
    assert len(w.files) == 4
    hints = {"kind": "hints", "hints": {"_source": "rss:en"}}
    w.write_metadata(
        target_uri="u", refers_to=first.record_id, when=START, data=hints, warc_file=first.warc_file
    )
    for n in range(5, 5 + w.KEEP_OPEN + 1):  # push the first file out of the open set
        write_page(w, n)
    w.write_metadata(
        target_uri="u", refers_to=later[0].record_id, when=START, data=hints,
        warc_file=later[0].warc_file,
    )  # fmt: skip
    w.close()
    assert read_metadata([tmp_path / first.warc_file]) == {first.record_id: hints_only()}
    assert later[0].record_id not in read_metadata([tmp_path / later[0].warc_file])
    assert later[0].record_id in read_metadata([w.files[-1]])  # fell back to the current file


def hints_only() -> dict:
    return {"hints": {"_source": "rss:en"}}


# ---- middlewares -----------------------------------------------------------------------------


def make_crawler(tmp_path, **settings):
    base = {"DW_WARC_DIR": str(tmp_path / "warc"), "DW_BASE_URL": MIRROR}
    base.update(settings)
    return get_crawler(settings_dict=base)


def test_target_uri_is_canonical():
    m = "http://127.0.0.1:9/mirror"
    assert target_uri(f"{m}/en/x/a-1?maca=x", m, m) == "https://www.dw.com/en/x/a-1?maca=x"
    assert target_uri(f"{m}/xml/rss-en-all", m, m) == "https://rss.dw.com/xml/rss-en-all"
    assert target_uri(f"{m}/xml/rss-en-all", m, "http://r") == "https://www.dw.com/xml/rss-en-all"
    assert (
        target_uri("http://r/xml/rss-de-all", m, "http://r") == "https://rss.dw.com/xml/rss-de-all"
    )
    assert target_uri(
        "https://www.dw.com/en/x/a-1", "https://www.dw.com", "https://rss.dw.com"
    ) == ("https://www.dw.com/en/x/a-1")


def test_warc_stem_follows_the_runs_jsonl_name(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    crawler.stats.set_value("dwscraper/output/file", str(tmp_path / "dw-20240130T141313Z-1.jsonl"))
    url = f"{MIRROR}/en/x/a-1"
    request = Request(url)
    dmw.process_response(request, Response(url, body=b"", request=request))
    dmw.writer.close()
    assert request.meta["warc_file"] == "dw-20240130T141313Z-1-00000.warc.gz"


def test_middlewares_disabled_by_empty_dir(tmp_path):
    crawler = make_crawler(tmp_path, DW_WARC_DIR="")
    with pytest.raises(NotConfigured):
        WarcCaptureMiddleware.from_crawler(crawler)
    with pytest.raises(NotConfigured):
        WarcItemMiddleware.from_crawler(crawler)


def test_default_dir_is_under_output_dir(tmp_path):
    crawler = get_crawler(settings_dict={"DW_OUTPUT_DIR": str(tmp_path / "out")})
    mw = WarcCaptureMiddleware.from_crawler(crawler)
    assert mw.writer.directory == tmp_path / "out" / "warc"


def test_middlewares_tag_records_and_archive_hints(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    smw = WarcItemMiddleware.from_crawler(crawler)
    assert dmw.writer is smw.writer
    url = f"{MIRROR}/en/invented-story/a-1001?maca=en-rss"
    request = Request(url, meta={"dw_id": "a-1001"})
    response = HtmlResponse(
        url,
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        body=gzip.compress(PAGE),
        request=request,
        ip_address=None,
    )
    out = dmw.process_response(request, response)
    assert out is response
    assert response.meta["warc_file"].startswith("dw-") and response.meta["warc_record_id"]
    item = {"id": "a-1001", "_discovered_date": "2024-01-30", "_fetched_at": "1999-01-01T00:00:00Z"}
    items = list(smw.process_spider_output(response, [item, Request(f"{MIRROR}/x")]))
    assert items[0] is item and isinstance(items[1], Request)
    assert item["warc_file"] == response.meta["warc_file"]
    assert item["warc_record_id"] == response.meta["warc_record_id"]
    assert item["_fetched_at"] == response.meta["warc_date"]
    public = {"id": "a-1001", "revision": 2, "warc_record_id": item["warc_record_id"]}
    smw.item_scraped(public, response=response, spider=None)
    dmw.writer.close()

    path = tmp_path / "warc" / item["warc_file"]
    pages = list(iter_archived_pages(path))
    assert len(pages) == 1
    assert pages[0].url == "https://www.dw.com/en/invented-story/a-1001?maca=en-rss"
    assert pages[0].fetched_url == url
    assert pages[0].body == PAGE
    assert pages[0].meta["outcome"] == "written"
    assert pages[0].meta["revision"] == 2
    assert pages[0].hints["_discovered_date"] == "2024-01-30"
    assert crawler.stats.get_value("dwscraper/warc/responses") == 1
    assert crawler.stats.get_value("dwscraper/warc/bytes") > 0


def test_one_metadata_record_per_record_and_hints_kept_when_stopped(tmp_path):
    """Hints and outcome share one metadata record; a record the run stopped before its
    outcome still has its hints archived when the spider closes."""
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    smw = WarcItemMiddleware.from_crawler(crawler)
    items = []
    for n in (1, 2):
        url = f"{MIRROR}/en/x/a-{n}"
        request = Request(url, meta={"dw_id": f"a-{n}"})
        response = HtmlResponse(url, body=PAGE, request=request)
        dmw.process_response(request, response)
        item = {"id": f"a-{n}", "_source": f"rss:en{n}"}
        list(smw.process_spider_output(response, [item]))
        items.append((item, response))
    smw.item_scraped({**items[0][0], "revision": 1}, response=items[0][1])
    smw.spider_closed()  # the second never reached the end of the pipelines
    dmw.writer.close()
    kinds = [
        json.loads(body)["kind"]
        for kind, _, body in records(dmw.writer.files[0])
        if kind == "metadata"
    ]
    assert kinds == ["record", "hints"]
    meta = read_metadata(dmw.writer.files)
    first, second = (meta[i["warc_record_id"]] for i, _ in items)
    assert first["hints"]["_source"] == "rss:en1"
    assert (first["outcome"], first["revision"]) == ("written", 1)
    assert second == {
        "hints": {"_source": "rss:en2", "_fetched_at": second["hints"]["_fetched_at"]}
    }


def test_cut_short_response_is_marked_truncated(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    url = f"{MIRROR}/en/x/a-9"
    request = Request(url)
    response = HtmlResponse(url, body=PAGE[:40], request=request, flags=["dataloss"])
    dmw.process_response(request, response)
    dmw.writer.close()
    resp = next(r for r in records(dmw.writer.files[0]) if r[0] == "response")
    assert resp[1]["WARC-Truncated"] == "length"
    assert resp[2] == PAGE[:40]


def test_dropped_records_note_the_reason(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    smw = WarcItemMiddleware.from_crawler(crawler)
    url = f"{MIRROR}/en/x/a-7"
    request = Request(url)
    response = Response(url, body=b"", request=request)
    dmw.process_response(request, response)
    item = {"id": "a-7"}
    list(smw.process_spider_output(response, [item]))
    smw.item_dropped(item, exception=DropItem("dropped unchanged: x"), response=response)
    dmw.writer.close()
    meta = read_metadata(dmw.writer.files)
    assert meta[item["warc_record_id"]]["outcome"] == "dropped"
    assert "unchanged" in meta[item["warc_record_id"]]["reason"]


def test_write_failure_is_counted_not_raised(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    (tmp_path / "warc").write_text("a file where the directory should be")
    url = f"{MIRROR}/en/x/a-7"
    request = Request(url)
    response = HtmlResponse(url, body=PAGE, request=request)
    assert dmw.process_response(request, response) is response
    assert "warc_record_id" not in request.meta
    assert crawler.stats.get_value("dwscraper/warc/write_error") == 1


def test_warcinfo_names_the_crawler(tmp_path):
    crawler = make_crawler(tmp_path, USER_AGENT="dwscraper/0.1 (+https://example.invalid)")
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    url = f"{MIRROR}/robots.txt"
    request = Request(url)
    dmw.process_response(request, Response(url, body=b"User-agent: *\n", request=request))
    dmw.release()
    dmw.writer.close()
    info = records(dmw.writer.files[0])[0]
    assert info[0] == "warcinfo"
    assert b"dwscraper/0.1 (+https://example.invalid)" in info[2]
    assert json.dumps(info[1]["WARC-Filename"]).startswith('"dw-')


def test_reextract_reads_a_warc_written_by_another_tool(tmp_path):
    """A plain warcio WARC/1.1 (chunked, gzip, no metadata records) re-extracts too."""
    from dwsite import make_article
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from dwscraper.reextract import reextract

    art = make_article(4242, "en", "new", "Invented ferry timetable changes", published=START)
    html = art.html().encode()
    gz = gzip.compress(html)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(gz), gz)
    path = tmp_path / "other-tool.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        http = StatusAndHeaders(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
            ],
            protocol="HTTP/1.1",
        )
        rec = writer.create_warc_record(
            art.url + "?maca=en-rss",
            "response",
            payload=io.BytesIO(chunked),
            http_headers=http,
            warc_headers_dict={"WARC-Date": "2024-02-01T08:00:05.123456Z"},
        )
        writer.write_record(rec)
    stats = Counter()
    records = list(reextract([path], stats=stats))
    assert stats["records"] == 1, stats
    rec = records[0]
    assert rec["id"] == "a-4242"
    assert rec["url"] == art.url  # canonical: no tracking query
    assert rec["title"] == "Invented ferry timetable changes"
    assert rec["fetched_at"] == "2024-02-01T08:00:05Z"
    assert rec["warc_file"] == "other-tool.warc.gz"
    assert rec["warc_record_id"] == rec_id(path)
    assert rec["text"] == art.expected_text()


def rec_id(path: Path) -> str:
    with path.open("rb") as fh:
        return next(iter(ArchiveIterator(fh))).rec_headers.get_header("WARC-Record-ID")


def fetch(dmw: WarcCaptureMiddleware, path: str, body: bytes = b"<urlset/>", **meta) -> Request:
    request = Request(f"{MIRROR}{path}", meta=meta)
    dmw.process_response(request, Response(request.url, body=body, request=request))
    return request


def test_discovery_records_wait_for_the_first_content_page(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    robots = fetch(dmw, "/robots.txt", b"User-agent: *\n")
    sitemap = fetch(dmw, "/en/news-sitemap.xml", dw_source="news-sitemap:en")
    fetch(dmw, "/xml/rss-en-all", b"<rss/>", dw_source="rss:en")
    assert not (tmp_path / "warc").exists()  # nothing on disk yet
    assert "warc_record_id" not in robots.meta and "warc_file" not in sitemap.meta
    page = fetch(dmw, "/en/x/a-1001", PAGE, dw_id="a-1001", dw_source="rss:en")
    later = fetch(dmw, "/en/article-sitemap.xml", dw_source="article-sitemap:en")
    dmw.spider_closed()
    dmw.writer.close()
    [path] = dmw.writer.files
    got = [(r[0], r[1]["WARC-Target-URI"]) for r in records(path) if r[0] == "response"]
    assert got == [
        ("response", "https://www.dw.com/robots.txt"),
        ("response", "https://www.dw.com/en/news-sitemap.xml"),
        ("response", "https://www.dw.com/xml/rss-en-all"),
        ("response", "https://www.dw.com/en/x/a-1001"),
        ("response", "https://www.dw.com/en/article-sitemap.xml"),
    ]
    assert page.meta["warc_file"] == path.name and later.meta["warc_file"] == path.name
    assert crawler.stats.get_value("dwscraper/warc/responses") == 5
    assert crawler.stats.get_value("dwscraper/warc/records") == 10
    assert crawler.stats.get_value("dwscraper/warc/bytes") == path.stat().st_size
    assert crawler.stats.get_value("dwscraper/warc/discarded_source_records") is None


def test_run_without_content_page_leaves_no_warc_file(tmp_path):
    crawler = make_crawler(tmp_path)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    fetch(dmw, "/robots.txt", b"User-agent: *\n")
    fetch(dmw, "/en/news-sitemap.xml", dw_source="news-sitemap:en")
    fetch(dmw, "/en/news-sitemap.xml", dw_source="news-sitemap:en", dw_depth=1)
    dmw.spider_closed()
    dmw.writer.close()
    assert dmw.writer.files == []
    assert not (tmp_path / "warc").exists()
    assert crawler.stats.get_value("dwscraper/warc/discarded_source_records") == 6
    assert crawler.stats.get_value("dwscraper/warc/responses") is None


def test_held_records_are_written_once_over_the_hold_limit(tmp_path):
    crawler = make_crawler(tmp_path, DW_WARC_HOLD_BYTES=3000)
    dmw = WarcCaptureMiddleware.from_crawler(crawler)
    rng = __import__("random").Random(6)
    big = bytes(rng.getrandbits(8) for _ in range(4000))  # incompressible: over 3000 gzipped
    fetch(dmw, "/en/news-sitemap.xml", b"<urlset/>", dw_source="news-sitemap:en")
    assert dmw.writer.files == []
    fetch(dmw, "/en/article-sitemap.xml", big, dw_source="article-sitemap:en")
    fetch(dmw, "/xml/rss-en-all", b"<rss/>", dw_source="rss:en")  # straight to the file now
    dmw.spider_closed()
    dmw.writer.close()
    [path] = dmw.writer.files
    got = [r[2] for r in records(path) if r[0] == "response"]
    assert got == [b"<urlset/>", big, b"<rss/>"]
    assert crawler.stats.get_value("dwscraper/warc/discarded_source_records") is None


def test_reextract_of_warcs_archived_before_the_publication_key_keeps_the_time(tmp_path):
    from dwscraper.reextract import page_record
    from dwscraper.warc import ArchivedResponse

    body = (Path(__file__).parent / "fixtures" / "pages" / "old_de_article.html").read_bytes()
    url = "https://www.dw.com/de/x/a-59900001"

    def page(hints):
        return ArchivedResponse(
            url, url, "2024-01-30T12:00:00Z", 200, [("Content-Type", "text/html; charset=utf-8")],
            body, "dw-x-00000.warc.gz", "<urn:uuid:1>", meta={"hints": hints},
        )  # fmt: skip

    day = page_record(page({}))[0]["published"]
    assert len(day) == 10  # the page shows only the day
    news = {"_source": "news-sitemap:de", "_discovered_date": f"{day}T06:15:00Z"}
    assert page_record(page(news))[0]["published"] == f"{day}T06:15:00Z"
    archive = {"_source": "article-sitemap:de", "_discovered_date": f"{day}T21:47:00Z"}
    assert page_record(page(archive))[0]["published"] == day  # a lastmod times nothing
