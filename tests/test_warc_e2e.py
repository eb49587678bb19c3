"""WARC capture end to end: crawl the local mirror with WARC on, then re-extract offline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from dwsite import REPO, CrawlResult, DWSite, crawl_command, run_crawl
from warcio.archiveiterator import ArchiveIterator

from dwscraper.urls import canonical_url
from dwscraper.warc import FETCHED_URI_HEADER, iter_archived_pages, iter_responses, read_metadata


def reextract(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dwscraper.reextract", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def by_id(record: dict) -> str:
    return record["id"]


def warc_files(out: Path) -> list[Path]:
    return sorted((out / "warc").glob("*.warc.gz"))


def all_records(path: Path) -> list:
    """(type, headers dict) of every record, read by warcio alone."""
    with path.open("rb") as fh:
        return [(r.rec_type, dict(r.rec_headers.headers)) for r in ArchiveIterator(fh)]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[CrawlResult, DWSite, str]:
    """One archive-mode crawl of the default mirror with WARC capture on (the default)."""
    out = tmp_path_factory.mktemp("warc-run")
    site = DWSite.default().start()
    url = site.url
    try:
        result = run_crawl(site, out, "-a", "lang=en,de", "-a", "mode=archive")
    finally:
        site.stop()
    assert result.returncode == 0, result.log[-3000:]
    return result, site, url


def test_crawl_writes_one_readable_warc_named_after_the_run(first_run):
    result, site, mirror = first_run
    files = warc_files(result.output_dir)
    assert len(files) == 1
    run_stem = result.files[0].name.removesuffix(".jsonl")  # dw-<UTC start>
    assert files[0].name == f"{run_stem}-00000.warc.gz"
    recs = all_records(files[0])
    types = [t for t, _ in recs]
    assert types[0] == "warcinfo"
    assert (
        types.count("response") == types.count("request") == result.stat("dwscraper/warc/responses")
    )
    uris = {h["WARC-Target-URI"] for t, h in recs if t == "response"}
    # pages, sitemaps (index, children, gzipped child) and feeds, under canonical URLs
    for a in site.articles.values():
        if a.lang in ("en", "de") and "robots-disallowed" not in a.path:
            assert canonical_url(a.url) in uris  # percent-encoded, as in the records
    assert "https://www.dw.com/en/news-sitemap.xml" in uris
    assert "https://www.dw.com/en/article-sitemap.xml" in uris
    assert "https://www.dw.com/en/article-sitemap-2.xml.gz" in uris
    assert "https://rss.dw.com/xml/rss-de-all" in uris
    assert not any("robots-disallowed" in u for u in uris)
    # warcio's own checker verifies every record's block and payload digests
    check = subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", "check", "-v", str(files[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout[-2000:]
    assert check.stdout.count("digest pass") >= len(recs) - 1  # warcinfo has no digest
    # the URL actually fetched (the mirror) is kept next to the canonical one
    fetched = [h.get(FETCHED_URI_HEADER, "") for t, h in recs if t == "response"]
    assert fetched and all(f.startswith(mirror + "/") for f in fetched)


def test_every_record_names_its_response_record(first_run):
    result, _, _ = first_run
    records = result.records
    assert len(records) == 7
    by_id = {}
    for path in warc_files(result.output_dir):
        for resp in iter_responses(path):
            by_id[resp.record_id] = resp
    for rec in records:
        resp = by_id[rec["warc_record_id"]]
        assert rec["warc_file"] == resp.warc_file
        assert resp.url == rec["url"]  # same canonical URL (no tracking query, no mirror)
        assert resp.warc_date == rec["fetched_at"]
        assert resp.status == 200
        assert rec["id"].encode() in resp.body


def test_reextract_gives_the_runs_records_field_for_field(first_run, tmp_path):
    result, _, _ = first_run
    out = tmp_path / "re.jsonl"
    proc = reextract(*warc_files(result.output_dir), "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "7 records" in proc.stderr and "pages/s" in proc.stderr
    crawled = {r["id"]: r for r in result.records}
    again = {r["id"]: r for r in jsonl(out)}
    assert again.keys() == crawled.keys()
    for cid, rec in crawled.items():
        assert list(again[cid]) == list(rec)  # same keys, same order
        for field, value in rec.items():
            assert again[cid][field] == value, (cid, field)
    # parsing in worker processes changes nothing, not even the order
    out2 = tmp_path / "re2.jsonl"
    proc = reextract(*warc_files(result.output_dir), "-j", "2", "-o", out2)
    assert proc.returncode == 0, proc.stderr
    assert out2.read_bytes() == out.read_bytes()


def test_extract_reads_a_warc(first_run):
    result, _, _ = first_run
    path = warc_files(result.output_dir)[0]
    pages = list(iter_archived_pages(path))
    assert len(pages) == 7
    proc = subprocess.run(
        [sys.executable, "-m", "dwscraper.extract", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    recs = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert sorted(r["id"] for r in recs) == sorted(r["id"] for r in result.records)
    crawled = {r["id"]: r for r in result.records}
    for rec in recs:  # the parser alone, plus the WARC provenance
        assert rec["title"] == crawled[rec["id"]]["title"]
        assert rec["text"] == crawled[rec["id"]]["text"]
        assert rec["warc_record_id"] == crawled[rec["id"]]["warc_record_id"]
        assert rec["fetched_at"] == crawled[rec["id"]]["fetched_at"]
        assert rec["content_hash"] == crawled[rec["id"]]["content_hash"]


def test_rollover_and_reextract_across_files(dwsite, tmp_path):
    result = run_crawl(
        dwsite, tmp_path, "-a", "lang=en,de", "-a", "mode=archive", DW_WARC_MAX_BYTES="6000"
    )
    assert result.returncode == 0, result.log[-3000:]
    files = warc_files(tmp_path)
    assert len(files) >= 3
    stem = result.files[0].name.removesuffix(".jsonl")
    assert [f.name for f in files] == [f"{stem}-{i:05d}.warc.gz" for i in range(len(files))]
    for f in files:
        assert all_records(f)[0][0] == "warcinfo"
        # each file holds the metadata of its own responses
        assert set(read_metadata([f])) <= {r.record_id for r in iter_responses(f)}
    named = {r["warc_file"] for r in result.records}
    assert len(named) >= 2 and named <= {f.name for f in files}
    out = tmp_path / "re.jsonl"
    proc = reextract(*files, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(jsonl(out), key=lambda r: r["id"]) == sorted(
        result.records, key=lambda r: r["id"]
    )


def test_empty_warc_dir_disables_capture(dwsite, tmp_path):
    result = run_crawl(dwsite, tmp_path, "-a", "lang=en", DW_WARC_DIR="")
    assert result.returncode == 0, result.log[-3000:]
    assert not (tmp_path / "warc").exists()
    assert result.records
    assert all(r["warc_file"] is None and r["warc_record_id"] is None for r in result.records)


def test_incremental_run_reextracts_to_its_own_records(dwsite, tmp_path):
    """Run 2 writes a revision 2 and drops an unchanged refetch: re-extraction agrees."""
    args = ("-a", "lang=en", "-a", "mode=archive")  # lastmod comes from the article sitemap
    first = run_crawl(dwsite, tmp_path, *args)
    assert first.returncode == 0, first.log[-3000:]
    first_files = list(first.files)  # .files globs the directory: freeze it now
    changed, same = dwsite.articles["a-1001"], dwsite.articles["a-1002"]
    changed.paragraphs = [*changed.body(), "An invented paragraph added by the update."]
    changed.modified = changed.published + timedelta(hours=2)
    same.modified = same.published + timedelta(hours=2)  # newer date, same content
    second = run_crawl(dwsite, tmp_path, *args)
    assert second.returncode == 0, second.log[-3000:]
    run2 = [f for f in second.files if f not in first_files]
    assert len(run2) == 1
    written = jsonl(run2[0])
    assert [(r["id"], r["revision"]) for r in written] == [("a-1001", 2)]
    stem = run2[0].name.removesuffix(".jsonl")
    files = [f for f in warc_files(tmp_path) if f.name.startswith(stem)]
    meta = read_metadata(files)
    assert any(m.get("outcome") == "dropped" for m in meta.values())

    out = tmp_path / "re2.jsonl"
    proc = reextract(*files, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert jsonl(out) == written
    assert "skipped/unchanged_in_run 1" in proc.stderr
    proc = reextract(*files, "--all", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["id"] for r in jsonl(out)) == ["a-1001", "a-1002"]
    # both runs at once: every run's records, revisions included, in run order
    proc = reextract(*warc_files(tmp_path), "-o", out)
    assert proc.returncode == 0, proc.stderr
    got = jsonl(out)
    run1 = jsonl(first_files[0])
    # within a run the order follows arrival: compare run 1 sorted by id
    assert sorted(got[: len(run1)], key=by_id) == sorted(run1, key=by_id)
    assert got[len(run1) :] == written


def test_no_change_run_leaves_no_new_warc_file(dwsite, tmp_path):
    """A cron run that finds nothing new fetches only sources: none of them is kept."""
    first = run_crawl(dwsite, tmp_path, "-a", "lang=en,de")
    assert first.returncode == 0, first.log[-3000:]
    before = warc_files(tmp_path)
    assert len(before) == 1 and first.records
    dwsite.clear_log()
    second = run_crawl(dwsite, tmp_path, "-a", "lang=en,de")
    assert second.returncode == 0, second.log[-3000:]
    assert dwsite.article_requests() == [] and dwsite.log  # sources only, and they were read
    assert warc_files(tmp_path) == before
    assert sorted((tmp_path / "warc").iterdir()) == before  # no empty or partial file either
    # robots.txt + 2 news sitemaps + 2 feeds, request and response each
    assert second.stat("dwscraper/warc/discarded_source_records") == 2 * len(set(dwsite.log))
    assert second.stat("dwscraper/warc/responses") == 0


def test_reextract_refuses_unreadable_input(tmp_path):
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(b"not a warc at all\r\n\r\n")
    proc = reextract(bad, "-o", tmp_path / "x.jsonl")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = reextract(tmp_path / "missing.warc.gz")
    assert proc.returncode == 2


def test_kill_mid_run_leaves_a_readable_warc(empty_dwsite, tmp_path):
    """SIGKILL while the crawl waits on a slow page: the WARC reads to its last record."""
    site = empty_dwsite
    arts = site.generate(12, langs=("en",))
    slow = arts[-1]
    site.delays[slow.path] = 120.0  # the crawl hangs here until killed
    proc = subprocess.Popen(
        crawl_command(site, tmp_path, "-a", "lang=en", CONCURRENT_REQUESTS="1"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        written: dict = {}
        while time.monotonic() < deadline:  # wait for a condition, not for a time
            files = warc_files(tmp_path)
            if files and site.requested(slow.path):
                written = {
                    k: m for k, m in read_metadata(files).items() if m.get("outcome") == "written"
                }
                if len(written) == len(arts) - 1:
                    break
            time.sleep(0.2)
        assert len(written) == len(arts) - 1, "crawl did not reach the slow page"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    files = warc_files(tmp_path)
    assert len(files) == 1
    recs = all_records(files[0])  # warcio reads the killed run's file without error
    assert recs[0][0] == "warcinfo"
    assert sum(1 for t, _ in recs if t == "response") >= len(arts)  # + robots, sitemap
    # the run's .part (left by the kill) and the re-extraction agree record for record
    parts = sorted(tmp_path.glob("*.part"))
    assert len(parts) == 1
    out = tmp_path / "re.jsonl"
    done = reextract(files[0], "-o", out)
    assert done.returncode == 0, done.stderr
    assert sorted(jsonl(out), key=lambda r: r["id"]) == sorted(
        jsonl(parts[0]), key=lambda r: r["id"]
    )
