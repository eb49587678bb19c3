"""Output faults in a real crawl: the disk fills up mid-run.

The run must say so in one line, exit non-zero, keep only whole lines in its file, and leave
the state store where the failed records were not committed, so the next run redoes them.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

from dwsite import run_crawl
from scrapy import signals

from dwscraper.extensions import EXIT_OUTPUT

LANGS = ("-a", "lang=en,de")


class _DiskFull:
    """A file object that takes `room` more bytes, then half a chunk and ENOSPC."""

    def __init__(self, fp, room: int) -> None:
        self.fp, self.room = fp, room

    def write(self, data):
        if len(data) > self.room:
            self.fp.write(data[: len(data) // 2])
            self.fp.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.fp.write(data)

    def __getattr__(self, name):
        return getattr(self.fp, name)


class DiskFullExtension:
    """Test-only Scrapy extension: the output disk fills after DW_TEST_DISK_ROOM bytes."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.room = crawler.settings.getint("DW_TEST_DISK_ROOM", 0)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        for pipe in self.crawler.engine.scraper.itemproc.middlewares:
            writer = getattr(pipe, "_writer", None)
            if writer is not None and hasattr(pipe, "part_path"):
                writer._fp = _DiskFull(writer._fp, self.room)


def _ids(path: Path) -> list[str]:
    return [json.loads(x)["id"] for x in path.read_text(encoding="utf-8").splitlines()]


def test_disk_full_mid_run_is_an_error_and_the_next_run_redoes_the_work(
    dwsite, tmp_path, monkeypatch
):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent))
    out = tmp_path / "out"
    ext = json.dumps({"test_hostile_output.DiskFullExtension": 0})
    first = run_crawl(
        dwsite, out, *LANGS, EXTENSIONS=ext, DW_TEST_DISK_ROOM=4000, CONCURRENT_REQUESTS=1
    )
    assert first.returncode == EXIT_OUTPUT, first.log[-3000:]
    assert "No space left on device" in first.log
    errors = [ln for ln in first.log.splitlines() if "ERROR" in ln and "No space" in ln]
    assert errors and all(len(ln) < 400 for ln in errors)  # one clear line
    assert "Traceback" not in first.log
    written = list(out.glob("dw-*.jsonl*"))
    assert len(written) == 1
    lines = written[0].read_text(encoding="utf-8")
    assert lines == "" or lines.endswith("\n")  # only whole lines survive
    done = _ids(written[0]) if lines else []

    dwsite.clear_log()
    second = run_crawl(dwsite, out, *LANGS)
    assert second.returncode == 0, second.log[-3000:]
    new = [r["id"] for r in second.records if r["id"] not in done]
    everything = {
        a.cid
        for a in dwsite.articles.values()
        if a.lang in ("en", "de") and (a.in_news or a.in_rss)  # what mode=latest finds
    }
    everything.discard("a-1003")  # robots.txt
    missing = everything - set(done) - set(new)
    assert not missing, missing  # nothing the full disk swallowed is lost
    assert len(done) < len(everything)  # the fault really cut the first run short
