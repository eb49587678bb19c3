"""One run at a time: an advisory lock file next to the state store.

cron starts a run every few minutes whether or not the previous one finished; two runs sharing
one state store and output directory would fetch and write the same articles twice. The lock
is an ``flock`` on ``<state path>.lock``: the kernel drops it when the holder dies (even on
``kill -9``), so a stale lock is simply taken over, and the file records the holder's pid so
the refused run can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

# Locks this process holds, by resolved path: the crawl command takes the lock before the
# crawler exists and the run extension takes it again; both must get the same lock.
_HELD: dict[str, RunLock] = {}


class RunLockBusy(RuntimeError):
    """Another live process holds the lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"another dwscraper run is active ({who}, lock {path})")


class RunLock:
    """An exclusive, non-blocking, re-entrant (within this process) run lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._count = 0
        self.took_over: int | None = None  # pid named in a stale lock we replaced

    @property
    def held(self) -> bool:
        """True while this process holds the lock."""
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock or raise RunLockBusy at once (never waits: cron will retry)."""
        if self._fd is not None:
            self._count += 1
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise RunLockBusy(self.path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        previous = _read_pid(fd)
        if previous and previous != os.getpid():
            self.took_over = previous
        stamp = f"{os.getpid()} {int(time.time())}\n".encode()
        os.pwrite(fd, stamp, 0)  # write before truncating: a reader never sees an empty file
        os.ftruncate(fd, len(stamp))
        self._fd = fd
        self._count = 1
        return self

    def release(self) -> None:
        """Drop one hold; the last one clears the pid and unlocks (the file stays: see below)."""
        if self._fd is None:
            return
        self._count -= 1
        if self._count > 0:
            return
        fd, self._fd = self._fd, None
        # The file is not deleted: a process that opened it before the unlink would lock an
        # orphaned inode while a third process locks a fresh file, and both would run.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        data = os.pread(fd, 64, 0).decode("ascii", "replace").split()
        return int(data[0]) if data else None
    except (OSError, ValueError):
        return None


def lock_path_for(state_path: str | os.PathLike[str]) -> Path:
    """The lock file that guards a state store: ``<state>.lock`` beside it."""
    return Path(f"{os.fspath(state_path)}.lock")


def acquire(path: str | os.PathLike[str]) -> RunLock:
    """Take (or re-enter) this process's lock at *path*; raise RunLockBusy if another has it."""
    key = str(Path(path).resolve())
    lock = _HELD.get(key)
    if lock is None or not lock.held:
        lock = RunLock(path)
        lock.acquire()
        _HELD[key] = lock
        return lock
    return lock.acquire()


def release(lock: RunLock) -> None:
    """Drop one hold of a lock from acquire(); forget it once fully released."""
    lock.release()
    if not lock.held:
        _HELD.pop(str(lock.path.resolve()), None)
