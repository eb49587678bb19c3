"""State store, run lock and .part recovery: the pieces exactly-once and incremental rest on."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from dwscraper import runlock
from dwscraper.state import StateStore, is_newer, leftover_parts, newest, normalize_date


@pytest.fixture
def store(tmp_path):
    s = StateStore(tmp_path / "state.sqlite3", batch_size=1000, commit_interval=3600)
    yield s
    s.close()


# --- dates --------------------------------------------------------------------------------
def test_normalize_date_accepts_sitemap_and_feed_forms():
    assert normalize_date("2024-01-30T15:13:12+01:00") == "2024-01-30T14:13:12Z"
    assert normalize_date("Tue, 30 Jan 2024 14:13:12 GMT") == "2024-01-30T14:13:12Z"
    assert normalize_date("2024-01-30") == "2024-01-30"
    assert normalize_date("") is None
    assert normalize_date(None) is None
    assert normalize_date("not a date") is None


def test_is_newer_compares_day_only_dates_by_day():
    assert is_newer("2024-01-30T14:00:01Z", "2024-01-30T14:00:00Z")
    assert not is_newer("2024-01-30T14:00:00Z", "2024-01-30T14:00:00Z")
    assert not is_newer("2024-01-30", "2024-01-30T14:00:00Z")
    assert not is_newer("2024-01-30T23:00:00Z", "2024-01-30")
    assert is_newer("2024-01-31", "2024-01-30T23:59:59Z")
    assert is_newer("2024-01-30", None)
    assert not is_newer(None, "2024-01-30")
    assert newest("2024-01-30", "2024-01-30T10:00:00Z") == "2024-01-30T10:00:00Z"
    assert newest("2024-02-01", "2024-01-30T10:00:00Z") == "2024-02-01"


# --- store --------------------------------------------------------------------------------
def test_store_uses_wal_and_creates_parent_dir(tmp_path):
    path = tmp_path / "deep" / "dir" / "state.sqlite3"
    with StateStore(path):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_unknown_id_is_fetched_and_planned_as_new(store):
    assert store.should_fetch("a-1", "2024-01-30")
    assert store.plan("a-1", "sha256:x") == ("new", 1)


def test_captured_id_is_skipped_unless_discovery_date_is_newer(store):
    store.mark_written(
        "a-1",
        revision=1,
        content_hash="sha256:x",
        fetched_at="2024-02-01T00:00:00Z",
        source_date="2024-01-30T10:00:00Z",
    )
    assert not store.should_fetch("a-1", "2024-01-30T10:00:00Z")
    assert not store.should_fetch("a-1", "2024-01-29")
    assert not store.should_fetch("a-1", None)
    assert store.should_fetch("a-1", "2024-01-30T10:00:01Z")
    assert store.should_fetch("a-1", None, refetch=True)


def test_without_stored_source_date_the_last_fetch_is_the_reference(store):
    store.mark_written("a-1", revision=1, content_hash="h", fetched_at="2024-02-01T00:00:00Z")
    assert not store.should_fetch("a-1", "2024-01-31T23:00:00Z")
    assert store.should_fetch("a-1", "2024-02-01T00:00:01Z")


def test_plan_revisions_by_content_hash(store):
    store.mark_written("a-1", revision=1, content_hash="h1")
    assert store.plan("a-1", "h1") == ("unchanged", None)
    assert store.plan("a-1", "h2") == ("updated", 2)
    store.mark_written("a-1", revision=2, content_hash="h2")
    assert store.plan("a-1", "h2") == ("unchanged", None)
    assert store.get("a-1").revision == 2


def test_mark_written_is_monotonic_and_keeps_first_fetch(store):
    assert store.mark_written(
        "a-1", revision=2, content_hash="h2", fetched_at="2024-02-02T00:00:00Z"
    )
    assert not store.mark_written(
        "a-1", revision=1, content_hash="h1", fetched_at="2024-02-03T00:00:00Z"
    )
    assert store.mark_written(
        "a-1", revision=3, content_hash="h3", fetched_at="2024-02-04T00:00:00Z"
    )
    e = store.get("a-1")
    assert (e.revision, e.content_hash) == (3, "h3")
    assert e.first_fetched == "2024-02-02T00:00:00Z"
    assert e.last_fetched == "2024-02-04T00:00:00Z"


def test_mark_unchanged_remembers_newer_date(store):
    store.mark_written("a-1", revision=1, content_hash="h", source_date="2024-01-01")
    store.mark_unchanged("a-1", fetched_at="2024-03-01T00:00:00Z", source_date="2024-02-01")
    e = store.get("a-1")
    assert (e.source_date, e.last_fetched, e.revision) == ("2024-02-01", "2024-03-01T00:00:00Z", 1)
    assert not store.should_fetch("a-1", "2024-02-01")


def test_writes_are_batched_until_commit(tmp_path):
    path = tmp_path / "s.sqlite3"
    s = StateStore(path, batch_size=3, commit_interval=3600)
    s.mark_written("a-1", revision=1, content_hash="h")
    s.mark_written("a-2", revision=1, content_hash="h")
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM content").fetchone()[0] == 0
    s.mark_written("a-3", revision=1, content_hash="h")  # third write: batch commits
    assert other.execute("SELECT COUNT(*) FROM content").fetchone()[0] == 3
    s.mark_written("a-4", revision=1, content_hash="h")
    s.close()
    assert other.execute("SELECT COUNT(*) FROM content").fetchone()[0] == 4


def test_commit_hook_runs_before_commit(tmp_path):
    path = tmp_path / "s.sqlite3"
    s = StateStore(path, batch_size=1)
    seen = []

    def hook():
        # the row must not be visible to others yet: the hook runs before COMMIT
        other = sqlite3.connect(path)
        seen.append(other.execute("SELECT COUNT(*) FROM content").fetchone()[0])

    s.add_commit_hook(hook)
    s.mark_written("a-1", revision=1, content_hash="h")
    s.close()
    assert seen == [0]


def test_ids_are_parameters_not_sql(store):
    evil = "a-1'); DROP TABLE content; --"
    store.mark_written(evil, revision=1, content_hash="h")
    assert store.get(evil).revision == 1
    assert len(store) == 1


def test_uncommitted_writes_vanish_on_hard_kill(tmp_path):
    """The premise of recovery: rows not yet committed are lost by a kill -9."""
    path = tmp_path / "s.sqlite3"
    code = textwrap.dedent(
        f"""
        import os
        from dwscraper.state import StateStore
        s = StateStore({str(path)!r}, batch_size=2, commit_interval=3600)
        for i in range(3):
            s.mark_written(f"a-{{i}}", revision=1, content_hash="h")
        os._exit(9)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    with StateStore(path) as s:
        assert sorted(e.id for e in s) == ["a-0", "a-1"]


# --- recovery -----------------------------------------------------------------------------
def _line(cid, rev=1, h="h"):
    return json.dumps(
        {"id": cid, "revision": rev, "content_hash": h, "fetched_at": "2024-01-01T00:00:00Z"}
    )


def test_recover_part_truncates_partial_line_commits_and_publishes(tmp_path, store):
    part = tmp_path / "dw-20240101T000000Z.jsonl.part"
    store.mark_written("a-1", revision=1, content_hash="h")  # committed before the kill
    store.commit()
    part.write_text(_line("a-1") + "\n" + _line("a-2") + "\n" + _line("a-3")[:17])
    assert leftover_parts(tmp_path) == [part]
    rec = store.recover_part(part)
    assert (rec.lines, rec.committed, rec.truncated_bytes) == (2, 1, 17)
    assert rec.published == tmp_path / "dw-20240101T000000Z.jsonl"
    assert not part.exists()
    lines = rec.published.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a-1", "a-2"]
    assert store.get("a-2").output_file == "dw-20240101T000000Z.jsonl"
    assert store.get("a-3") is None  # the partial line's article is fetched again
    assert leftover_parts(tmp_path) == []


def test_recover_part_keeps_newer_revision_and_removes_empty(tmp_path, store):
    store.mark_written("a-1", revision=3, content_hash="h3")
    part = tmp_path / "dw-x.jsonl.part"
    part.write_text(_line("a-1", rev=2, h="h2") + "\n")
    rec = store.recover_part(part)
    assert rec.committed == 0
    assert store.get("a-1").revision == 3
    empty = tmp_path / "dw-y.jsonl.part"
    empty.write_text('{"id": "a-9", "rev')
    rec = store.recover_part(empty)
    assert rec.published is None
    assert not empty.exists()
    assert not (tmp_path / "dw-y.jsonl").exists()


def test_recover_part_never_overwrites_a_published_file(tmp_path, store):
    (tmp_path / "dw-x.jsonl").write_text(_line("a-5") + "\n")
    part = tmp_path / "dw-x.jsonl.part"
    part.write_text(_line("a-6") + "\n")
    rec = store.recover_part(part)
    assert rec.published == tmp_path / "dw-x_recovered-1.jsonl"
    assert (tmp_path / "dw-x.jsonl").read_text().startswith('{"id": "a-5"')


# --- run lock -----------------------------------------------------------------------------
def test_lock_is_exclusive_across_processes_and_names_holder(tmp_path):
    path = tmp_path / "state.sqlite3.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from dwscraper.runlock import RunLock; "
            f"RunLock({str(path)!r}).acquire(); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(runlock.RunLockBusy) as exc:
            runlock.RunLock(path).acquire()
        assert exc.value.pid == holder.pid
        assert f"pid {holder.pid}" in str(exc.value)
    finally:
        holder.stdin.close()
        holder.wait()
    # holder gone: the lock is free again
    lock = runlock.RunLock(path).acquire()
    assert lock.held
    lock.release()


def test_stale_lock_of_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "state.sqlite3.lock"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; from dwscraper.runlock import RunLock; "
            f"RunLock({str(path)!r}).acquire(); print(os.getpid(), flush=True); os._exit(9)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    dead_pid = int(proc.stdout.strip())
    assert path.read_text().split()[0] == str(dead_pid)  # the killed holder left its pid
    lock = runlock.RunLock(path).acquire()
    assert lock.took_over == dead_pid
    assert path.read_text().split()[0] == str(os.getpid())
    lock.release()
    assert path.read_text() == ""


def test_acquire_is_reentrant_within_a_process(tmp_path):
    path = tmp_path / "x.lock"
    a = runlock.acquire(path)
    b = runlock.acquire(path)
    assert a is b
    runlock.release(b)
    assert a.held  # still held by the first taker
    runlock.release(a)
    assert not a.held
    assert runlock.lock_path_for(tmp_path / "s.sqlite3") == tmp_path / "s.sqlite3.lock"


def test_a_read_after_a_write_sees_the_write(tmp_path):
    """get() remembers its last answer for the next call on the same id; writes forget it."""
    with StateStore(tmp_path / "s.sqlite3") as store:
        assert store.get("a-1") is None
        store.mark_written("a-1", revision=1, content_hash="h1", fetched_at="2024-01-01T00:00:00Z")
        assert store.get("a-1").revision == 1
        assert store.plan("a-1", "h2") == ("updated", 2)
        store.mark_written("a-1", revision=2, content_hash="h2", fetched_at="2024-01-02T00:00:00Z")
        assert (store.get("a-1").revision, store.get("a-1").content_hash) == (2, "h2")
        store.mark_unchanged("a-1", fetched_at="2024-01-03T00:00:00Z", source_date="2024-01-03")
        assert store.get("a-1").last_fetched == "2024-01-03T00:00:00Z"
    with pytest.raises(RuntimeError):
        store.get("a-1")


def test_rebuild_skips_lines_that_are_no_records_and_is_all_or_nothing(tmp_path):
    good = [
        {"id": "a-1", "revision": 1, "content_hash": "h1", "fetched_at": "2024-01-01T00:00:00Z"},
        {"id": "a-1", "revision": 2, "content_hash": "h2", "fetched_at": "2024-02-01T00:00:00Z"},
        {"id": "a-2", "content_hash": "h3"},
    ]
    odd = [b'{"id": ["x"]}', b'{"id": null}', b'{"id": "a-9", "revision": Infinity}', b"[1]", b"{"]
    run = tmp_path / "dw-20240101T000000Z.jsonl"
    run.write_bytes(b"\n".join([json.dumps(r).encode() for r in good] + odd) + b"\n")
    s = StateStore(tmp_path / "state.sqlite3", batch_size=1)
    assert s.rebuild_from([run]) == 3
    assert (s.get("a-1").revision, s.get("a-1").content_hash) == (2, "h2")
    assert s.get("a-2").revision == 1 and s.get("a-9") is None
    s.close()
    # A file that cannot be read: nothing of the rebuild stays, even past a batch's size.
    t = StateStore(tmp_path / "other.sqlite3", batch_size=1)
    (tmp_path / "dw-20240102T000000Z.jsonl").mkdir()
    with pytest.raises(OSError):
        t.rebuild_from([run, tmp_path / "dw-20240102T000000Z.jsonl"])
    assert t.is_empty()
    t.close()
