"""Discovery sources: safe, streaming readers of sitemaps and feeds. No Scrapy import.

Sitemaps, sitemap indexes, Google News sitemaps, RSS 2.0, RDF and Atom all come down to
"a URL plus the date the source gives for it". Reading them is the one place where bytes
from the network reach an XML parser, so it is done defensively here:

- no DTDs: a document that declares one (entity bombs, XXE) is rejected before parsing,
  and the parser itself never resolves entities nor touches the network;
- gzip bodies are inflated incrementally up to a size bound;
- entries are yielded one by one (lxml iterparse, elements cleared as we go), so a
  50,000-URL sitemap never exists as a tree in memory;
- malformed XML keeps the entries read before the error, and the reader says so.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from dwscraper.normalize import to_rfc3339

# Default bound on a decompressed sitemap/feed (the sitemap protocol caps files at 50 MB).
MAX_SIZE = 50 * 1024 * 1024

# A DOCTYPE is the door to entity expansion and external entities; DW never sends one.
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_PROLOG_SCAN = 64 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    """One URL a source lists, with what the source says about it.

    kind: "page" (a URL to fetch) or "sitemap" (a child of a sitemap index).
    date: the most precise publication date known (news:publication_date, RSS pubDate,
    else lastmod), normalized by normalize.to_rfc3339; lastmod kept apart for refetch logic.
    """

    url: str
    kind: str = "page"
    date: str | None = None
    lastmod: str | None = None
    title: str | None = None


@dataclass(slots=True)
class ReadResult:
    """What reading one source produced besides its entries (filled while iterating)."""

    format: str | None = None  # urlset, sitemapindex, rss, rdf, atom
    entries: int = 0
    error: str | None = None  # unsafe_xml, too_large, bad_gzip, malformed, not_xml
    detail: str | None = None
    extra: dict[str, int] = field(default_factory=dict)


class SourceError(ValueError):
    """A source that cannot be read at all (reason in .reason)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def is_gzip(body: bytes) -> bool:
    """gzip magic number: sitemaps may be served as .xml.gz without Content-Encoding."""
    return body[:2] == b"\x1f\x8b"


def gunzip(body: bytes, max_size: int = MAX_SIZE) -> bytes:
    """Inflate a (possibly multi-member) gzip body, refusing to grow past max_size."""
    out = io.BytesIO()
    data = body
    try:
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = d.decompress(data, max_size + 1 - out.tell())
            out.write(chunk)
            if out.tell() > max_size:
                raise SourceError("too_large", f"gzip body inflates past {max_size} bytes")
            while d.unconsumed_tail:
                chunk = d.decompress(d.unconsumed_tail, max_size + 1 - out.tell())
                out.write(chunk)
                if out.tell() > max_size or not chunk:
                    raise SourceError("too_large", f"gzip body inflates past {max_size} bytes")
            if not d.eof:
                raise SourceError("bad_gzip", "truncated gzip stream")
            data = d.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise SourceError("bad_gzip", str(exc)) from exc
    return out.getvalue()


def prepare(body: bytes, max_size: int = MAX_SIZE) -> bytes:
    """Raw source bytes -> XML bytes that are safe to parse, or SourceError."""
    if is_gzip(body):
        body = gunzip(body, max_size)
    if len(body) > max_size:
        raise SourceError("too_large", f"{len(body)} bytes")
    head = body[:_PROLOG_SCAN]
    lt = head.find(b"<")
    if lt < 0 or not body.strip():
        raise SourceError("not_xml", "no markup")
    if _DOCTYPE_RE.search(head):
        raise SourceError("unsafe_xml", "document declares a DTD")
    return body


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(elem: etree._Element, *names: str) -> str | None:
    """Text of the first descendant whose local name is one of names (in that order)."""
    for name in names:
        for sub in elem.iter():
            if _local(sub.tag) == name:
                text = (sub.text or "").strip()
                if text:
                    return text
    return None


def _date(value: str | None) -> str | None:
    try:
        return to_rfc3339(value) if value else None
    except Exception:  # a date we cannot read is no date, never a crash
        return None


def _entry_from(elem: etree._Element, fmt: str) -> Entry | None:
    name = _local(elem.tag)
    if fmt in ("urlset", "sitemapindex"):
        loc = _child_text(elem, "loc")
        if not loc:
            return None
        lastmod = _date(_child_text(elem, "lastmod"))
        if name == "sitemap":
            return Entry(loc, "sitemap", lastmod, lastmod)
        pub = _date(_child_text(elem, "publication_date"))
        return Entry(loc, "page", pub or lastmod, lastmod, _child_text(elem, "title"))
    if fmt == "atom":
        href = None
        for sub in elem:
            if _local(sub.tag) == "link" and sub.get("rel", "alternate") == "alternate":
                href = sub.get("href")
                break
        if not href:
            return None
        upd = _date(_child_text(elem, "updated"))
        pub = _date(_child_text(elem, "published"))
        return Entry(href.strip(), "page", pub or upd, upd, _child_text(elem, "title"))
    # rss / rdf item
    link = None
    for sub in elem:
        if _local(sub.tag) == "link" and (sub.text or "").strip():
            link = sub.text.strip()
            break
    if not link:
        link = (elem.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about") or "").strip()
    if not link:
        guid = _child_text(elem, "guid")
        link = guid if guid and guid.startswith("http") else None
    if not link:
        return None
    pub = _date(_child_text(elem, "pubdate", "date"))
    return Entry(link, "page", pub, None, _child_text(elem, "title"))


_ENTRY_TAGS = {"url": "urlset", "sitemap": "sitemapindex", "item": "rss", "entry": "atom"}
_ROOTS = {"urlset", "sitemapindex", "rss", "rdf", "feed"}


def read_source(
    body: bytes, result: ReadResult | None = None, max_size: int = MAX_SIZE
) -> Iterator[Entry]:
    """Yield the entries of a sitemap, sitemap index or feed, streaming.

    Pass a ReadResult to learn the format and how reading ended: on malformed XML the
    entries read so far have been yielded and result.error == "malformed". Raises
    SourceError only for a body that cannot be read at all (unsafe, too large, not XML).
    """
    res = result if result is not None else ReadResult()
    data = prepare(body, max_size)
    parser = etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    fmt: str | None = None
    depth = 0
    try:
        for event, elem in parser:
            name = _local(elem.tag)
            if event == "start":
                depth += 1
                if depth == 1:
                    if name not in _ROOTS:
                        res.error, res.detail = "not_a_source", f"root element <{name}>"
                        return
                    fmt = {"feed": "atom", "rdf": "rdf"}.get(name, name)
                    res.format = fmt
                continue
            depth -= 1
            if name in _ENTRY_TAGS and fmt is not None:
                if fmt == "rdf" and name != "item":
                    continue
                entry = _entry_from(elem, fmt)
                # Free what we have read: this keeps memory flat on huge sitemaps.
                elem.clear()
                parent = elem.getparent()
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
                if entry is not None:
                    res.entries += 1
                    yield entry
                else:
                    res.extra["no_url"] = res.extra.get("no_url", 0) + 1
    except etree.XMLSyntaxError as exc:
        res.error = "malformed" if res.format else "not_xml"
        res.detail = str(exc)[:200]


def in_window(value: str | None, since: date | None, until: date | None) -> bool:
    """True when a source date falls within [since, until] (days, inclusive).

    An entry without a date is kept: we cannot prove it is outside the window.
    """
    if value is None or (since is None and until is None):
        return True
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return True
    if since is not None and day < since:
        return False
    return not (until is not None and day > until)


def parse_day(value: str | None) -> date | None:
    """A -a since/until argument (YYYY-MM-DD) as a date; ValueError with a clear message."""
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"expected YYYY-MM-DD, got {value!r}") from exc
