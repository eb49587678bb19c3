"""Which fetched page becomes a record: the page checks a crawl and a re-extraction share.

This module owns the rule that turns one fetched page into a parsed record or a skip reason
(not_html, empty_page, no_article, parse_error). The spider's page callback
(dwscraper/spiders/dw.py) and the offline re-extraction (dwscraper/reextract.py) both call
record_from_page, so re-extracting a WARC skips exactly what the crawl skipped. No Scrapy
import: each caller decodes the page its own way and counts the skip its own way (the spider
through the ledger, dwscraper/accounting.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dwscraper import urls


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a page gives no record: a ledger reason and a detail for the log line."""

    reason: str
    detail: str = ""


def is_page_type(content_type: str) -> bool:
    """True for a Content-Type a page may have: html or xml, or none at all.

    A missing type is left to the body sniffing of Scrapy's response classes (the caller
    then says whether the page is text at all).
    """
    ctype = content_type.lower()
    return not ctype or "html" in ctype or "xml" in ctype


def record_from_page(
    body: bytes,
    content_type: str,
    canonical: str,
    text: Callable[[], str] | None,
) -> tuple[dict[str, Any] | None, Skip | None]:
    """(parsed record, None) or (None, Skip) for one fetched page, checks in a fixed order.

    body is the raw page, content_type its Content-Type header (may be ""), canonical the
    page's https://www.dw.com URL (after redirects). text returns the decoded page and is
    called only when the page is parsed; None means the response is not text at all. The
    record is parse_article's, without the caller's discovery keys or fetch time.
    """
    if text is None or not is_page_type(content_type):
        return None, Skip("not_html", content_type or "not a text response")
    if not body.strip():
        return None, Skip("empty_page")
    if urls.content_id(canonical) is None:
        # Redirected to a section/topic page: the content is gone.
        return None, Skip("no_article", "redirected to a non-content page")
    # Imported here: a no-change cron run parses no page and skips loading the parser
    # (trafilatura and friends), a good part of its start-up time.
    from dwscraper.parsing import parse_article

    try:
        record = parse_article(text(), canonical)
    except Exception as exc:  # the parser must not stop a crawl or a re-extraction
        return None, Skip("parse_error", repr(exc)[:200])
    if not isinstance(record, dict):
        return None, Skip("parse_error", f"parser returned {type(record).__name__}")
    if record.get("_not_article"):
        # The parser says why (parsing/article.py): a crash inside it is a parse_error (an
        # error toward DW_MAX_ERROR_RATIO), binary or garbage is not_html, the rest no_article.
        why = record.get("_skip_reason") or ""
        if why == "extraction_error":
            return None, Skip("parse_error", why)
        if why == "not_html":
            return None, Skip("not_html", "the parser found no HTML")
        return None, Skip("no_article", why)
    return record, None
