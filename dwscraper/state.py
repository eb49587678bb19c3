"""What earlier runs captured, so a cron run fetches only what is new or changed.

One SQLite file (standard library, WAL mode, parameterized queries only) keyed by DW content
id: the newest sitemap/feed date seen for it, the content hash and revision of the last record
written, and the first/last fetch times. No Scrapy import: the spider middleware, pipeline and
extension in dwscraper/extensions.py adapt it to a crawl.

Exactly-once rests on one ordering rule: a record's row is committed only after its JSON line
was flushed to the output file. A crash between the two leaves a line the store does not know;
recover_part() reads such lines back from the ``.part`` file the killed run left behind, cuts
off a trailing partial line, commits what is missing and publishes the file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwscraper.normalize import is_day_only, to_rfc3339, utc_now

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PART_SUFFIX = ".part"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS content (
    id            TEXT PRIMARY KEY NOT NULL,  -- DW content id, e.g. 'a-68117411'
    source_date   TEXT,     -- newest sitemap lastmod / news publication_date / feed date seen
    content_hash  TEXT,     -- content_hash of the last record written
    revision      INTEGER NOT NULL DEFAULT 0,  -- revision of the last record written
    first_fetched TEXT,     -- RFC 3339 UTC
    last_fetched  TEXT,     -- RFC 3339 UTC, also bumped by unchanged refetches
    url           TEXT,     -- canonical URL
    output_file   TEXT      -- file holding the last revision's line
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Entry:
    """One content id as the store knows it."""

    id: str
    source_date: str | None
    content_hash: str | None
    revision: int
    first_fetched: str | None
    last_fetched: str | None
    url: str | None
    output_file: str | None


@dataclass
class Recovery:
    """What recover_part() found in one leftover ``.part`` file."""

    part: Path
    published: Path | None = None  # the renamed file, None if nothing was left in it
    lines: int = 0  # complete records in the file
    committed: int = 0  # of those, rows the store did not have yet
    truncated_bytes: int = 0  # size of the partial last line that was cut off
    bad_lines: int = 0  # complete lines that were not a JSON record (kept, logged)
    ids: list[str] = field(default_factory=list)


_NORMALIZED_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?")


def normalize_date(value: Any) -> str | None:
    """A sitemap/feed date as RFC 3339 UTC or YYYY-MM-DD (comparable as strings), or None."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and _NORMALIZED_RE.fullmatch(value):
        return value  # the spider's sources are normalized already: skip dateutil
    try:
        return to_rfc3339(value)
    except (ValueError, TypeError, OverflowError):
        return None


def is_newer(candidate: str | None, known: str | None) -> bool:
    """True when *candidate* is a later date than *known*.

    A day-only date is compared by day: '2024-01-30' is not newer than 2024-01-30T14:00:00Z,
    nor the other way round, since a sitemap's day and a feed's time may be the same event.
    """
    if not candidate:
        return False
    if not known:
        return True
    if is_day_only(candidate) or is_day_only(known):
        return candidate[:10] > known[:10]
    return candidate > known


def newest(a: str | None, b: str | None) -> str | None:
    """The later of two normalized dates (the precise one on a same-day tie)."""
    if not a:
        return b
    if not b:
        return a
    if is_newer(a, b):
        return a
    if is_newer(b, a):
        return b
    return b if is_day_only(a) and not is_day_only(b) else a


class StateStore:
    """The SQLite state of all runs; one writer at a time (the run lock guarantees it).

    Writes are batched: they join an open transaction that is committed every *batch_size*
    writes, every *commit_interval* seconds, and on close. Reads on the same connection see
    uncommitted writes. Hooks registered with add_commit_hook run just before each COMMIT
    (the writer fsyncs its output there, so the store never gets ahead of the file on disk).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        batch_size: int = 200,
        commit_interval: float = 5.0,
    ) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_size = max(1, batch_size)
        self.commit_interval = commit_interval
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(path), isolation_level=None, timeout=30.0, check_same_thread=False
        )
        self._pending = 0
        self._last_commit = time.monotonic()
        self._hooks: list[Callable[[], None]] = []
        # The last get() (id, entry): the revision pipeline's plan() and the writer's
        # mark_written() read the same id in a row. Any write forgets it.
        self._last: tuple[str, Entry | None] | None = None
        conn = self._conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: state schema {version} is newer than this dwscraper "
                f"({SCHEMA_VERSION}); upgrade dwscraper"
            )
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # --- plumbing -------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (RuntimeError after close)."""
        if self._conn is None:
            raise RuntimeError("state store is closed")
        return self._conn

    def add_commit_hook(self, hook: Callable[[], None]) -> None:
        """Run *hook* before every COMMIT (e.g. fsync the output the rows describe)."""
        self._hooks.append(hook)

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._last = None
        conn = self.conn
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, params)
        self._pending += 1
        if (
            self._pending >= self.batch_size
            or time.monotonic() - self._last_commit >= self.commit_interval
        ):
            self.commit()

    def commit(self) -> None:
        """Make every write so far durable (after running the commit hooks)."""
        conn = self.conn
        if conn.in_transaction:
            for hook in list(self._hooks):
                hook()
            conn.execute("COMMIT")
        self._pending = 0
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Commit and close; safe to call twice."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            self._conn.close()
            self._conn = None
            self._last = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads ----------------------------------------------------------------------------
    def get(self, cid: str) -> Entry | None:
        """The stored entry for a content id, None if never captured."""
        last = self._last
        if last is not None and last[0] == cid:
            return last[1]
        row = self.conn.execute(
            "SELECT id, source_date, content_hash, revision, first_fetched, last_fetched,"
            " url, output_file FROM content WHERE id = ?",
            (cid,),
        ).fetchone()
        entry = Entry(*row) if row else None
        self._last = (cid, entry)
        return entry

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM content").fetchone()[0])

    def is_empty(self) -> bool:
        """No row at all (a new state); O(1), unlike len()."""
        return self.conn.execute("SELECT 1 FROM content LIMIT 1").fetchone() is None

    def rebuild_from(self, files: list[Path]) -> int:
        """Fill a new state from the run files it lost track of (a state moved aside): each
        id at its highest revision, so the next change is that revision + 1, not 1 again.
        Like a recovered row, a rebuilt one has no source date: a source date later than its
        fetch time refetches it. All or nothing: one transaction, rolled back on any error
        (the state stays empty, and the next run tries again). Returns the records read.
        """
        batch, interval = self.batch_size, self.commit_interval
        self.batch_size, self.commit_interval = 2**62, float("inf")  # no commit midway
        n = 0
        try:
            for path in files:
                with path.open("rb") as fp:
                    # A damaged line is skipped: the next fetch of that id rewrites it.
                    n += sum(self._replay(raw, path.name) is not None for raw in fp)
            self.commit()
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self._pending = 0
            raise
        finally:
            self.batch_size, self.commit_interval = batch, interval
        return n

    def __iter__(self) -> Iterator[Entry]:
        cur = self.conn.execute(
            "SELECT id, source_date, content_hash, revision, first_fetched, last_fetched,"
            " url, output_file FROM content ORDER BY id"
        )
        for row in cur:
            yield Entry(*row)

    # --- decisions ------------------------------------------------------------------------
    def should_fetch(self, cid: str, source_date: Any = None, *, refetch: bool = False) -> bool:
        """Whether a discovered page must be fetched: unknown, or its discovery date is newer.

        With no stored discovery date (captured from an explicit URL, or recovered from a
        killed run's file), the date is compared with the last fetch instead: a sitemap date
        later than our fetch means the page changed after we read it.
        """
        if refetch:
            return True
        entry = self.get(cid)
        if entry is None or entry.revision < 1:
            return True
        date = normalize_date(source_date)
        if date is None:
            return False
        return is_newer(date, entry.source_date or entry.last_fetched)

    def plan(self, cid: str, content_hash: str | None) -> tuple[str, int | None]:
        """('new', 1), ('updated', n+1) or ('unchanged', None) for a freshly parsed record."""
        entry = self.get(cid)
        if entry is None or entry.revision < 1:
            return "new", 1
        if content_hash is not None and content_hash == entry.content_hash:
            return "unchanged", None
        return "updated", entry.revision + 1

    # --- writes ---------------------------------------------------------------------------
    def mark_written(
        self,
        cid: str,
        *,
        revision: int,
        content_hash: str | None,
        fetched_at: str | None = None,
        source_date: Any = None,
        url: str | None = None,
        output_file: str | None = None,
    ) -> bool:
        """Record that revision *revision* of *cid* is in the output (call after the flush).

        Idempotent and monotonic: a revision lower than the stored one changes nothing, so
        replaying a recovered file is harmless. Returns True when the row changed.
        """
        fetched_at = fetched_at or utc_now()
        entry = self.get(cid)
        if entry is not None and entry.revision >= revision:
            if entry.revision == revision and source_date is not None:
                self._bump(entry, fetched_at, normalize_date(source_date))
            return False
        date = newest(entry.source_date if entry else None, normalize_date(source_date))
        self._write(
            "INSERT INTO content (id, source_date, content_hash, revision, first_fetched,"
            " last_fetched, url, output_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET source_date = excluded.source_date,"
            " content_hash = excluded.content_hash, revision = excluded.revision,"
            " first_fetched = COALESCE(content.first_fetched, excluded.first_fetched),"
            " last_fetched = excluded.last_fetched,"
            " url = COALESCE(excluded.url, content.url), output_file = excluded.output_file",
            (cid, date, content_hash, revision, fetched_at, fetched_at, url, output_file),
        )
        return True

    def mark_unchanged(
        self, cid: str, *, fetched_at: str | None = None, source_date: Any = None
    ) -> None:
        """A refetch found the same content: remember the newer date so it is not fetched again."""
        entry = self.get(cid)
        if entry is None:
            return
        self._bump(entry, fetched_at or utc_now(), normalize_date(source_date))

    def _bump(self, entry: Entry, fetched_at: str, date: str | None) -> None:
        self._write(
            "UPDATE content SET source_date = ?, last_fetched = ? WHERE id = ?",
            (newest(entry.source_date, date), fetched_at, entry.id),
        )

    # --- recovery -------------------------------------------------------------------------
    def _replay(self, raw: bytes, output_file: str) -> tuple[str, bool] | None:
        """Mark one output line's record as written (monotonic): (its id, whether the row
        changed), or None for a line that is no record. No source date: the run's discovery
        dates are not in its lines (a later source date than the fetch refetches the id)."""
        try:
            obj = json.loads(raw)
            cid = obj["id"]
            revision = int(obj.get("revision") or 1)
        except (ValueError, KeyError, TypeError, OverflowError, AttributeError):
            return None
        if not isinstance(cid, str) or not cid or revision < 1:
            return None
        fetched_at = obj.get("fetched_at")
        url = obj.get("url")
        content_hash = obj.get("content_hash")
        changed = self.mark_written(
            cid,
            revision=revision,
            content_hash=content_hash if isinstance(content_hash, str) else None,
            fetched_at=fetched_at if isinstance(fetched_at, str) else None,
            url=url if isinstance(url, str) else None,
            output_file=output_file,
        )
        return cid, changed

    def recover_part(self, part: str | os.PathLike[str]) -> Recovery:
        """Finish what a killed run left in *part*: cut a partial line, commit, publish.

        Every complete line is a record whose row may not have been committed; replaying
        them through mark_written (monotonic) makes the store match the file. The file is
        then renamed to its final name (or removed if empty) so readers see it.
        """
        part = Path(part)
        rec = Recovery(part=part)
        data = part.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            rec.truncated_bytes = len(data) - end
            os.truncate(part, end)
            data = data[:end]
        final = _final_name(part)
        for raw in data.splitlines():
            if not raw.strip():
                continue
            replayed = self._replay(raw, final.name)
            if replayed is None:
                rec.bad_lines += 1
                continue
            rec.lines += 1
            rec.ids.append(replayed[0])
            rec.committed += replayed[1]
        self.commit()
        if rec.lines or rec.bad_lines:
            target = _free_name(final)
            part.rename(target)
            rec.published = target
        else:
            part.unlink()
        return rec


def _final_name(part: Path) -> Path:
    name = part.name
    return part.with_name(name[: -len(PART_SUFFIX)] if name.endswith(PART_SUFFIX) else name)


def _free_name(path: Path) -> Path:
    """*path*, or path with _recovered-N before the suffix if that name is taken ("_" sorts
    after ".", so the name still sorts after the run's own)."""
    if not path.exists():
        return path
    n = 1
    while True:
        candidate = path.with_name(f"{path.stem}_recovered-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def leftover_parts(output_dir: str | os.PathLike[str], pattern: str = "*.jsonl.part") -> list[Path]:
    """The ``.part`` files earlier runs left in *output_dir* (oldest name first)."""
    d = Path(output_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob(pattern) if p.is_file())
