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
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

from lxml import etree

from dwscraper.normalize import format_utc, to_rfc3339

# Default bound on a decompressed sitemap/feed (the sitemap protocol caps files at 50 MB).
MAX_SIZE = 50 * 1024 * 1024

# A DOCTYPE is the door to entity expansion and external entities; DW never sends one.
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# An HTML page where a sitemap or feed was expected (a maintenance or error page served 200),
# after the prolog (see _after_prolog).
_HTML_START_RE = re.compile(rb"<(?:!DOCTYPE\s+html\b|html\b)", re.I)
_UTF8_BOM = b"\xef\xbb\xbf"
_PROLOG_SCAN = 64 * 1024
_NORMAL_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")


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
    published: str | None = None  # the publication date alone (never a lastmod)


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
    start = len(_UTF8_BOM) if body.startswith(_UTF8_BOM) else 0
    if body[start : start + 1].isspace():
        # Whitespace before <?xml ...?> (common from servers) is an error to libxml2.
        body, start = body[start:].lstrip(), 0
    head = body[:_PROLOG_SCAN]
    lt = head.find(b"<")
    if lt < 0 or not body.strip():
        raise SourceError("not_xml", "no markup")
    if _HTML_START_RE.match(head, _after_prolog(head, start)):
        raise SourceError("not_xml", "an HTML page")
    if _DOCTYPE_RE.search(head):
        raise SourceError("unsafe_xml", "document declares a DTD")
    return body


def _after_prolog(head: bytes, pos: int) -> int:
    """Where the first element starts: past whitespace, an XML declaration, comments and
    processing instructions (a loop, not a regex: a run of comments must not backtrack)."""
    while True:
        while pos < len(head) and head[pos : pos + 1].isspace():
            pos += 1
        if head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos + 4)
            pos = end + 3 if end >= 0 else len(head)
        elif head.startswith(b"<?", pos):
            end = head.find(b"?>", pos + 2)
            pos = end + 2 if end >= 0 else len(head)
        else:
            return pos


@lru_cache(maxsize=256)
def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _local(tag: object) -> str:
    return _local_name(tag) if isinstance(tag, str) else ""


def _texts(elem: etree._Element) -> dict[str, str]:
    """First non-empty text per local name among elem's descendants (one pass)."""
    out: dict[str, str] = {}
    for sub in elem.iter():
        if sub is elem:
            continue
        name = _local(sub.tag)
        if name and name not in out:
            text = (sub.text or "").strip()
            if text:
                out[name] = text
    return out


def _date(value: str | None) -> str | None:
    """Normalized date of a source; fast path for the ISO forms sitemaps use."""
    if not value:
        return None
    if _NORMAL_RE.match(value):
        return value
    if len(value) > 10 and value[10] == "T":
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return format_utc(dt)
    if value[:3].isalpha() and value[3:4] == ",":  # RSS pubDate (RFC 822): stdlib, fast
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            return format_utc(dt)
    try:
        return to_rfc3339(value)
    except Exception:  # a date we cannot read is no date, never a crash
        return None


def _entry_from(elem: etree._Element, fmt: str) -> Entry | None:
    name = _local(elem.tag)
    if fmt in ("urlset", "sitemapindex"):
        t = _texts(elem)
        loc = t.get("loc")
        if not loc:
            return None
        lastmod = _date(t.get("lastmod"))
        if name == "sitemap":
            return Entry(loc, "sitemap", lastmod, lastmod)
        pub = _date(t.get("publication_date"))
        return Entry(loc, "page", pub or lastmod, lastmod, t.get("title"), published=pub)
    if fmt == "atom":
        href = None
        for sub in elem:
            if _local(sub.tag) == "link" and sub.get("rel", "alternate") == "alternate":
                href = sub.get("href")
                break
        if not href:
            return None
        t = _texts(elem)
        upd = _date(t.get("updated"))
        pub = _date(t.get("published"))
        return Entry(href.strip(), "page", pub or upd, upd, t.get("title"), published=pub)
    # rss / rdf item
    t = _texts(elem)
    link = t.get("link")
    if not link:
        link = (elem.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about") or "").strip()
    if not link:
        guid = t.get("guid")
        link = guid if guid and guid.startswith("http") else None
    if not link:
        return None
    pub = _date(t.get("pubdate") or t.get("date"))
    return Entry(link, "page", pub, None, t.get("title"), published=pub)


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
        events=("end",),
        tag=("{*}url", "{*}sitemap", "{*}item", "{*}entry"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    fmt: str | None = None
    try:
        for _event, elem in parser:
            if fmt is None:
                # First event: the root element is known now, and decides the format.
                root = elem.getroottree().getroot()
                rname = _local(root.tag)
                if rname not in _ROOTS:
                    res.error, res.detail = "not_a_source", f"root element <{rname}>"
                    return
                fmt = res.format = {"feed": "atom", "rdf": "rdf"}.get(rname, rname)
            name = _local(elem.tag)
            if name not in _ENTRY_TAGS or (fmt == "rdf" and name != "item"):
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
        if fmt is None:  # no entry at all: still say what the document was
            root = parser.root
            rname = _local(root.tag) if root is not None else ""
            if rname in _ROOTS:
                res.format = {"feed": "atom", "rdf": "rdf"}.get(rname, rname)
            else:
                res.error, res.detail = "not_a_source", f"root element <{rname}>"
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
