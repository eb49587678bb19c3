"""`make bench`: how fast dwscraper extracts, crawls and skips, on this machine.

Three measurements, printed as one table and written to benchmarks/RESULTS.md:

- extraction: parse_article vs trafilatura.bare_extraction vs a bare lxml parse of the same
  pages (the real DW pages in ../shared/dw when present, else the repository's fixtures),
  interleaved page by page over several rounds so that machine noise hits all three alike;
- crawl: `scrapy crawl dw` in a subprocess against a local mirror (a separate process, so the
  server is never the bottleneck) serving N generated article pages, concurrency 32, throttling
  off, all pipelines on: pages/s end to end, peak RSS, RSS at 2,000 vs N pages;
- no-op run: the same crawl again over the already-captured articles (incremental state store):
  wall time and request count.

Not part of `make test`: timings belong here, never in assertions.
Usage: python benchmarks/bench.py [--pages N] [--rounds R] [--skip-crawl] [--profile]
       [--profile-crawl] (see --help)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import importlib.util
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SHARED_DW = Path(os.environ.get("DW_SHARED_DIR") or ROOT.parent / "shared" / "dw")
FIXTURE_PAGES = ROOT / "tests" / "fixtures" / "pages"

CANONICAL_RE = re.compile(
    rb"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)["']"""
    rb"""|<link[^>]+href=["']([^"']+)["'][^>]*rel=["']?canonical""",
    re.I,
)
CONTENT_ID_RE = re.compile(r"/(a|av|audio|g|live)-(\d+)/?$")
MB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# Machine and versions
# --------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """CPU model, cores and RAM, so numbers from different machines are not compared blindly."""
    import psutil

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": f"{psutil.cpu_count(logical=True)} logical / "
        f"{psutil.cpu_count(logical=False)} physical",
        "ram": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "os": platform.platform(),
    }


def versions() -> dict[str, str]:
    """Versions of what is being measured."""
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in ("scrapy", "lxml", "trafilatura"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "?"
    with contextlib.suppress(Exception):
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if rev:
            out["dwscraper"] = rev
    return out


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def page_url(path: Path, html: bytes) -> str:
    """The page's DW URL: truth file, else canonical link, else one made up from the file name."""
    truth = path.parent.parent / "truth" / (path.stem + ".json")
    if truth.is_file():
        with contextlib.suppress(Exception):
            return json.loads(truth.read_text(encoding="utf-8"))["url"]
    m = CANONICAL_RE.search(html)
    if m:
        return (m.group(1) or m.group(2)).decode("utf-8", "replace")
    m2 = re.search(r"([a-z]{2}(?:-[a-z0-9]+)?)_((?:a|av|audio|g|live)-\d+)", path.stem)
    if m2:
        return f"https://www.dw.com/{m2.group(1)}/page/{m2.group(2)}"
    return f"https://www.dw.com/en/{path.stem}/a-1"


def load_pages() -> tuple[str, list[tuple[str, str, bytes]]]:
    """(source description, [(name, url, html bytes)]): real pages first, fixtures otherwise."""
    if (SHARED_DW / "pages").is_dir() and any((SHARED_DW / "pages").glob("*.html")):
        files, src = sorted((SHARED_DW / "pages").glob("*.html")), f"{SHARED_DW}/pages"
    else:
        files, src = sorted(FIXTURE_PAGES.glob("*.html")), "tests/fixtures/pages"
    pages = []
    for f in files:
        html = f.read_bytes()
        pages.append((f.name, page_url(f, html), html))
    return src, pages


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


def bench_extraction(rounds: int) -> dict[str, Any]:
    """Median ms per page of lxml / parse_article / trafilatura, interleaved per page."""
    import lxml.html
    import trafilatura

    from dwscraper.parsing import parse_article
    from dwscraper.parsing.document import parse
    from dwscraper.parsing.guard import guard

    src, raw = load_pages()
    if not raw:
        return {"source": src, "pages": 0}
    # The spider hands parse_article a UTF-8 page's raw bytes with encoding "utf-8"
    # (pages.parser_input; DW serves UTF-8): all three get those same bytes.
    pages = raw

    def lxml_parse(html: bytes, url: str) -> Any:
        return lxml.html.fromstring(html)

    def ours(html: bytes, url: str) -> Any:
        return parse_article(html, url, "utf-8")

    def ours_parse_only(html: bytes, url: str) -> Any:
        # parse_article's first step alone (input guard, lxml with our parser options, the
        # scan for the readers' entry points, the script strip): the rest is reading.
        data, _ = guard(html, "utf-8")
        return parse(data, "utf-8")

    def ours_from_text(html: bytes, url: str) -> Any:
        # What the spider did before it handed bytes over: decode (as response.text), then parse.
        return parse_article(html.decode("utf-8", "replace"), url)

    def traf(html: bytes, url: str) -> Any:
        return trafilatura.bare_extraction(html, url=url, with_metadata=True)

    funcs = {
        "lxml": lxml_parse,
        "parse_article": ours,
        "parse_only": ours_parse_only,
        "parse_article_text": ours_from_text,
        "trafilatura": traf,
    }
    times: dict[str, dict[str, list[float]]] = {k: {p[0]: [] for p in pages} for k in funcs}
    errors: dict[str, str] = {}
    # Warm-up round (imports, caches, lazy compiles) is not counted.
    for name, url, html in pages:
        for k, f in funcs.items():
            try:
                f(html, url)
            except Exception as e:  # a crash is reported, not hidden behind a timing
                errors[f"{k} {name}"] = f"{type(e).__name__}: {e}"
    gc.collect()
    perf = time.thread_time  # CPU time: other load on the machine does not count
    for r in range(rounds):
        order = list(funcs.items())
        if r % 2:
            order.reverse()  # no extractor always runs on a cache warmed by the previous one
        for name, url, html in pages:
            for k, f in order:
                t0 = perf()
                with contextlib.suppress(Exception):
                    f(html, url)
                times[k][name].append((perf() - t0) * 1000)
    per_page = {k: {n: statistics.median(v) for n, v in d.items()} for k, d in times.items()}
    med = {k: statistics.median(d.values()) for k, d in per_page.items()}
    return {
        "source": src,
        "pages": len(pages),
        "rounds": rounds,
        "per_page": per_page,
        "median_ms": med,
        "ratio_lxml": med["parse_article"] / med["lxml"],
        "ratio_traf": med["parse_article"] / med["trafilatura"],
        "errors": errors,
    }


# --------------------------------------------------------------------------------------------
# Local mirror: a fast asyncio HTTP/1.1 server in its own process, pages generated lazily by id
# --------------------------------------------------------------------------------------------

FIRST_ID = 90_000_000
PER_SITEMAP = 1000
LASTMOD = "2026-11-20T10:00:00+00:00"

# Counters shared with the server process: [all requests, article pages, sitemaps, feeds,
# robots, 404s]
C_ALL, C_ARTICLE, C_SITEMAP, C_FEED, C_ROBOTS, C_404 = range(6)

FALLBACK_TEMPLATE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Bench city opens a new library – DW – 20.11.2026</title>
<link rel="canonical" href="https://www.dw.com/en/bench-city-opens-a-new-library/a-1000001">
<meta property="og:title" content="Bench city opens a new library – DW – 20.11.2026">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"Bench city opens a new library","datePublished":"2026-11-20T09:30:00.000Z",
"dateModified":"2026-11-20T09:45:00.000Z","author":[{"@type":"Person","name":"Ada Example"}],
"image":[{"@type":"ImageObject","url":"https://static.dw.com/image/1000002_6.jpg"}]}</script>
</head><body><a href="#main">Skip to content</a><nav><a href="/en/">Home</a></nav>
<main id="main"><article><header><h1>Bench city opens a new library</h1>
<p>The town's readers finally get a building of their own.</p></header>
<div class="rich-text" data-tracking-name="rich-text">
<p>The new library opened on Thursday with shelves for forty thousand books.</p>
<h2>Years of planning</h2><p>Residents had asked for a library for more than a decade.</p>
<p>The mayor said the building would stay open late on weekdays.</p>
<p>ae/xy (dpa, AFP)</p></div></article></main></body></html>
"""


def page_templates() -> list[tuple[str, str, str, str]]:
    """[(lang, slug, original id number, html)] to stamp new ids into.

    Taken from the repository's own fixtures (invented text in DW markup); a built-in page
    when there are none yet.
    """
    out = []
    for f in sorted(FIXTURE_PAGES.glob("*.html")):
        html = f.read_text(encoding="utf-8", errors="replace")
        url = page_url(f, html.encode("utf-8"))
        m = re.match(r"https?://[^/]+/([^/]+)/(?:([^/]+)/)?a-(\d+)/?$", url)
        if not m:
            continue  # only article pages: the crawl benchmark is about /a- pages
        lang, slug, num = m.group(1), m.group(2) or "article", m.group(3)
        if len(num) < 5 or html.count(num) == 0:
            continue  # a short id would also match unrelated digits
        out.append((lang, slug, num, html))
    if not out:
        out.append(("en", "bench-city-opens-a-new-library", "1000001", FALLBACK_TEMPLATE))
    return out


class Mirror:
    """What the server serves: robots.txt, sitemaps, feeds and n article pages by id."""

    def __init__(self, n: int, templates: list[tuple[str, str, str, str]]) -> None:
        self.n = n
        self.templates = [(lang, slug, html.split(num)) for lang, slug, num, html in templates]
        self.langs = sorted({t[0] for t in self.templates})
        self.cache: dict[str, bytes] = {}

    def article(self, i: int) -> tuple[str, str, list[str]]:
        return self.templates[i % len(self.templates)]

    def article_path(self, i: int) -> str:
        lang, slug, _ = self.article(i)
        return f"/{lang}/{slug}/a-{FIRST_ID + i}"

    def ids_for(self, lang: str) -> list[int]:
        return [i for i in range(self.n) if self.article(i)[0] == lang]

    def sitemap_index(self, lang: str, base: str) -> bytes:
        chunks = (len(self.ids_for(lang)) + PER_SITEMAP - 1) // PER_SITEMAP
        items = "".join(
            f"<sitemap><loc>{base}/{lang}/article-sitemap-{k}.xml</loc>"
            f"<lastmod>{LASTMOD}</lastmod></sitemap>"
            for k in range(chunks)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{items}</sitemapindex>"
        ).encode()

    def sitemap(self, lang: str, k: int, base: str) -> bytes:
        ids = self.ids_for(lang)[k * PER_SITEMAP : (k + 1) * PER_SITEMAP]
        items = "".join(
            f"<url><loc>{base}{self.article_path(i)}</loc><lastmod>{LASTMOD}</lastmod></url>"
            for i in ids
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{items}</urlset>"
        ).encode()

    def route(self, path: str, base: str) -> tuple[int, dict[str, str], bytes, int]:
        """(status, headers, body, counter index) for a request path."""
        status, ctype, body, counter = self._route(path.split("?", 1)[0], base)
        return status, {"Content-Type": ctype}, body, counter

    def _route(self, path: str, base: str) -> tuple[int, str, bytes, int]:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /private/\n", C_ROBOTS
        m = CONTENT_ID_RE.search(path)
        if m and m.group(1) == "a":
            i = int(m.group(2)) - FIRST_ID
            if 0 <= i < self.n:
                lang, _, parts = self.article(i)
                if path.startswith(f"/{lang}/"):
                    body = str(FIRST_ID + i).join(parts).encode("utf-8")
                    return 200, "text/html; charset=utf-8", body, C_ARTICLE
            return 404, "text/plain", b"not found", C_404
        if path.startswith("/xml/rss-") or path.startswith("/rdf/rss-"):
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                b"<title>DW</title><link>https://www.dw.com</link></channel></rss>"
            )
            return 200, "application/rss+xml", body, C_FEED
        m = re.fullmatch(r"/([a-z-0-9]+)/(news-sitemap|article-sitemap)(?:-(\d+))?\.xml", path)
        if m and m.group(1) in self.langs:
            lang, kind, k = m.group(1), m.group(2), m.group(3)
            if path not in self.cache:
                if kind == "news-sitemap":
                    body = (
                        b'<?xml version="1.0" encoding="UTF-8"?>\n'
                        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"></urlset>'
                    )
                elif k is None:
                    body = self.sitemap_index(lang, base)
                else:
                    body = self.sitemap(lang, int(k), base)
                self.cache[path] = body
            return 200, "application/xml", self.cache[path], C_SITEMAP
        return 404, "text/plain", b"not found", C_404


NEWS_PER_EDITION = 100  # DW's news sitemap and feed list the last ~48 hours, not the archive


def import_dwsite() -> Any:
    """tests/dwsite.py (the crawl engineer's page generator), or None when it is absent."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    try:
        import dwsite
    except Exception:
        return None
    return dwsite if hasattr(dwsite, "DWSite") else None


class DwsiteMirror:
    """The repository's own generator (tests/dwsite.py): invented articles in both layouts
    and two editions, each page different, with DW's clutter; its own routing (sitemap index
    with a gzipped child, news sitemap, RSS, robots.txt), answers cached where static."""

    def __init__(self, n: int, dwsite: Any) -> None:
        self.site = dwsite.DWSite()
        self.langs = ["en", "de"]
        arts = self.site.generate(n, langs=tuple(self.langs), start_id=FIRST_ID)
        for rank, a in enumerate(arts):  # generate() goes from newest to oldest
            a.in_news = a.in_rss = rank < NEWS_PER_EDITION * len(self.langs)
        self.cache: dict[str, tuple[int, dict[str, str], bytes, int]] = {}

    def route(self, target: str, base: str) -> tuple[int, dict[str, str], bytes, int]:
        """(status, headers, body, counter index) for a request target."""
        path = target.split("?", 1)[0]
        if path in self.cache:
            return self.cache[path]
        status, headers, body = self.site.respond(_FakeRequest(target))
        if CONTENT_ID_RE.search(path):
            counter = C_ARTICLE if status == 200 else C_404
            return status, headers, body, counter
        if path == "/robots.txt":
            counter = C_ROBOTS
        elif "sitemap" in path:
            counter = C_SITEMAP
        elif path.startswith(("/xml/", "/rdf/")):
            counter = C_FEED
        else:
            counter = C_404
        self.cache[path] = (status, headers, body, counter)
        return self.cache[path]


class _FakeRequest:
    """What DWSite.respond reads from its request handler."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.headers: dict[str, str] = {}
        self.command = "GET"


class _Conn(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server protocol: GET only, no request bodies."""

    mirror: Mirror | DwsiteMirror
    counters: Any
    base: str

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end], self.buf[end + 4 :]
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            target = parts[1] if len(parts) > 1 else "/"
            status, headers, body, counter = self.mirror.route(target, self.base)
            self.counters[C_ALL] += 1
            self.counters[counter] += 1
            reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}.get(status, "X")
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            hdr = (
                f"HTTP/1.1 {status} {reason}\r\n{extra}"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            ).encode("latin-1")
            self.transport.write(hdr + (b"" if parts[0] == "HEAD" else body))


def describe(mirror: Mirror | DwsiteMirror, n: int) -> str:
    """Where the pages come from and how big they are, for the report."""
    sizes = []
    for i in range(0, n, max(1, n // 50)):
        if isinstance(mirror, DwsiteMirror):
            a = mirror.site.articles.get(f"a-{FIRST_ID + i}")
            body = a.html().encode() if a else b""
        else:
            body = mirror.route(mirror.article_path(i), "")[2]
        sizes.append(len(body))
    avg = sum(sizes) / max(len(sizes), 1) / 1024
    if isinstance(mirror, DwsiteMirror):
        return f"tests/dwsite.py generator, editions en+de, both layouts, ~{avg:.0f} KB/page"
    src = "tests/fixtures/pages" if any(FIXTURE_PAGES.glob("*.html")) else "built-in page"
    return f"{src} as templates under new ids, ~{avg:.1f} KB/page"


def _serve(n: int, counters: Any, port_q: Any) -> None:
    """Server process entry point: bind port 0 on 127.0.0.1, report the port, serve forever."""
    dwsite = None if os.environ.get("DW_BENCH_TEMPLATES") else import_dwsite()
    mirror: Mirror | DwsiteMirror = (
        DwsiteMirror(n, dwsite) if dwsite else Mirror(n, page_templates())
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        _Conn.mirror, _Conn.counters, _Conn.base = mirror, counters, f"http://127.0.0.1:{port}"
        server = await loop.create_server(_Conn, sock=sock, backlog=512)
        port_q.put((port, mirror.langs, describe(mirror, n)))
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class MirrorServer:
    """Runs the mirror in a separate process; .port, .langs and request counters."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
        self.counters = ctx.Array("q", 6, lock=False)
        q = ctx.Queue()
        self.proc = ctx.Process(target=_serve, args=(n, self.counters, q), daemon=True)
        self.proc.start()
        self.port, self.langs, self.desc = q.get(timeout=60)
        self.base = f"http://127.0.0.1:{self.port}"

    def counts(self) -> dict[str, int]:
        c = list(self.counters)
        return {
            "all": c[C_ALL],
            "article": c[C_ARTICLE],
            "sitemap": c[C_SITEMAP],
            "feed": c[C_FEED],
            "robots": c[C_ROBOTS],
            "404": c[C_404],
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


# --------------------------------------------------------------------------------------------
# Crawl and no-op run
# --------------------------------------------------------------------------------------------


EXTRA_SETTINGS: dict[str, str] = {}  # --set NAME=VALUE, for experiments
BASELINE_PAGES = 3000  # the Scrapy-alone reference stops here: it is a rate, not a product
VARIANT_PAGES = 5000  # the crawl without WARC capture stops here (also a rate)
VARIANT_BUDGET = 420.0  # s: skip the variant when the machine is so slow that make bench
# would pass 10 minutes


def scrapy_cmd(
    server: MirrorServer, workdir: Path, timeout: int, extra: dict[str, str] | None = None
) -> list[str]:
    """`scrapy crawl dw` against the mirror: concurrency 32, throttling off, pipelines on."""
    scrapy = Path(sys.executable).parent / "scrapy"
    cmd = [str(scrapy)] if scrapy.exists() else [sys.executable, "-m", "scrapy"]
    sets = {
        "DW_BASE_URL": server.base,
        "DW_RSS_URL": server.base,
        "DW_OUTPUT_DIR": str(workdir / "output"),
        "DW_STATE_PATH": str(workdir / "state.sqlite3"),
        "CONCURRENT_REQUESTS": "32",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
        "CONCURRENT_REQUESTS_PER_IP": "0",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(workdir / "crawl.log"),
        "CLOSESPIDER_TIMEOUT": str(timeout),
        **EXTRA_SETTINGS,
        **(extra or {}),
    }
    cmd += ["crawl", "dw", "-a", "mode=archive", "-a", "lang=" + ",".join(server.langs)]
    for k, v in sets.items():
        cmd += ["-s", f"{k}={v}"]
    return cmd


def baseline_cmd(server: MirrorServer, workdir: Path, timeout: int) -> list[str]:
    """A do-nothing sitemap spider outside the project, same concurrency: Scrapy's ceiling."""
    scrapy = Path(sys.executable).parent / "scrapy"
    cmd = [str(scrapy)] if scrapy.exists() else [sys.executable, "-m", "scrapy"]
    cmd += ["runspider", str(ROOT / "benchmarks" / "baseline_spider.py")]
    cmd += ["-a", f"base={server.base}", "-a", "langs=" + ",".join(server.langs)]
    sets = {
        "ROBOTSTXT_OBEY": "True",
        "CONCURRENT_REQUESTS": "32",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "TELNETCONSOLE_ENABLED": "False",
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(workdir / "crawl.log"),
        "CLOSESPIDER_TIMEOUT": str(timeout),
        "CLOSESPIDER_PAGECOUNT": str(BASELINE_PAGES),
        "CONCURRENT_ITEMS": "1",  # as dwscraper sets it: the default 100 costs ~3 ms per page
        **EXTRA_SETTINGS,
    }
    for k, v in sets.items():
        cmd += ["-s", f"{k}={v}"]
    return cmd


def run_crawl(
    server: MirrorServer,
    workdir: Path,
    timeout: int,
    marks: tuple[int, ...] = (),
    baseline: bool = False,
    profile: Path | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one crawl; sample its RSS (psutil, 20 Hz) against the server's article count."""
    import psutil

    before = server.counts()
    out_dir = workdir / "output"
    old_files = set(out_dir.glob("*.jsonl*")) if out_dir.is_dir() else set()
    log = workdir / "crawl.log"
    with contextlib.suppress(FileNotFoundError):
        log.unlink()
    if baseline:  # outside the project: no project settings, pipelines or extensions
        env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
        cmd, cwd = baseline_cmd(server, workdir, timeout), workdir
    else:
        env = dict(os.environ, PYTHONPATH=str(ROOT), SCRAPY_SETTINGS_MODULE="dwscraper.settings")
        cmd, cwd = scrapy_cmd(server, workdir, timeout, extra), ROOT
    if profile is not None:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), *cmd]
    t0 = time.perf_counter()
    # The crawl's exact CPU time: its rusage once reaped (the sampler below may miss the last
    # 50 ms, and the server process, also our child, is reaped only at the very end).
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[float, int, int]] = []  # (t, articles served, rss)
    cpu = [0.0]  # user+system seconds of the crawl process (rusage once reaped)
    stop = threading.Event()

    def sample() -> None:
        try:
            p = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            try:
                rss = p.memory_info().rss
                rss += sum(c.memory_info().rss for c in p.children(recursive=True))
                ct = p.cpu_times()
                cpu[0] = ct.user + ct.system
            except psutil.Error:
                return
            served = server.counters[C_ARTICLE] - before["article"]
            samples.append((time.perf_counter() - t0, served, rss))
            stop.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        _, stderr = proc.communicate(timeout=timeout + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop.set()
    th.join()
    reaped = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if reaped > 0:
        cpu[0] = reaped
    after = server.counts()
    reqs = {k: after[k] - before[k] for k in after}
    records = 0  # lines in the output files this run created
    for f in set(out_dir.glob("*.jsonl*")) - old_files:
        with f.open("rb") as fh:
            records += sum(1 for _ in fh)
    first = next((t for t, s, _ in samples if s > 0), None)
    last = next((t for t, s, _ in samples if s >= reqs["article"]), wall)
    rss_at = {}
    for mark in marks:
        rss_at[mark] = next((r for _, s, r in samples if s >= mark), None)
    log_text = log.read_text(errors="replace") if log.exists() else ""
    return {
        "rc": proc.returncode,
        "wall": wall,
        "cpu": cpu[0],
        "requests": reqs,
        "records": records,
        "peak_rss": max((r for *_, r in samples), default=0),
        "rss_at": rss_at,
        "steady": (reqs["article"] / (last - first)) if first is not None and last > first else 0,
        "stderr_tail": (stderr or "").strip().splitlines()[-5:],
        "log_errors": [ln for ln in log_text.splitlines() if " ERROR: " in ln][:5],
        "stats": _final_stats(log_text),
    }


def _final_stats(log_text: str) -> dict[str, Any]:
    """A few of Scrapy's closing stats from the log (finish reason, skips) for the report."""
    out: dict[str, Any] = {}
    for key in ("finish_reason", "item_scraped_count", "item_dropped_count"):
        m = re.search(rf"'{key}': ([^,\n}}]+)", log_text)
        if m:
            out[key] = m.group(1).strip("'")
    skips = re.findall(r"'dwscraper/skipped/([^']+)': (\d+)", log_text)
    if skips:
        out["skipped"] = dict(skips)
    return out


def state_store_available() -> bool:
    """The incremental store (issue 3) has landed when dwscraper.state imports."""
    return importlib.util.find_spec("dwscraper.state") is not None


def spider_available() -> bool:
    """The `dw` spider has landed when some module under dwscraper/spiders/ names it."""
    return any(
        re.search(r"""name\s*=\s*["']dw["']""", f.read_text(errors="replace"))
        for f in (ROOT / "dwscraper" / "spiders").glob("*.py")
    )


def bench_crawl(
    n: int, timeout: int, baseline: bool
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None]:
    """Baseline crawl, full crawl of n generated pages, then the no-op rerun over its state."""
    started = time.perf_counter()
    server = MirrorServer(n)
    workdir = Path(tempfile.mkdtemp(prefix="dwbench-"))
    try:
        base = None
        if baseline:
            (workdir / "baseline").mkdir()
            base = run_crawl(server, workdir / "baseline", timeout, marks=(2000, n), baseline=True)
        if not spider_available():
            return base, {"error": "spider not available"}, None
        crawl = run_crawl(server, workdir, timeout, marks=(2000, n))
        crawl["pages_desc"] = server.desc
        if base is not None:
            # The machine's speed drifts: a second reference run after the crawl, and the
            # ratio is taken against the mean of the two (the one before, the one after).
            (workdir / "baseline2").mkdir()
            again = run_crawl(server, workdir / "baseline2", timeout, baseline=True)
            per_page = [
                b["cpu"] / max(b["requests"]["article"], 1) for b in (base, again) if b["cpu"]
            ]
            base["cpu_per_page_runs"] = per_page
        noop = None
        if state_store_available() and crawl["records"] > 0:
            noop = run_crawl(server, workdir, timeout)
        if time.perf_counter() - started < VARIANT_BUDGET:
            # What WARC capture costs: the same crawl, pipelines on, DW_WARC_DIR empty.
            (workdir / "nowarc").mkdir()
            crawl["no_warc"] = run_crawl(
                server,
                workdir / "nowarc",
                timeout,
                extra={"DW_WARC_DIR": "", "CLOSESPIDER_PAGECOUNT": str(VARIANT_PAGES)},
            )
        return base, crawl, noop
    finally:
        server.stop()
        if os.environ.get("DW_BENCH_KEEP"):
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ok(cond: bool | None) -> str:
    return "n/a" if cond is None else ("yes" if cond else "**no**")


def report(
    ext: dict[str, Any] | None,
    base: dict[str, Any] | None,
    crawl: dict[str, Any] | None,
    noop: dict[str, Any] | None,
    n: int,
    elapsed: float,
) -> str:
    """The markdown table (stdout and RESULTS.md)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    m, v = machine(), versions()
    lines = [
        "# dwscraper benchmarks",
        "",
        f"Date: {now} · `make bench` took {elapsed:.0f} s",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
        f"Load average at the end (other work on the machine skews wall times): "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| benchmark | metric | value | target | met |",
        "|---|---|---|---|---|",
    ]
    row = lines.append
    if ext and ext.get("pages"):
        med = ext["median_ms"]
        tag = f"extraction ({ext['pages']} pages × {ext['rounds']} rounds)"
        row(f"| {tag} | bare lxml parse, median ms/page | {med['lxml']:.2f} | floor | |")
        row(f"| | parse_article, median ms/page | {med['parse_article']:.2f} | | |")
        if "parse_only" in med:
            floor, parsing = med["lxml"], med["parse_only"]
            reading = med["parse_article"] - parsing
            row(
                "| | of which: parsing (guard, lxml with our options, entry-point scan, "
                f"strip) / reading and assembling the record, median ms/page | "
                f"{parsing:.2f} ({parsing / floor:.2f}x lxml) / "
                f"{reading:.2f} ({reading / floor:.2f}x) | | |"
            )
        if "parse_article_text" in med:
            saved = 1 - med["parse_article"] / med["parse_article_text"]
            row(
                "| | parse_article after decoding to str (the response.text path), median "
                f"ms/page | {med['parse_article_text']:.2f} (bytes save {saved:.0%}) | | |"
            )
        row(f"| | trafilatura bare_extraction, median ms/page | {med['trafilatura']:.2f} | | |")
        r1, r2 = ext["ratio_lxml"], ext["ratio_traf"]
        row(f"| | parse_article / lxml | {r1:.2f}x | <= 1.5x | {_ok(r1 <= 1.5)} |")
        row(f"| | parse_article / trafilatura | {r2:.3f}x | <= 0.1x | {_ok(r2 <= 0.1)} |")
    else:
        row("| extraction | | n/a (no pages) | | |")
    if crawl and "error" not in crawl:
        got = crawl["requests"]["article"]
        tag = f"crawl ({n:,} pages, concurrency 32)"
        row(f"| {tag} | pages served | {crawl.get('pages_desc', '?')} | | |")
        tag = ""
        pps = got / crawl["wall"] if crawl["wall"] else 0
        row(
            f"| | pages/s end to end (process start to exit) | {pps:.0f} | >= 150 | "
            f"{_ok(pps >= 150 and got >= n)} |"
        )
        row(f"| | pages/s steady (first to last article response) | {crawl['steady']:.0f} | | |")
        row(f"| | article pages fetched / records written | {got:,} / {crawl['records']:,} | "
            f"{n:,} / {n:,} | {_ok(got == n and crawl['records'] == n)} |")  # fmt: skip
        row(f"| | wall time, exit code | {crawl['wall']:.1f} s, {crawl['rc']} | | |")
        row(
            f"| | crawl process CPU per page (user+sys, load-independent) | "
            f"{crawl['cpu'] * 1000 / max(got, 1):.2f} ms | <= 6.7 ms for 150/s | |"
        )
        peak = crawl["peak_rss"] / MB
        row(f"| | peak RSS | {peak:.0f} MB | <= 250 MB | {_ok(peak <= 250)} |")
        a, b = crawl["rss_at"].get(2000), crawl["rss_at"].get(n)
        if a and b:
            growth = (b - a) / a
            row(
                f"| | RSS at 2,000 → {n:,} pages | {a / MB:.0f} → {b / MB:.0f} MB "
                f"({growth:+.0%}) | within 20% | {_ok(abs(growth) <= 0.2)} |"
            )
        else:
            row(f"| | RSS at 2,000 → {n:,} pages | n/a (not reached) | within 20% | n/a |")
        nw = crawl.get("no_warc")
        if nw and nw["requests"]["article"]:
            got2 = nw["requests"]["article"]
            pps2 = got2 / nw["wall"] if nw["wall"] else 0
            row(
                f"| | same crawl without WARC capture (`-s DW_WARC_DIR=`, first {got2:,} "
                f"pages): pages/s; CPU per page | {pps2:.0f}; "
                f"{nw['cpu'] * 1000 / got2:.2f} ms | >= 150 | {_ok(pps2 >= 150)} |"
            )
    else:
        why = (crawl or {}).get("error", "skipped")
        row(f"| crawl | | n/a ({why}) | | |")
    if base:
        pps = base["requests"]["article"] / base["wall"] if base["wall"] else 0
        runs = base.get("cpu_per_page_runs") or [base["cpu"] / max(base["requests"]["article"], 1)]
        base_cpu = sum(runs) / len(runs)
        cpu_txt = f"{base_cpu * 1000:.2f} ms"
        if len(runs) > 1:
            cpu_txt += " (mean of " + " and ".join(f"{r * 1000:.2f}" for r in runs) + ")"
        row(
            f"| | reference: Scrapy alone (sitemap spider, no extraction, same engine settings), "
            f"pages/s end to end; CPU per page (runs before and after the crawl); peak RSS | "
            f"{pps:.0f}; {cpu_txt}; {base['peak_rss'] / MB:.0f} MB | | |"
        )
        if crawl and "error" not in crawl and base_cpu and crawl["requests"]["article"]:
            ratio = (crawl["cpu"] / crawl["requests"]["article"]) / base_cpu
            row(
                f"| | CPU per page, dwscraper / Scrapy alone (load-independent proxy) | "
                f"{ratio:.2f}x | <= 2.07x (150 vs 310 pages/s, issue 7) | {_ok(ratio <= 2.07)} |"
            )
    if noop:
        r = noop["requests"]
        row(
            f"| no-op run ({n:,} known articles) | wall time | {noop['wall']:.1f} s | <= 5 s | "
            f"{_ok(noop['wall'] <= 5)} |"
        )
        row(f"| | CPU time (user+sys) | {noop['cpu']:.1f} s | | |")
        row(
            f"| | requests (article / all) | {r['article']} / {r['all']} | 0 article | "
            f"{_ok(r['article'] == 0)} |"
        )
        row(f"| | records written, exit code | {noop['records']}, {noop['rc']} | 0 | "
            f"{_ok(noop['records'] == 0)} |")  # fmt: skip
    elif crawl and "error" not in crawl and not state_store_available():
        row("| no-op run | | n/a (state store not available) | <= 5 s, 0 article requests | |")
    else:
        row("| no-op run | | n/a | <= 5 s, 0 article requests | |")
    lines.append("")
    if ext and ext.get("pages"):
        lines += [
            f"Extraction pages: `{ext['source']}` (raw UTF-8 bytes in, as the spider "
            "hands a UTF-8 page over; CPU time of the benchmark thread); "
            "each function runs on each page in turn, order alternating per round; "
            "one warm-up round not counted. Per page (median ms):",
            "",
            "| page | lxml | parse_article | parse_article from str | trafilatura | "
            "parse_article / lxml |",
            "|---|---|---|---|---|---|",
        ]
        pp = ext["per_page"]
        for name in pp["lxml"]:
            a, b, c = pp["lxml"][name], pp["parse_article"][name], pp["trafilatura"][name]
            t = pp["parse_article_text"][name]
            lines.append(f"| {name} | {a:.2f} | {b:.2f} | {t:.2f} | {c:.2f} | {b / a:.2f}x |")
        if ext.get("errors"):
            lines += ["", "Errors during warm-up: " + "; ".join(
                f"{k}: {e}" for k, e in ext["errors"].items())]  # fmt: skip
        lines.append("")
    nowarc = (crawl or {}).get("no_warc")
    for label, c in (
        ("crawl", crawl),
        ("no-op run", noop),
        ("baseline", base),
        ("no-WARC crawl", nowarc),
    ):
        if c and "error" not in c:
            lines.append(
                f"{label.capitalize()} details: requests {c['requests']}, "
                f"stats {c['stats']}"
                + (f", log errors {c['log_errors']}" if c["log_errors"] else "")
                + (f", stderr {c['stderr_tail']}" if c["rc"] else "")
            )
            lines.append("")
    lines += [
        "Crawl: `scrapy crawl dw -a mode=archive -a lang=<editions>` in a subprocess against "
        "a local asyncio HTTP server in a separate process (so it is never the bottleneck) that "
        "renders each page lazily by id: robots.txt, per-edition sitemap indexes, news sitemaps "
        f"and feeds listing the newest {NEWS_PER_EDITION} per edition, and the pages (see "
        "'pages served'); `-s CONCURRENT_REQUESTS=32 CONCURRENT_REQUESTS_PER_DOMAIN=32 "
        "DOWNLOAD_DELAY=0 AUTOTHROTTLE_ENABLED=False`, default pipelines. RSS is the crawl "
        "process's resident set (psutil, sampled every 50 ms) when the server had served "
        "2,000 and all article pages; CPU is the crawl process's user+sys time (rusage). The "
        "no-op run is the same command again over the same state store and output directory. "
        "The Scrapy-alone reference runs before and after the crawl; the ratio uses the mean "
        "of its two CPU-per-page figures, since the machine's speed drifts.",
        "",
    ]
    return "\n".join(lines)


def profile_extraction(top: int) -> None:
    """cProfile of parse_article over the benchmark pages (for finding hot spots)."""
    import cProfile
    import pstats

    from dwscraper.parsing import parse_article

    _, pages = load_pages()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        for _, url, html in pages:
            parse_article(html, url, "utf-8")
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def profile_crawl(n: int, timeout: int, top: int, noop: bool = False) -> None:
    """cProfile of one `scrapy crawl dw` over n pages, or (noop) of the rerun after it."""
    import pstats

    server = MirrorServer(n)
    workdir = Path(tempfile.mkdtemp(prefix="dwbench-prof-"))
    prof = Path(tempfile.gettempdir()) / "dwbench-crawl.prof"  # kept for pstats browsing
    try:
        if noop:
            run_crawl(server, workdir, timeout)
        res = run_crawl(server, workdir, timeout, profile=prof)
        print(f"crawl: {res['requests']}, {res['wall']:.1f} s, rc {res['rc']}")
        stats = pstats.Stats(str(prof))
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        print(f"profile kept in {prof}")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10_000, help="generated pages to crawl")
    ap.add_argument("--rounds", type=int, default=15, help="extraction rounds")
    ap.add_argument("--crawl-timeout", type=int, default=300, help="CLOSESPIDER_TIMEOUT, s")
    ap.add_argument("--skip-crawl", action="store_true")
    ap.add_argument("--skip-extraction", action="store_true")
    ap.add_argument("--no-baseline", action="store_true", help="skip the Scrapy-alone crawl")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    ap.add_argument("--profile", action="store_true", help="cProfile parse_article and exit")
    ap.add_argument("--profile-crawl", action="store_true", help="cProfile a crawl and exit")
    ap.add_argument("--profile-noop", action="store_true", help="cProfile the no-op rerun")
    ap.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="extra -s for crawls"
    )
    args = ap.parse_args(argv)
    for kv in args.set:
        k, _, v = kv.partition("=")
        EXTRA_SETTINGS[k] = v
    if args.profile:
        profile_extraction(40)
        return 0
    if args.profile_crawl or args.profile_noop:
        profile_crawl(args.pages, args.crawl_timeout, 60, noop=args.profile_noop)
        return 0
    t0 = time.perf_counter()
    ext = None if args.skip_extraction else bench_extraction(args.rounds)
    base = crawl = noop = None
    if not args.skip_crawl:
        base, crawl, noop = bench_crawl(args.pages, args.crawl_timeout, not args.no_baseline)
    text = report(ext, base, crawl, noop, args.pages, time.perf_counter() - t0)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
