"""Command line: saved DW pages in, one JSON record per page out (no crawl, no Scrapy).

    python -m dwscraper.extract FILE... [--url URL]

Each FILE gives one line of JSON on stdout, in the order given; a WARC file (a crawl's
output/warc/*.warc.gz) gives one line per archived content page. The page URL is --url when
given (a --url naming no content, such as a p.dw.com short link, yields to the page's own
canonical link on dw.com), else the page's own canonical link. A file that cannot be read
prints one line on stderr and makes the exit status 2; the other files are still extracted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dwscraper.parsing import parse_article
from dwscraper.record import content_hash, json_line, ordered
from dwscraper.warc import WarcReadError, extract_archived, is_warc


class InputError(Exception):
    """A file that cannot be read as a page."""


def read_input(path: str) -> bytes:
    """The raw bytes of one saved page (the one place that knows where pages come from)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return data


def extract_file(path: str, url: str | None = None) -> dict:
    """The public record of one saved page (with its content_hash, which a crawl's pipelines
    set; no fetched_at: the file says nothing of when the page was fetched)."""
    record = ordered(parse_article(read_input(path), url or ""))
    record["content_hash"] = content_hash(record)
    return record


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0, or 2 if any file was unreadable)."""
    parser = argparse.ArgumentParser(
        prog="python -m dwscraper.extract",
        description="Extract DW records from saved pages, one JSON line per file.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--url", help="the page's URL (default: its canonical link)")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        if is_warc(path):  # a crawl's WARC: one line per archived content page
            try:
                for rec in extract_archived(path):
                    sys.stdout.write(json_line(rec) + "\n")
            except WarcReadError as exc:
                print(f"dwscraper.extract: {exc}", file=sys.stderr)
                status = 2
            continue
        try:
            record = extract_file(path, args.url)
        except InputError as exc:
            print(f"dwscraper.extract: {exc}", file=sys.stderr)
            status = 2
            continue
        sys.stdout.write(json_line(record) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
