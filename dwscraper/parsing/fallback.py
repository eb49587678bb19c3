"""Graceful degradation: trafilatura on the best subtree when no DW reader recognizes a page.

Used only when neither layout is found (a redesign, an unknown page kind), so a change on
dw.com lowers quality instead of losing records; the record says "extractor": "fallback".
"""

from __future__ import annotations

import logging

import lxml.etree as etree

from dwscraper.parsing.document import Doc, Element
from dwscraper.parsing.text import clean_fallback_text, raw_text, word_count

log = logging.getLogger(__name__)

# Fewer words than this is navigation or a stub, not an article's text.
MIN_WORDS = 12


def best_subtree(doc: Doc) -> Element | None:
    """The element most likely to hold the story: the longest <article>, else <main>, else
    <body>. Restricting trafilatura to it keeps site menus and footers out of its view."""
    for group in (doc.articles, doc.mains):
        if group:
            return max(group, key=lambda el: len(raw_text(el)))
    if doc.root is None:
        return None
    body = doc.root.find("body")
    return body if body is not None else doc.root


def extract(doc: Doc, url: str | None, drop: tuple[str | None, ...] = ()) -> str | None:
    """Main text by trafilatura (no metadata: ours comes from the page's own markup)."""
    tree = best_subtree(doc)
    if tree is None:
        return None
    html = (
        "<html><body>" + etree.tostring(tree, encoding="unicode", method="html") + "</body></html>"
    )
    # Imported on first use: DW's own layouts never need it, and loading trafilatura (with
    # courlan, urllib3 and friends) costs ~0.2 s at the start of every run that parses pages.
    import trafilatura

    try:
        result = trafilatura.bare_extraction(
            html, url=url, with_metadata=False, include_comments=False, include_tables=True
        )
    except Exception as exc:
        log.debug("trafilatura failed on %s: %s", url, exc)
        return None
    text = getattr(result, "text", None) if result is not None else None
    if isinstance(result, dict):
        text = result.get("text")
    text = clean_fallback_text(text, drop)
    if not text or word_count(text) < MIN_WORDS:
        return None
    return text
