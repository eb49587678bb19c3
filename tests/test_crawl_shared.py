"""The real DW pages of ../shared/dw, served by a local mirror and crawled end to end.

Issue 2's acceptance run: `scrapy crawl dw -a lang=en,de` against a mirror whose news
sitemaps list the real pages must write one valid record per page whose title, authors,
date and text match the truth. Skipped when ../shared/dw is absent (a fresh clone).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest
from dwsite import DWSite, run_crawl

from dwscraper.evaluate import clutter_lines, prf, score

SHARED = Path(os.environ.get("DW_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
DW = SHARED / "dw"

pytestmark = pytest.mark.skipif(not (DW / "truth").is_dir(), reason="../shared/dw not present")


def _truths() -> dict[str, dict]:
    return {
        p.name.removesuffix(".json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((DW / "truth").glob("*.json"))
        if not p.name.endswith(".orig.json")
    }


def _news_sitemap(entries: list[tuple[str, str | None]]) -> bytes:
    urls = []
    for loc, published in entries:
        news = (
            f"<news:news><news:publication_date>{published}</news:publication_date></news:news>"
            if published
            else ""
        )
        urls.append(f"<url><loc>{escape(loc)}</loc>{news}</url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(urls) + "</urlset>"
    ).encode()


@pytest.fixture(scope="module")
def shared_crawl(tmp_path_factory):
    truths = _truths()
    site = DWSite()
    by_lang: dict[str, list[tuple[str, str | None]]] = {}
    for name, truth in truths.items():
        html = (DW / "pages" / f"{name}.html").read_bytes()
        # The server sees the path percent-encoded, whatever form the truth file writes.
        path = quote(unquote(urlsplit(truth["url"]).path))
        site.routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, html)
        lang = path.split("/")[1]
        # The sitemap date is the page's own day only (no time), as a sitemap may give it.
        published = (truth.get("published") or "")[:10] or None
        by_lang.setdefault(lang, []).append((truth["url"], published))
    for lang in ("en", "de"):
        xml = _news_sitemap(by_lang.get(lang, []))
        site.routes[f"/{lang}/news-sitemap.xml"] = (200, {"Content-Type": "application/xml"}, xml)
    out = tmp_path_factory.mktemp("shared-crawl")
    with site:
        result = run_crawl(site, out, "-a", "lang=en,de")
    return truths, result


def test_one_record_per_real_page(shared_crawl):
    truths, result = shared_crawl
    assert result.returncode == 0, result.log[-3000:]
    by_id = result.by_id()
    assert len(result.records) == len(truths)
    for truth in truths.values():
        rec = by_id[truth["url"].rsplit("/", 1)[1]]
        assert rec["url"].startswith("https://www.dw.com/")
        assert "?" not in rec["url"]


def test_real_pages_match_truth(shared_crawl):
    truths, result = shared_crawl
    by_id = result.by_id()
    f1s = []
    for name, truth in truths.items():
        rec = by_id[truth["url"].rsplit("/", 1)[1]]
        s = score(
            truth,
            title=rec["title"],
            teaser=rec["teaser"],
            text=rec["text"],
            authors=rec["authors"],
            published=rec["published"],
            topics=rec["topics"],
        )
        assert s.title is not False, (name, rec["title"])
        assert s.authors is not False, (name, rec["authors"])
        assert s.published is not False, (name, rec["published"])
        assert s.topics is not False, (name, rec["topics"])
        assert s.snippets_passed == s.snippets_total, (name, s.snippet_failures)
        assert clutter_lines(rec["text"]) == [], name
        if truth.get("body"):
            p, r, f1 = prf(rec["text"], truth["body"])
            print(f"{name}: P={p:.3f} R={r:.3f} F1={f1:.3f}")
            f1s.append(f1)
    assert f1s, "no page with a full truth body"
    mean = sum(f1s) / len(f1s)
    print(f"mean text F1 over {len(f1s)} pages: {mean:.3f}")
    assert mean >= 0.98
