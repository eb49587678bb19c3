"""Placeholder until the DW readers land: trafilatura only."""

from __future__ import annotations

from typing import Any

import trafilatura

from dwscraper import urls
from dwscraper.normalize import clean_text
from dwscraper.record import content_hash, new_record


def parse_article(html: str | bytes, url: str) -> dict[str, Any]:
    """The record of one DW page (all fields but fetched_at)."""
    rec = new_record()
    rec["id"] = urls.content_id(url)
    rec["url"] = urls.canonical_url(url)
    rec["language"] = urls.edition(url)
    rec["page_type"] = urls.page_type(url)
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, as_dict=True) or {}
    rec["title"] = doc.get("title")
    rec["text"] = clean_text(doc.get("text"))
    rec["extractor"] = "fallback"
    rec["word_count"] = len(rec["text"].split()) if rec["text"] else 0
    rec["content_hash"] = content_hash(rec)
    return rec
