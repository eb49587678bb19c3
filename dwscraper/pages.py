"""Which fetched page becomes a record: the page checks a crawl and a re-extraction share.

This module owns the rule that turns one fetched page into a parsed record or a skip reason
(not_html, empty_page, no_article, parse_error). The spider's page callback
(dwscraper/spiders/dw.py) and the offline re-extraction (dwscraper/reextract.py) both call
record_from_page, so re-extracting a WARC skips exactly what the crawl skipped. No Scrapy
import: each caller resolves the page's charset its own way (then parser_input says what
parse_article reads) and counts the skip its own way (the spider through the ledger,
dwscraper/accounting.py).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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


class TextPage(Protocol):
    """What parser_input needs of a response: Scrapy's TextResponse has it."""

    body: bytes

    @property
    def encoding(self) -> str: ...

    @property
    def text(self) -> str: ...


def parser_input(response: TextPage) -> tuple[str | bytes, str | None]:
    """(what parse_article reads, its encoding argument) for a text response.

    A UTF-8 page (nearly every DW page) goes as its raw bytes: libxml2 reads UTF-8 as it is,
    where response.text would decode it to str and libxml2 re-encode that, ~10-20% of the
    page's parse on real DW pages (~40% on the current layout). response.encoding is the
    charset Scrapy resolved (BOM, header, <meta>), corrected by the crawl's middleware.
    parse_article gives such bytes the record response.text would give (bytes that are not
    plain UTF-8 are decoded there first: parsing/guard.py, parsing/document.py); the tests
    hold it to that. Other charsets go as Scrapy's decoded text, its codec aliases and all.
    """
    try:
        utf8 = codecs.lookup(response.encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    if utf8:
        return response.body, "utf-8"
    return response.text, None


def record_from_page(
    body: bytes,
    content_type: str,
    canonical: str,
    page: Callable[[], tuple[str | bytes, str | None]] | None,
) -> tuple[dict[str, Any] | None, Skip | None]:
    """(parsed record, None) or (None, Skip) for one fetched page, checks in a fixed order.

    body is the raw page, content_type its Content-Type header (may be ""), canonical the
    page's https://www.dw.com URL (after redirects). page returns parse_article's input
    (parser_input) and is called only when the page is parsed; None means the response is
    not text at all. The record is parse_article's, without the caller's discovery keys or
    fetch time.
    """
    if page is None or not is_page_type(content_type):
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
        data, encoding = page()
        record = parse_article(data, canonical, encoding)
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
