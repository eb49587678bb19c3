"""A no-change cron run over 1,000 known articles asks only for robots.txt, sitemaps, feeds.

As a test the 1,000 articles are made "known" by writing their state rows directly (fast);
run as a script it captures them with a real crawl first and prints the timings:

    PYTHONPATH=. .venv/bin/python tests/test_incremental_scale.py
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

from dwsite import DWSite, run_crawl

from dwscraper.state import StateStore

N = 1000
LANGS = ("-a", "lang=en,de")


def only_discovery(log: list[str]) -> bool:
    return all(p == "/robots.txt" or "sitemap" in p or p.startswith("/xml/rss-") for p in log)


def test_no_change_run_over_1000_known_articles_fetches_no_page(empty_dwsite, tmp_path):
    site = empty_dwsite
    arts = site.generate(N, langs=("en", "de"))
    with StateStore(tmp_path / "state.sqlite3") as st:
        for a in arts:
            st.mark_written(
                a.cid,
                revision=1,
                content_hash="sha256:known",
                fetched_at="2024-03-02T00:00:00Z",
                source_date=a.published.isoformat(),
                url=a.url,
            )
    result = run_crawl(site, tmp_path, *LANGS)
    assert result.returncode == 0, result.log[-3000:]
    assert site.article_requests() == []
    assert only_discovery(site.log) and len(site.log) == 5, site.log
    assert result.files == []
    s = json.loads((tmp_path / "last-run.json").read_text())
    assert s["skipped"]["not_modified"] == N
    assert (s["new"], s["updated"], s["pages"]["fetched"]) == (0, 0, 0)


def main() -> None:
    """Capture N articles with a real crawl, then time three no-change runs."""
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="dw-scale-"))
    with DWSite() as site:
        site.generate(N, langs=("en", "de"))
        t = time.monotonic()
        first = run_crawl(site, out, *LANGS)
        print(f"capture run: exit {first.returncode}, {len(first.records)} records, "
              f"{time.monotonic() - t:.1f} s")  # fmt: skip
        for i in range(3):
            site.clear_log()
            t = time.monotonic()
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            again = run_crawl(site, out, *LANGS)
            wall = time.monotonic() - t
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
            s = json.loads((out / "last-run.json").read_text())
            print(
                f"no-change run {i + 1}: exit {again.returncode}, wall {wall:.2f} s "
                f"(CPU {cpu:.2f} s, crawl {s['duration_s']:.2f} s), requests {len(site.log)} "
                f"({'only robots/sitemaps/feeds' if only_discovery(site.log) else site.log}), "
                f"records written {s['records_written']}, not_modified "
                f"{s['skipped'].get('not_modified')}"
            )


if __name__ == "__main__":
    main()
