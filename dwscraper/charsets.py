"""Which charset a page's bytes are in: the one rule, for the crawl and for the parser.

BOM first; then bytes that are valid UTF-8 are UTF-8, whatever the page or the server says
(a page that decodes as UTF-8 and says Latin-1 is, in practice always, mislabelled UTF-8),
and so are bytes that are mostly UTF-8 (a stray bad byte becomes U+FFFD, not the page mojibake);
then the declared charset (HTTP header, else <meta>) unless it claims a UTF; else Windows-1252
(invalid UTF-8 that says UTF-8 is Windows-1252 text served with a default header). A page
labelled Latin-1 or ASCII is read as Windows-1252, its superset, as browsers do.

No Scrapy and no parser here: the crawl's middleware and the parser both import this, and a
cron run that parses no page should not load the parser.
"""

from __future__ import annotations

import codecs
import re

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_LEGACY = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
# Enough of the page to find a <meta charset>; DW writes it in the first few hundred bytes.
SNIFF_BYTES = 4096
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]{1,40})""", re.I
)


def bom(data: bytes) -> tuple[bytes, str] | None:
    """(BOM, its encoding) when data starts with one."""
    for mark, name in BOMS:
        if data.startswith(mark):
            return mark, name
    return None


def codec(label: str | bytes | None) -> str | None:
    """Python's name for a charset label ('ISO-8859-1' -> 'cp1252'); None if unknown."""
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _LEGACY.get(name, name)


def is_utf8(name: str | None) -> bool:
    return name in ("utf-8", "utf_8")


def meta_charset(data: bytes) -> str | None:
    """The charset a <meta> near the start declares (charset= or http-equiv content=)."""
    m = _META_CHARSET.search(data[:SNIFF_BYTES])
    return codec(m.group(1)) if m else None


def valid_utf8(data: bytes) -> bool:
    """True for UTF-8 bytes, also when the last character is cut (a truncated download)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3
    return True


def mostly_utf8(data: bytes) -> bool:
    """True when more of the non-ASCII text decodes as UTF-8 than not: a UTF-8 page with a
    stray bad byte (read as UTF-8, the byte as U+FFFD, as a browser does), not Windows-1252
    or another legacy charset, whose bytes almost never form valid UTF-8 sequences."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    return good > bad


def choose(data: bytes, declared: str | None = None) -> str:
    """The encoding to read data with (see the module docstring); declared is the HTTP
    header's charset, if any."""
    if found := bom(data):
        return found[1]
    if data.isascii() or valid_utf8(data) or mostly_utf8(data):
        return "utf-8"
    for name in (codec(declared), meta_charset(data)):
        if name and not name.startswith(("utf", "utf_")):
            return name
    return "cp1252"
