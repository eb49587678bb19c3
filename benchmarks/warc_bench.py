"""Measure WARC capture: bytes per article in a real crawl, and re-extraction pages/second.

    python benchmarks/warc_bench.py [PAGES_DIR] [--copies N] [--keep DIR]

Serves the saved DW pages in PAGES_DIR (default ../shared/dw/pages, else the repository's
tests/fixtures/pages), each stamped with N new content ids, from a local mirror (robots.txt,
a news sitemap per edition, an empty feed), runs `scrapy crawl dw` against it with WARC
capture on (all defaults otherwise, throttling off), then re-extracts the run's WARC with
dwscraper.reextract in this process and compares the records with the crawl's output.
Prints one summary; timings are for reading, never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: dwscraper is importable
    sys.path.insert(0, str(ROOT))
_CANON_RE = re.compile(
    rb"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)["']"""
    rb"""|<link[^>]+href=["']([^"']+)["'][^>]*rel=["']?canonical""",
    re.I,
)
_URL_RE = re.compile(r"^https?://[^/]+/([a-z]{2}(?:-[a-z0-9]+)?)/([^/]+)/a-(\d{5,})/?$")


def load_templates(pages_dir: Path) -> list[tuple[str, str, str, bytes]]:
    """[(lang, slug, id digits, html)] of the article pages whose canonical URL is known."""
    out = []
    for f in sorted(pages_dir.glob("*.html")):
        html = f.read_bytes()
        m = _CANON_RE.search(html)
        url = (m.group(1) or m.group(2)).decode("utf-8", "replace") if m else ""
        if not url:  # a re-serialized page may lack it: fall back on the file name
            fm = re.match(r"([a-z-]+)_a-(\d+)\.html$", f.name)
            url = f"https://www.dw.com/{fm.group(1)}/page/a-{fm.group(2)}" if fm else ""
        u = _URL_RE.match(url)
        if u:
            out.append((u.group(1), u.group(2), u.group(3), html))
    return out


class Mirror(ThreadingHTTPServer):
    """robots.txt, /<lang>/news-sitemap.xml, empty feeds, and the stamped pages."""

    daemon_threads = True

    def __init__(self, templates: list[tuple[str, str, str, bytes]], copies: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages: dict[str, bytes] = {}
        self.by_lang: dict[str, list[str]] = {}
        for n in range(copies):
            for k, (lang, slug, num, html) in enumerate(templates):
                new = str(70_000_000 + n * 100 + k)
                path = f"/{lang}/{slug}/a-{new}"
                self.pages[path] = html.replace(num.encode(), new.encode())
                self.by_lang.setdefault(lang, []).append(path)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def news_sitemap(self, lang: str) -> bytes:
        now = datetime.now(UTC)
        items = "".join(
            f"<url><loc>{escape('https://www.dw.com' + p)}</loc><news:news>"
            f"<news:publication_date>{(now - timedelta(minutes=i)).isoformat()}"
            f"</news:publication_date></news:news></url>"
            for i, p in enumerate(self.by_lang.get(lang, []))
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{items}</urlset>'
        ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: Mirror

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        ctype, body, status = "text/html; charset=utf-8", b"not found", 404
        if path == "/robots.txt":
            ctype, body, status = "text/plain", b"User-agent: *\nDisallow: /private/\n", 200
        elif path in self.server.pages:
            body, status = self.server.pages[path], 200
        elif m := re.fullmatch(r"/([a-z-0-9]+)/news-sitemap\.xml", path):
            ctype, body, status = "application/xml", self.server.news_sitemap(m.group(1)), 200
        elif path.startswith("/xml/rss-"):
            ctype, status = "application/rss+xml", 200
            body = b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>'
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; prints a summary, returns 0 (1 when the crawl wrote nothing)."""
    from dwscraper.warc import iter_responses  # after ROOT joined sys.path

    ap = argparse.ArgumentParser(prog="python benchmarks/warc_bench.py", description=__doc__)
    default = ROOT.parent / "shared" / "dw" / "pages"
    if not default.is_dir():
        default = ROOT / "tests" / "fixtures" / "pages"
    ap.add_argument("pages", nargs="?", type=Path, default=default)
    ap.add_argument("--copies", type=int, default=50, help="content ids per saved page")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = ap.parse_args(argv)

    templates = load_templates(args.pages)
    if not templates:
        print(f"no article pages with a canonical /a- URL in {args.pages}", file=sys.stderr)
        return 1
    work = args.keep or Path(tempfile.mkdtemp(prefix="warc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    server = Mirror(templates, args.copies)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    langs = ",".join(sorted(server.by_lang))
    sets = {
        "DW_BASE_URL": server.base,
        "DW_RSS_URL": server.base,
        "DW_OUTPUT_DIR": str(work),
        "DW_STATE_PATH": str(work / "state.sqlite3"),
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS": "16",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        "LOG_FILE": str(work / "crawl.log"),
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", "dw", "-a", f"lang={langs}"]
    for k, v in sets.items():
        cmd += ["-s", f"{k}={v}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, check=False)
    crawl_s = time.perf_counter() - t0
    server.shutdown()

    outputs = sorted(work.glob("dw-*.jsonl"))
    warcs = sorted((work / "warc").glob("*.warc.gz"))
    crawled = [json.loads(x) for f in outputs for x in f.read_text("utf-8").splitlines() if x]
    if not crawled or not warcs:
        print(f"crawl wrote no records (exit {proc.returncode}); see {work}/crawl.log")
        return 1
    total = sum(f.stat().st_size for f in warcs)
    html_bytes = sum(
        len(r.body) for f in warcs for r in iter_responses(f) if "/a-" in r.url and r.status == 200
    )

    from dwscraper.reextract import reextract

    stats: Counter[str] = Counter()
    t0 = time.perf_counter()
    again = list(reextract(warcs, stats=stats))
    re_s = time.perf_counter() - t0
    same = {r["id"]: r for r in again} == {r["id"]: r for r in crawled}

    n = len(crawled)
    print(f"pages: {len(templates)} saved pages x {args.copies} ids from {args.pages}")
    print(f"crawl: exit {proc.returncode}, {n} records in {crawl_s:.1f} s; work dir {work}")
    print(
        f"WARC: {len(warcs)} file(s), {total:,} bytes = {total / n:,.0f} bytes per article "
        f"(HTML {html_bytes / n:,.0f} bytes per article uncompressed; "
        f"ratio {total / html_bytes:.2f})"
    )
    print(
        f"reextract: {stats['pages']} pages -> {stats['records']} records in {re_s:.2f} s = "
        f"{stats['pages'] / re_s:.1f} pages/s; identical to the crawl's records: {same}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
