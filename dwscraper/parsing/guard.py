"""Input guard at parse_article's entry: bound the cost of hostile bytes before libxml2 sees them.

parse_article runs in Scrapy's reactor thread, so a page that takes minutes to parse stalls the
whole crawl. Three things are checked, each in linear time:

- size: input past MAX_INPUT (above DOWNLOAD_MAXSIZE, so only the extract CLI meets it) is cut
  there and parsed as far as it goes, like a truncated download;
- binary: an image, archive or random bytes served as a page is "not_html", not a record of
  mojibake (NUL bytes or known magic numbers up front, or mostly control/undecodable chars);
- attribute bombs: libxml2 checks duplicate attributes pairwise, so one tag with 100,000
  attributes costs minutes; a start tag with more than MAX_ATTRIBUTES keeps only its name
  (real DW tags carry a few dozen at most).
"""

from __future__ import annotations

import re

from dwscraper.parsing.document import decode, encoding_for

MAX_INPUT = 16 * 1024 * 1024
MAX_ATTRIBUTES = 512
_LONG_TAG = 4096  # only start tags at least this long are counted (real ones rarely are)

_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x00\x00\x01\x00",
)
_LONG_TAG_RE = r"<([A-Za-z][A-Za-z0-9:_-]{0,63})[^<>]{" + str(_LONG_TAG) + ",}>"
_LONG_TAG_STR = re.compile(_LONG_TAG_RE)
_LONG_TAG_BYTES = re.compile(_LONG_TAG_RE.encode())
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Control characters other than \t \n \f \r, and U+FFFD (undecodable): counted in C, since a
# Python loop over the sample cost ~1 ms per page, more than the rest of the guard.
_BAD_CHAR_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffd]")
# Bytes that are not control characters (in UTF-8, every byte of a multi-byte char is >= 0x80).
_PLAIN_BYTES = bytes(range(0x20, 0x100)) + b"\t\n\x0c\r"


def looks_binary(data: str | bytes) -> bool:
    """True for data no browser would render as a page (an image, a zip, random bytes)."""
    if isinstance(data, bytes):
        head = data[:2048]
        if head.startswith(_BOMS):
            return False  # UTF-16 pages have NULs by design; a BOM says it is text
        if head.lstrip().startswith(_BINARY_MAGIC) or b"\x00" in head:
            return True
        try:
            sample = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A cut multi-byte char at the end of the sample is not evidence.
            sample = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else None
            if sample is None:
                sample = head.decode("cp1252", errors="replace")
    else:
        sample = data[:2048]
    if not sample:
        return False
    bad = len(_BAD_CHAR_RE.findall(sample))
    return bad > len(sample) // 10


def _defuse_tag(match: re.Match) -> str | bytes:
    tag = match.group(0)
    eq = b"=" if isinstance(tag, bytes) else "="
    if tag.count(eq) <= MAX_ATTRIBUTES:
        return tag
    open_ = b"<" if isinstance(tag, bytes) else "<"
    close = b">" if isinstance(tag, bytes) else ">"
    return open_ + match.group(1) + close


def _plain_utf8(data: bytes, encoding: str) -> bool:
    """True when bytes the transport declared UTF-8 pass every check here exactly as their
    decoded text would: no BOM, within MAX_INPUT, no magic number and no control or
    undecodable char up front, no over-long tag (see guard)."""
    if encoding_for(data, encoding) != "utf-8" or data.startswith(_BOMS) or len(data) > MAX_INPUT:
        return False
    if data[:2048].lstrip().startswith(_BINARY_MAGIC):
        return False
    # The text's first 2048 chars, as looks_binary(str) samples them, lie in the first 8196
    # bytes (which hold 2049 chars at least). Checked on those bytes, which is stricter
    # (a page that fails here takes the str path, which then decides): no control byte
    # (a table pass in C, 2x cheaper than a regex over the decoded chars), and no U+FFFD,
    # as a character or as bytes that do not decode (a char cut at the end is no sign).
    head = data[:8196]
    # U+FFFD's UTF-8 starts with 0xEF, which few pages hold (a one-byte search is a memchr).
    if head.translate(None, _PLAIN_BYTES) or (b"\xef" in head and b"\xef\xbf\xbd" in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Forgiven only where the slice cut a char that goes on after it.
        if exc.start < len(head) - 3 or len(data) == len(head):
            return False
    # A tag over _LONG_TAG chars is over _LONG_TAG bytes: no bomb in the bytes, none in the text.
    return not _has_attribute_bomb(data)


def guard(data: str | bytes, encoding: str | None = None) -> tuple[str | bytes, str | None]:
    """(data safe to parse, None) or (b"", reason) for input that is not a page at all.

    Bytes that come with the transport's charset (`encoding`: the crawl's UTF-8 fast path)
    are judged as the text they decode to, so that a record never depends on whether the
    caller decoded the page: plain UTF-8 is checked in place (and passes), anything else (a
    BOM, control characters or a magic number up front, an over-long tag, another charset)
    is decoded first and checked as str.
    """
    if not isinstance(data, str | bytes):
        return b"", "not_html"
    if isinstance(data, bytes) and encoding is not None:
        if _plain_utf8(data, encoding):
            return data, None
        data = decode(data, encoding)
    if len(data) > MAX_INPUT:
        data = data[:MAX_INPUT]
    if looks_binary(data):
        return b"", "not_html"
    if _has_attribute_bomb(data):
        pattern = _LONG_TAG_BYTES if isinstance(data, bytes) else _LONG_TAG_STR
        data = pattern.sub(_defuse_tag, data)
    return data, None


def _has_attribute_bomb(data: str | bytes) -> bool:
    """True if a start tag of _LONG_TAG+ chars carries more than MAX_ATTRIBUTES attributes.

    Finds every tag _LONG_TAG_RE would rewrite without scanning every tag (a regex pass
    cost 1-3 ms on a real page, as much as the rest of the extraction): such a tag spans
    more than _LONG_TAG chars with no "<" or ">" inside, so it contains a multiple of
    _LONG_TAG; at each multiple, the last "<" and ">" before it say whether we are inside a
    tag. Each byte is searched at most once; each candidate tag is counted once.
    """
    if isinstance(data, bytes):
        lt_c, gt_c, eq_c = b"<", b">", b"="
    else:
        lt_c, gt_c, eq_c = "<", ">", "="
    size = len(data)
    last_lt = last_gt = checked = -1
    prev = 0
    for i in range(_LONG_TAG, size, _LONG_TAG):
        lt = data.rfind(lt_c, prev, i)
        gt = data.rfind(gt_c, prev, i)
        prev = i
        if lt >= 0:
            last_lt = lt
        if gt >= 0:
            last_gt = gt
        if last_lt <= last_gt or last_lt == checked:
            continue
        checked = last_lt  # inside a tag that opened at last_lt
        end = data.find(gt_c, i)
        if end < 0 or end - last_lt <= _LONG_TAG:
            continue
        if data[last_lt + 1 : last_lt + 2].isalpha() and (
            data.count(eq_c, last_lt, end) > MAX_ATTRIBUTES
        ):
            return True
    return False
