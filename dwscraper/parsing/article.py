"""parse_article: one DW page in, one record out. Assembly only; readers do the reading.

The record has every key of dwscraper.record.FIELDS (fetched_at, revision, content_hash and
warc_* are left null for the pipelines: the hash is over the normalized record, so it is
computed once, by normalize_record, not here and again there). parse_article never raises:
whatever goes wrong costs fields, not the record.

"Not an article": when no text can be read at all (not HTML, an empty page, a section page
without prose), the record comes back with "text": None, "extractor": None,
"_not_article": True and a private "_skip_reason" ("not_html", "no_text",
"extraction_error"). Pipelines drop such records with that reason.

Field sources, first that has a value wins:
- title: the layout's h1, JSON-LD headline / APOLLO title, og:title without " – DW – date".
- authors: JSON-LD Person names / APOLLO persons, else the layout's author line (people only).
- published/modified: JSON-LD / APOLLO / meta (UTC, RFC 3339), else the layout's visible day
  (old layout: "Date 28.04.2023" -> "2023-04-28", never an invented midnight).
- topics: the tags the page shows for the article: old layout's smallList Keywords list;
  else the kicker's entries (new layout: thematic focus and region, e.g. "Politik",
  "Russische Föderation"). The "Related topics"/"Themenseiten" /t- links are DW's
  auto-topic recommendations (they list the same unrelated topics under unrelated stories),
  so they go to the private "_related_topics", not to `topics`.
- keywords: meta keywords / news_keywords / JSON-LD keywords, else the smallList Keywords.

Text: the layout's reader (extractor "dw-new" / "dw-old"). When neither layout is recognized
(DW changed its markup), the body HTML DW's page state carries (window.__APP_STATE__ /
__APOLLO_STATE__ content.text) read by the rich-text reader ("dw-state"), with the kicker,
image caption/credit and byline agencies from the same state; trafilatura last ("fallback").
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from dwscraper import urls
from dwscraper.normalize import format_utc, to_rfc3339
from dwscraper.parsing import dates, fallback, new_layout, old_layout
from dwscraper.parsing.document import Doc, parse
from dwscraper.parsing.guard import guard
from dwscraper.parsing.metadata import (
    APOLLO_TYPES,
    Meta,
    fill_from_apollo,
    is_person_name,
    read_meta,
    strip_title_suffix,
)
from dwscraper.parsing.signature import Signature, is_agency, merge_agencies, split_signature
from dwscraper.parsing.text import block_word_count, clean_line, join_blocks, raw_text
from dwscraper.record import new_record

log = logging.getLogger(__name__)

_FORMAT_RE = re.compile(r"\$\{formatId\}|%24%7BformatId%7D|\{formatId\}|%7BformatId%7D")
# DW image format 6 is the 940x529 "sharing" size og:image uses.
IMAGE_FORMAT = "6"
_LANG_NAMES = {
    "albanian": "sq", "amharic": "am", "arabic": "ar", "bengali": "bn", "bosnian": "bs",
    "bulgarian": "bg", "chinese": "zh", "chinese_traditional": "zh-hant",
    "chinese_simplified": "zh", "croatian": "hr", "dari": "fa-af", "english": "en",
    "french": "fr", "german": "de", "greek": "el", "hausa": "ha", "hindi": "hi",
    "indonesian": "id", "swahili": "sw", "kiswahili": "sw", "macedonian": "mk", "pashto": "ps",
    "persian": "fa-ir", "farsi": "fa-ir", "polish": "pl", "portuguese": "pt-br",
    "portuguese_africa": "pt-002", "brazilian": "pt-br", "romanian": "ro", "russian": "ru",
    "serbian": "sr", "spanish": "es", "turkish": "tr", "ukrainian": "uk", "urdu": "ur",
}  # fmt: skip
_ISO_TO_EDITION = {
    "zh-hans": "zh", "zh-cn": "zh", "zh-hant": "zh-hant", "zh-tw": "zh-hant", "zh-hk": "zh-hant",
    "fa": "fa-ir", "fa-ir": "fa-ir", "fa-af": "fa-af", "prs": "fa-af", "pt": "pt-br",
    "pt-br": "pt-br", "pt-pt": "pt-002", "pt-002": "pt-002", "pt-ao": "pt-002", "pt-mz": "pt-002",
}  # fmt: skip
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _hint_edition(hint: str) -> str | None:
    h = hint.strip().lower().replace("_", "-")
    if h in _LANG_NAMES:
        return _LANG_NAMES[h]
    if h.replace("-", "_") in _LANG_NAMES:
        return _LANG_NAMES[h.replace("-", "_")]
    if h in _ISO_TO_EDITION:
        return _ISO_TO_EDITION[h]
    base = h.split("-", 1)[0]
    if base in urls.EDITIONS:
        return base
    return _ISO_TO_EDITION.get(base)


def _language(url_edition: str | None, hints: list[str]) -> tuple[str | None, bool]:
    """Edition code from the URL, cross-checked with the page (html lang, meta, APOLLO)."""
    page = [e for e in (_hint_edition(h) for h in hints if h) if e]
    if url_edition:
        base = url_edition.split("-", 1)[0]
        agrees = not page or any(p == url_edition or p.split("-", 1)[0] == base for p in page)
        return url_edition, not agrees
    return (page[0] if page else None), False


def _image_url(url: str | None) -> str | None:
    if not url:
        return None
    url = _FORMAT_RE.sub(IMAGE_FORMAT, url.strip())
    if url.startswith("//"):
        url = "https:" + url
    return urljoin("https://www.dw.com/", url)


def _visible_day(raw: str | None, lang: str | None) -> str | None:
    """A header date like '30.01.2024', '06/14/2026' (en: month first) or '2024年4月2日'."""
    if not raw:
        return None
    if "T" in raw:
        return _date(raw)
    return dates.day_from(raw, month_first=lang == "en")


def _before(a: str, b: str) -> bool:
    """a is earlier than b (RFC 3339 UTC or days; a day is compared as a day)."""
    if len(a) == 10 or len(b) == 10:
        return a[:10] < b[:10]
    return a < b


def _date(raw: str | None) -> str | None:
    """RFC 3339 UTC of a page date; the ISO form DW writes takes the fast path."""
    if not raw:
        return None
    if _ISO_RE.match(raw):
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            dt = None
        if dt is not None:
            return format_utc(dt)
    try:
        return to_rfc3339(raw)
    except Exception:
        return None


_SKIP_LINK_PREFIX_RE = re.compile(r"^\s*skip\s+next\s+section\s+", re.I)


def _description(value: str | None) -> str | None:
    """A page description as a teaser: some start with the skip link's text when a tool
    wrote the first visible text into it ("Skip next section More than ...")."""
    return _SKIP_LINK_PREFIX_RE.sub("", value) if value else value


def _people(names: list[str]) -> list[str]:
    return [n for n in dict.fromkeys(clean_line(x) for x in names) if n and is_person_name(n)]


def _dedupe_teaser(blocks: list[str], teaser: str | None, title: str | None) -> list[str]:
    """Drop leading blocks that repeat the title or the teaser (generic extractors keep them)."""
    drop = {clean_line(t) for t in (teaser, title) if t}
    while blocks and clean_line(blocks[0]) in drop:
        blocks = blocks[1:]
    return blocks


def _assemble(doc: Doc, url: str) -> dict[str, Any]:
    rec = new_record()
    meta: Meta
    if not url and doc.canonical:
        url = doc.canonical
    rec["id"] = urls.content_id(url) if url else None
    numeric = rec["id"].split("-", 1)[1] if rec["id"] else None
    meta = read_meta(doc, numeric)
    if rec["id"] is None and meta.canonical:
        rec["id"] = urls.content_id(meta.canonical)
        if not url or (rec["id"] and urls.is_dw_host(meta.canonical)):
            # The URL named no content (a p.dw.com short link): the page's own canonical
            # link on dw.com is its address (the URL's path under www.dw.com is no page).
            url = meta.canonical
    rec["url"] = urls.canonical_url(url) if url else None
    page_type = urls.page_type(rec["id"]) if rec["id"] else None
    if page_type is None:
        fill_from_apollo(meta, doc, numeric)
        page_type = APOLLO_TYPES.get(meta.content_type or "")
    rec["page_type"] = page_type
    rec["language"], mismatch = _language(urls.edition(url) if url else None, meta.language_hints)
    if mismatch:
        rec["_language_mismatch"] = meta.language_hints

    title = teaser = section = None
    blocks: list[str] = []
    authors: list[str] = []
    topics: list[str] = []
    keywords: list[str] = list(meta.keywords)
    day = day_raw = None
    image = {"url": None, "caption": None, "credit": None}
    short = None
    signature = Signature()
    related: list[str] = []
    extractor = None

    article = new_layout.find_article(doc.articles, doc.rich_texts)
    if article is not None:
        extractor = "dw-new"
        page = new_layout.read(article, page_type)
        if not (
            (meta.title or page.title)
            and (meta.authors or page.authors)
            and meta.published
            and meta.modified
            and page.short_url
            and page.kicker
            and page.teaser
        ):
            fill_from_apollo(meta, doc, numeric)
        title, teaser, blocks, authors = page.title, page.teaser, page.blocks, page.authors
        topics = page.kicker or meta.kicker
        section = topics[0] if topics else None
        day_raw = page.time_raw
        if not _date(meta.published):
            day = _visible_day(page.time_raw, rec["language"])
        image = {"url": page.image_url, "caption": page.image_caption, "credit": page.image_credit}
        short = meta.short_url or page.short_url
        signature = page.signature
        related = new_layout.related_topics(doc.related_topics)
    elif old_layout.recognize(doc.body_content, doc.long_texts):
        extractor = "dw-old"
        old = old_layout.read(doc.body_content, doc.long_texts)
        title, teaser, blocks, authors = old.title, old.intro, old.blocks, old.authors
        section = old.kicker
        topics = old.keywords or meta.keywords or ([old.kicker] if old.kicker else [])
        keywords = keywords or old.keywords
        day, day_raw = old.date, old.date_raw
        image = {"url": old.image_url, "caption": old.image_caption, "credit": old.image_credit}
        short = old.short_url
        signature, related = old.signature, old.related_topics
    elif doc.root is not None:
        fill_from_apollo(meta, doc, numeric)
        short = meta.short_url
        title = meta.title or meta.title_from_meta
        teaser = meta.teaser or _description(meta.description)
        # DW's markup unrecognized: its page state's body first, a generic extractor last.
        blocks, signature = split_signature(new_layout.state_blocks(meta.apollo_text))
        if blocks:
            extractor = "dw-state"
            related = meta.related_topics
        else:
            text = fallback.extract(doc, rec["url"], drop=(title,))
            blocks, signature = split_signature(text.split("\n\n") if text else [])
            extractor = "fallback" if text else None
        if blocks:
            topics = meta.kicker or keywords
            section = meta.section
            caption = meta.image_caption or meta.image_alt
            image = {"url": None, "caption": caption, "credit": meta.image_credit}
    signature.agencies = merge_agencies(signature.agencies, meta.agencies)
    # An agency named as the page's author ("dpa") is the item's source, not a person.
    credited = [n.strip() for n in authors if n and is_agency(n)]
    signature.agencies = merge_agencies(signature.agencies, credited)

    rec["title"] = clean_line(title) or clean_line(meta.title) or meta.title_from_meta
    if not rec["title"] and doc.root is not None:
        t = doc.root.find(".//title")
        rec["title"] = strip_title_suffix(clean_line(raw_text(t))) if t is not None else None
    if not teaser and extractor == "dw-new":
        # DW's APOLLO teaser, else its og:description / JSON-LD description (the same text).
        teaser = meta.teaser or _description(meta.description)
    teaser = clean_line(teaser)
    blocks = _dedupe_teaser([b for b in blocks if b], teaser, rec["title"])
    # Blocks are clean lines already: joining them is normalize.clean_text's result.
    text = join_blocks(blocks)
    if not text and teaser and extractor:
        # A short item whose only prose is its intro: the intro is the text (DESIGN.md).
        text, teaser = teaser, None
    rec["teaser"] = teaser
    rec["text"] = text
    rec["authors"] = _people(meta.authors) or _people(authors)
    published = _date(meta.published)
    if published:
        rec["published"], rec["published_raw"] = published, clean_line(meta.published)
    else:
        # No usable machine date: the day the page shows (raw as it shows it).
        rec["published"] = day
        rec["published_raw"] = clean_line(day_raw if day else meta.published or day_raw)
    rec["modified"] = _date(meta.modified)
    if rec["modified"] and rec["published"] and _before(rec["modified"], rec["published"]):
        rec["modified"] = None  # a change before publication is wrong data, not a date
    rec["section"] = clean_line(section)
    rec["topics"] = [t for t in dict.fromkeys(clean_line(x) for x in topics) if t]
    rec["keywords"] = [k for k in dict.fromkeys(clean_line(x) for x in keywords) if k]
    image_url = _image_url(meta.image_url) or _image_url(image["url"])
    caption = clean_line(image["caption"]) or (clean_line(meta.image_alt) if image_url else None)
    credit = clean_line(image["credit"])
    rec["image"] = (
        {"url": image_url, "caption": caption, "credit": credit}
        if (image_url or caption or credit)
        else None
    )
    rec["short_url"] = urls.permalink(short)
    rec["editors"] = signature.editors
    rec["agencies"] = signature.agencies
    rec["word_count"] = block_word_count(text)
    rec["extractor"] = extractor if text else None
    if related:
        rec["_related_topics"] = related
    if not text:
        rec["_skip_reason"] = "not_html" if doc.root is None else "no_text"
        rec["_not_article"] = True
    return rec


def parse_article(html: str | bytes, url: str, encoding: str | None = None) -> dict[str, Any]:
    """The record of one DW page (all fields but fetched_at, revision, content_hash, warc_*).

    Pure and total: never raises, whatever the input. See the module docstring for where
    each field comes from and for the "not an article" result (text None + _skip_reason).
    html may be the raw bytes: then `encoding` is the charset the transport declared (HTTP
    Content-Type), which wins over the page's <meta> as in a browser; without it the bytes
    are sniffed (BOM, <meta charset>, valid UTF-8, else cp1252). UTF-8 bytes are the fastest
    input: libxml2 reads them as they are, with no decode to str and back.
    """
    try:
        # size cap, binary sniff, attribute bombs (guard.py)
        data, refused = guard(html, encoding)
        doc = parse(data, encoding) if refused is None else Doc(root=None)
    except Exception as exc:
        log.debug("parse failed for %s: %s", url, exc)
        doc = Doc(root=None)
    try:
        return _assemble(doc, url or "")
    except Exception as exc:
        log.warning("extraction failed for %s: %s", url, exc)
        rec = new_record()
        try:
            rec["id"] = urls.content_id(url) if url else None
            rec["url"] = urls.canonical_url(url) if url else None
            rec["language"] = urls.edition(url) if url else None
            rec["page_type"] = urls.page_type(url) if url else None
        except Exception:
            pass
        rec["word_count"] = 0
        rec["_skip_reason"] = "extraction_error"
        rec["_not_article"] = True
        return rec
