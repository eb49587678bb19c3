"""Unattended cron runs end to end against the local DW mirror (tests/dwsite.py).

Each test runs `scrapy crawl dw` in a subprocess, the way cron does, and checks what the
server was asked for, what was written, the exit code and output/last-run.json.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import lxml.html
import pytest
from dwsite import REPO, WWW, DWSite, crawl_command, run_crawl

from dwscraper.extensions import (
    EXIT_EMPTY,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_NO_SOURCE,
    EXIT_OUTPUT,
)
from dwscraper.state import StateStore

LANGS = ("-a", "lang=en,de")
WAIT = 60.0  # upper bound for polling loops; never reached when things work


def summary(out: Path) -> dict:
    return json.loads((out / "last-run.json").read_text(encoding="utf-8"))


def all_lines(out: Path) -> list[str]:
    lines: list[str] = []
    for f in sorted(out.glob("dw-*.jsonl")):
        lines.extend(f.read_text(encoding="utf-8").splitlines())
    return lines


class Crawl:
    """A `scrapy crawl dw` subprocess whose output is collected while it runs."""

    def __init__(self, site, out: Path, *args: str, **settings) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            crawl_command(site, out, *args, **settings),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, cond, what: str) -> None:
        """Poll cond() until true; fail if the crawl exited first or after WAIT."""
        deadline = time.monotonic() + WAIT
        while not cond():
            if self.proc.poll() is not None:
                self._reader.join(5)
                pytest.fail(
                    f"crawl exited ({self.proc.returncode}) before {what}:\n{self.log[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.02)

    def finish(self) -> int:
        self.proc.wait(timeout=WAIT)
        self._reader.join(5)
        return self.proc.returncode


class Gate:
    """A server route that holds a page until released (or the n-th content request)."""

    def __init__(self, site: DWSite, path: str) -> None:
        self.site = site
        self.path = path
        self.open = threading.Event()
        self.reached = threading.Event()
        site.routes[path] = self

    def __call__(self, handler):
        self.reached.set()
        self.open.wait(WAIT)
        del self.site.routes[self.path]
        return self.site.respond(handler)

    def release(self) -> None:
        self.open.set()


# --- incremental ----------------------------------------------------------------------------
def test_second_run_over_unchanged_site_fetches_no_article_and_writes_nothing(dwsite, tmp_path):
    first = run_crawl(dwsite, tmp_path, *LANGS)
    assert first.returncode == 0, first.log[-3000:]
    ids = {r["id"] for r in first.records}
    assert len(ids) >= 5
    assert all(r["revision"] == 1 for r in first.records)
    assert summary(tmp_path)["new"] == len(ids)
    files = first.files

    dwsite.clear_log()
    second = run_crawl(dwsite, tmp_path, *LANGS)
    assert second.returncode == 0, second.log[-3000:]
    assert dwsite.article_requests() == []
    assert all(
        p == "/robots.txt" or "sitemap" in p or p.startswith("/xml/rss-") for p in dwsite.log
    ), dwsite.log
    assert second.files == files  # no new output file
    s = summary(tmp_path)
    assert (s["new"], s["updated"], s["records_written"], s["output_file"]) == (0, 0, 0, None)
    assert s["skipped"]["not_modified"] == len(ids)
    assert s["exit_code"] == 0 and s["status"] == "ok"
    assert "run ok (exit 0)" in second.log.strip().splitlines()[-1]


def revise_and_rerun(dwsite, tmp_path, args, modified=None):
    """a-1001's text changes and the sitemaps announce it (lastmod two days later, or
    `modified`); run again."""
    art = dwsite.articles["a-1001"]
    art.paragraphs = ["The council later revised its ferry decision after a long debate."]
    art.modified = modified or art.published + timedelta(days=2)
    dwsite.clear_log()
    second = run_crawl(dwsite, tmp_path, *args)
    assert second.returncode == 0, second.log[-3000:]
    return second


def test_changed_article_is_fetched_alone_and_written_as_revision_2(dwsite, tmp_path):
    args = (*LANGS, "-a", "mode=archive")
    first = run_crawl(dwsite, tmp_path, *args)
    assert first.returncode == 0, first.log[-3000:]
    before = first.by_id()
    assert before["a-1001"]["revision"] == 1
    first_files = first.files  # (the property globs the directory: take it now)

    second = revise_and_rerun(dwsite, tmp_path, args)
    # The feed links another slug (redirected) and which source is read first varies.
    assert {p.split("?")[0].rsplit("/", 1)[1] for p in dwsite.article_requests()} == {"a-1001"}
    assert len(dwsite.fetches_of("a-1001")) == 1
    new_file = [f for f in second.files if f not in first_files]
    assert len(new_file) == 1
    (rec,) = [json.loads(x) for x in new_file[0].read_text().splitlines()]
    assert (rec["id"], rec["revision"]) == ("a-1001", 2)
    assert "revised its ferry decision" in rec["text"]
    assert rec["content_hash"] != before["a-1001"]["content_hash"]
    s = summary(tmp_path)
    assert (s["new"], s["updated"], s["unchanged"]) == (0, 1, 0)
    with StateStore(tmp_path / "state.sqlite3") as st:
        e = st.get("a-1001")
        assert e.revision == 2 and e.content_hash == rec["content_hash"]
        assert e.first_fetched == before["a-1001"]["fetched_at"]


def test_a_state_moved_aside_is_rebuilt_from_the_run_files(dwsite, tmp_path):
    args = (*LANGS, "-a", "mode=archive")  # the article sitemaps announce changes by lastmod
    first = run_crawl(dwsite, tmp_path, *args)
    assert first.returncode == 0, first.log[-3000:]
    n = len(first.records)
    (tmp_path / "state.sqlite3").rename(tmp_path / "state.sqlite3.broken")
    # Rebuilt rows know when each id was fetched, not what its sources said: a change is a
    # source date after the fetch (as it is on DW; the mirror's dates are in the past).
    later = datetime.now(UTC) + timedelta(hours=1)
    second = revise_and_rerun(dwsite, tmp_path, args, modified=later)
    assert "the state was new: rebuilt it from 1 run files" in second.log
    assert second.stat("dwscraper/state/rebuilt_records") == n
    # Only the changed article is fetched and written, as revision 2 (not 1 again).
    assert {p.split("?")[0].rsplit("/", 1)[1] for p in dwsite.article_requests()} == {"a-1001"}
    assert [(r["id"], r["revision"]) for r in second.records[n:]] == [("a-1001", 2)]


def test_page_changed_without_newer_sitemap_date_is_not_fetched_until_refetch_all(dwsite, tmp_path):
    first = run_crawl(dwsite, tmp_path, *LANGS)
    assert first.returncode == 0, first.log[-3000:]
    n = len(first.records)
    dwsite.articles["a-1001"].paragraphs = ["Silently edited text the sitemaps do not announce."]

    dwsite.clear_log()
    second = run_crawl(dwsite, tmp_path, *LANGS)
    assert second.returncode == 0
    assert dwsite.article_requests() == []
    assert len(second.records) == n

    dwsite.clear_log()
    third = run_crawl(dwsite, tmp_path, *LANGS, "-a", "refetch=all")
    assert third.returncode == 0, third.log[-3000:]
    assert len({p.split("?")[0] for p in dwsite.article_requests()}) >= n
    new = [r for r in third.records if r["revision"] > 1]
    assert [(r["id"], r["revision"]) for r in new] == [("a-1001", 2)]
    assert len(third.records) == n + 1  # unchanged refetches write nothing
    s = summary(tmp_path)
    assert (s["new"], s["updated"], s["unchanged"]) == (0, 1, n - 1)
    assert s["refetch"] == "all"


def test_republished_article_in_latest_mode_is_refetched(dwsite, tmp_path):
    first = run_crawl(dwsite, tmp_path, *LANGS)
    assert first.returncode == 0
    art = dwsite.articles["a-2001"]
    art.published += timedelta(hours=6)  # the news sitemap and feed now show a newer date
    dwsite.clear_log()
    second = run_crawl(dwsite, tmp_path, *LANGS)
    assert second.returncode == 0
    # Only this article is requested. The feed may link an older slug that the mirror
    # redirects (which source is read first varies), so compare ids and real page fetches.
    requested_ids = {p.split("?")[0].rsplit("/", 1)[1] for p in dwsite.article_requests()}
    assert requested_ids == {"a-2001"}
    assert len(dwsite.fetches_of("a-2001")) == 1
    # same text, same content hash: nothing is written, the newer date is remembered
    assert summary(tmp_path)["unchanged"] == 1
    assert len(second.records) == len(first.records)
    dwsite.clear_log()
    run_crawl(dwsite, tmp_path, *LANGS)
    assert dwsite.article_requests() == []


# --- one run at a time ------------------------------------------------------------------------
def test_summary_counts_fallback_records(dwsite, tmp_path):
    """A page in neither DW layout (a redesign) still becomes a record; the summary says so."""
    page = REPO / "tests" / "fixtures" / "pages" / "unknown_layout_fallback.html"
    path = "/en/night-trains-return-to-the-alps/a-78000001"
    dwsite.routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, page.read_bytes())
    dwsite.extra_news_urls.setdefault("en", []).append(WWW + path)
    result = run_crawl(dwsite, tmp_path, *LANGS)
    assert result.returncode == 0, result.log[-3000:]
    by_id = result.by_id()
    assert by_id["a-78000001"]["extractor"] == "fallback"
    assert by_id["a-78000001"]["title"] == "Night trains return to the Alps"
    s = summary(tmp_path)
    assert s["fallback"] == 1
    made = {e: sum(r["extractor"] == e for r in result.records) for e in ("dw-new", "dw-old")}
    assert made["dw-new"] and made["dw-old"]  # the default mirror has both layouts
    assert s["extractors"] == {**made, "dw-state": 0, "fallback": 1}
    assert sum(s["extractors"].values()) == s["records_written"] == len(result.records)
    assert result.stat("dwscraper/extractor/fallback") == 1
    assert result.stat("dwscraper/extractor/dw-old") == made["dw-old"]
    assert "fallback 1," in result.log.strip().splitlines()[-1]


def test_concurrent_run_is_refused_with_holder_pid(dwsite, tmp_path):
    gate = Gate(dwsite, dwsite.articles["a-1001"].path)
    first = Crawl(dwsite, tmp_path, *LANGS, DW_PROGRESS_INTERVAL="0.1")
    try:
        first.wait_for(gate.reached.is_set, "the first run to fetch a page")
        # a long run reports progress: pages done, queued, rate, outcomes
        first.wait_for(lambda: "progress: " in first.log, "a progress line")
        line = next(ln for ln in first.lines if "progress: " in ln)
        assert re.search(r"progress: \d+ pages done, \d+ queued, \d+ pages/min; new \d+", line)
        second = subprocess.run(
            crawl_command(dwsite, tmp_path, *LANGS),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert second.returncode == EXIT_LOCKED
        message = second.stderr.strip().splitlines()
        assert len(message) == 1, second.stderr
        assert f"pid {first.pid}" in message[0]
        # the refused run asked the server nothing (a run's first request is robots.txt)
        assert dwsite.requested("/robots.txt") == ["/robots.txt"]
        assert not (tmp_path / "last-run.json").exists()
    finally:
        gate.release()
    assert first.finish() == 0, first.log[-3000:]


# --- exactly once across a kill -9 ------------------------------------------------------------
def test_sigkill_mid_crawl_then_clean_run_yields_every_article_exactly_once(empty_dwsite, tmp_path):
    site = empty_dwsite
    arts = site.generate(30, langs=("en",))
    last = arts[-1]
    gate = Gate(site, last.path)
    crawl = Crawl(
        site,
        tmp_path,
        "-a",
        "lang=en",
        DW_STATE_BATCH="10000",  # nothing committed before the kill: recovery must do it
        DW_STATE_COMMIT_INTERVAL="3600",
    )

    def lines_written() -> int:
        parts = list(tmp_path.glob("dw-*.jsonl.part"))
        return len(parts[0].read_bytes().splitlines()) if parts else 0

    try:
        crawl.wait_for(gate.reached.is_set, "the gated page to be requested")
        crawl.wait_for(lambda: lines_written() >= 10, "records to be written")
    finally:
        crawl.proc.send_signal(signal.SIGKILL)
        gate.release()
    assert crawl.finish() == -signal.SIGKILL
    (part,) = tmp_path.glob("dw-*.jsonl.part")
    killed_ids = [json.loads(x)["id"] for x in part.read_text().splitlines()]
    with StateStore(tmp_path / "state.sqlite3") as st:
        assert len(st) < len(killed_ids)  # lines the state does not know yet
    with part.open("a", encoding="utf-8") as fh:  # what a write cut by the kill looks like
        fh.write('{"schema_version":1,"id":"a-1000')

    site.clear_log()
    clean = run_crawl(site, tmp_path, "-a", "lang=en")
    assert clean.returncode == 0, clean.log[-3000:]
    assert f"took over the stale run lock of pid {crawl.pid}" in clean.log
    assert list(tmp_path.glob("*.part")) == []
    lines = all_lines(tmp_path)
    records = [json.loads(x) for x in lines]  # every line parses: no partial line anywhere
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted(a.cid for a in arts)
    assert len(ids) == len(set(ids))
    refetched = {p.split("?")[0] for p in site.article_requests()}
    assert not refetched & {a.path for a in arts if a.cid in killed_ids}
    s = summary(tmp_path)
    assert s["recovered"][0]["records"] == len(killed_ids)
    assert s["recovered"][0]["partial_line_bytes_removed"] > 0
    assert s["new"] == len(arts) - len(killed_ids)


# --- exit codes -------------------------------------------------------------------------------
def test_server_down_exits_non_zero(dwsite, tmp_path):
    dwsite.down = True
    result = run_crawl(dwsite, tmp_path, *LANGS)
    assert result.returncode == EXIT_NO_SOURCE, result.log[-3000:]
    s = summary(tmp_path)
    assert "no_source_read" in s["problems"] and s["sources"]["read"] == 0


def test_nothing_listening_exits_non_zero(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_crawl(SimpleNamespace(url=f"http://127.0.0.1:{port}"), tmp_path, *LANGS)
    assert result.returncode == EXIT_NO_SOURCE, result.log[-3000:]


def _without_body(page: str) -> str:
    """The page after a redesign the readers do not know: article body and teaser gone."""
    doc = lxml.html.fromstring(page)
    for el in doc.cssselect(".rich-text, .longText, p.intro, header > p, script"):
        el.drop_tree()
    return lxml.html.tostring(doc, encoding="unicode")


def test_all_pages_losing_their_body_exits_non_zero(dwsite, tmp_path):
    for art in dwsite.articles.values():
        page = _without_body(art.html()).encode()
        dwsite.routes[art.path] = (200, {"Content-Type": "text/html; charset=utf-8"}, page)
    result = run_crawl(dwsite, tmp_path, *LANGS)
    assert result.returncode == EXIT_EMPTY, result.log[-3000:]
    s = summary(tmp_path)
    assert "empty_ratio" in s["problems"] and s["empty_ratio"] > 0.2
    assert s["pages"]["fetched"] >= 5


def test_unwritable_output_exits_non_zero(dwsite, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the output directory should be")
    # (run_crawl would mkdir the output directory: build the command by hand)
    argv = crawl_command(
        dwsite,
        blocker / "out",
        *LANGS,
        DW_STATE_PATH=str(tmp_path / "state" / "state.sqlite3"),
        DW_SUMMARY_PATH=str(tmp_path / "last-run.json"),
    )
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == EXIT_OUTPUT, result.stderr[-3000:]
    assert dwsite.article_requests() == []
    s = json.loads((tmp_path / "last-run.json").read_text())
    assert s["exit_code"] == EXIT_OUTPUT and "output_unwritable" in s["problems"]


def test_corrupt_state_is_exit_5_with_one_line_and_a_fresh_summary(dwsite, tmp_path):
    first = run_crawl(dwsite, tmp_path, *LANGS)
    assert first.returncode == 0 and summary(tmp_path)["status"] == "ok"
    state = tmp_path / "state.sqlite3"
    state.write_bytes(b"not a database, a disk error's leftovers" * 100)
    dwsite.clear_log()
    again = run_crawl(dwsite, tmp_path, *LANGS)
    assert again.returncode == EXIT_OUTPUT, again.log[-3000:]
    assert "Traceback" not in again.log
    errors = [line for line in again.log.splitlines() if "ERROR" in line and "state" in line]
    assert len(errors) == 1 and "Move it aside" in errors[0]
    assert "run failed (exit 5: state_unwritable)" in again.log
    assert dwsite.article_requests() == []
    s = summary(tmp_path)
    assert (s["status"], s["exit_code"], s["problems"]) == (
        "failed",
        EXIT_OUTPUT,
        ["state_unwritable"],
    )
    assert state.read_bytes().startswith(b"not a database")  # left for the user to inspect


def test_state_under_a_file_is_exit_5_with_one_line_and_a_summary(dwsite, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the state's directory should be")
    result = run_crawl(
        dwsite, tmp_path / "out", *LANGS, DW_STATE_PATH=str(blocker / "state.sqlite3")
    )
    assert result.returncode == EXIT_OUTPUT, result.log[-3000:]
    assert "Traceback" not in result.log
    assert result.log.strip().splitlines()[-1].startswith("dwscraper: cannot take the run lock")
    assert dwsite.article_requests() == []
    s = summary(tmp_path / "out")
    assert (s["exit_code"], s["problems"]) == (EXIT_OUTPUT, ["state_unwritable"])


# --- pause and resume (JOBDIR) ----------------------------------------------------------------
def test_archive_backfill_pauses_and_resumes_with_jobdir(empty_dwsite, tmp_path):
    site = empty_dwsite
    arts = site.generate(24, langs=("en",))
    for a in arts:
        a.in_news = a.in_rss = False  # only the archive sitemap lists them
    jobdir = tmp_path / "job"
    args = ("-a", "lang=en", "-a", "mode=archive", "-a", "since=2000-01-01")
    settings = {"JOBDIR": str(jobdir), "CONCURRENT_REQUESTS": "1"}
    seen = []
    original = site.respond
    hold = threading.Event()
    reached = threading.Event()

    def respond(handler):  # hold the 6th article page until the run was told to pause
        if "/a-" in handler.path:
            seen.append(handler.path)
            if len(seen) == 6:
                reached.set()
                hold.wait(WAIT)
        return original(handler)

    site.respond = respond
    out = tmp_path / "out"
    crawl = Crawl(site, out, *args, **settings)
    try:
        crawl.wait_for(reached.is_set, "the sixth article request")
        crawl.proc.send_signal(signal.SIGINT)  # Ctrl-C: graceful stop, queue kept in JOBDIR
        crawl.wait_for(lambda: "shutting down gracefully" in crawl.log, "the pause to begin")
    finally:
        hold.set()
    assert crawl.finish() == EXIT_INTERRUPTED, crawl.log[-3000:]
    first_ids = [json.loads(x)["id"] for x in all_lines(out)]
    assert 0 < len(first_ids) < len(arts)

    site.clear_log()
    resumed = run_crawl(site, out, *args, **settings)
    assert resumed.returncode == 0, resumed.log[-3000:]
    ids = [json.loads(x)["id"] for x in all_lines(out)]
    assert sorted(ids) == sorted(a.cid for a in arts)
    assert len(ids) == len(set(ids))
    again = {p.split("?")[0] for p in site.article_requests()}
    assert not again & {a.path for a in arts if a.cid in first_ids}


# --- the README's crontab line ----------------------------------------------------------------
def readme_crontab_command() -> str:
    """The command part (after the five time fields) of the README's crontab example."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```crontab\n", 1)[1].split("```", 1)[0]
    (line,) = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "%" not in line  # cron would turn it into a newline
    return line.split(None, 5)[5]


def test_readme_crontab_line_runs_quietly_and_reports_failure(dwsite, tmp_path):
    command = readme_crontab_command()
    assert "/srv/dwscraper" in command and "output/" in command
    mirror = (
        f" -s DW_BASE_URL={dwsite.url} -s DW_RSS_URL={dwsite.url} -s AUTOTHROTTLE_ENABLED=False"
        " -s DOWNLOAD_DELAY=0 -s RETRY_TIMES=0 -a lang=en,de"
        f" -s DW_OUTPUT_DIR={tmp_path} -s DW_STATE_PATH={tmp_path}/state.sqlite3"
    )
    command = command.replace("/srv/dwscraper/output/", f"{tmp_path}/")
    command = command.replace("/srv/dwscraper", str(REPO)).replace("output/", f"{tmp_path}/")
    command = command.replace("crawl dw", "crawl dw" + mirror, 1)

    def cron(cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["/bin/sh", "-c", cmd], capture_output=True, text=True, timeout=WAIT, check=False
        )

    ok = cron(command)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")  # cron mails nothing
    log = (tmp_path / "crawl.log").read_text(encoding="utf-8")
    assert "run ok (exit 0)" in log
    assert summary(tmp_path)["new"] >= 5

    dwsite.down = True
    failed = cron(command)
    assert failed.stdout.strip() == (
        f"dwscraper exit {EXIT_NO_SOURCE} - see {tmp_path}/last-run.json"
    )  # the one line cron mails
    assert summary(tmp_path)["problems"] == ["no_source_read"]


def test_explicit_urls_are_fetched_even_when_known_but_written_only_if_changed(dwsite, tmp_path):
    first = run_crawl(dwsite, tmp_path, *LANGS)
    assert first.returncode == 0
    art = dwsite.articles["a-1002"]
    dwsite.clear_log()
    again = run_crawl(dwsite, tmp_path, "-a", f"urls={art.url}")
    assert again.returncode == 0, again.log[-3000:]
    assert [p.split("?")[0] for p in dwsite.article_requests()] == [art.path]
    assert summary(tmp_path)["unchanged"] == 1
    assert len(again.records) == len(first.records)


def test_feed_export_only_runs_remember_what_they_exported(dwsite, tmp_path):
    state = tmp_path / "state.sqlite3"
    first_feed = tmp_path / "first.jsonl"
    first = run_crawl(
        dwsite, tmp_path, *LANGS, "-O", str(first_feed), DW_OUTPUT_DIR="", DW_STATE_PATH=state,
        DW_SUMMARY_PATH=tmp_path / "last-run.json",
    )  # fmt: skip
    assert first.returncode == 0, first.log[-3000:]
    exported = [json.loads(x) for x in first_feed.read_text().splitlines()]
    assert len(exported) >= 5 and all(r["revision"] == 1 for r in exported)
    assert list(tmp_path.glob("dw-*.jsonl")) == []
    dwsite.clear_log()
    second_feed = tmp_path / "second.jsonl"
    second = run_crawl(
        dwsite, tmp_path, *LANGS, "-O", str(second_feed), DW_OUTPUT_DIR="", DW_STATE_PATH=state,
        DW_SUMMARY_PATH=tmp_path / "last-run.json",
    )  # fmt: skip
    assert second.returncode == 0
    assert dwsite.article_requests() == []
    assert second_feed.read_text() == ""
