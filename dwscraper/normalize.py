"""Value normalization shared by the parser and the pipelines: dates, text, whitespace.

Owns the record's date forms (to_rfc3339; format_utc is the one spelling of an instant)
and its text forms (clean_line, clean_text).

Pure and idempotent: normalizing a normalized record changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from dateutil import parser as dateparser

_BLANKS_RE = re.compile(r"\n\s*\n+")
# Control characters that are not whitespace, and lone surrogates (a JSON "\\ud83d" cut from
# an emoji): no text means them, UTF-8 cannot encode a surrogate, and PostgreSQL and other
# consumers refuse NUL. Controls go; a surrogate becomes U+FFFD.
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")  # (\x85 is a line break)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def drop_unsafe(value: str) -> str:
    """value without control characters, its lone surrogates as U+FFFD."""
    if _CONTROL_RE.search(value):
        value = _CONTROL_RE.sub("", value)
    if _SURROGATE_RE.search(value):
        value = _SURROGATE_RE.sub("\ufffd", value)
    return value


_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DMY_RE = re.compile(r"^(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})$")
_HAS_TIME_RE = re.compile(r"\d{1,2}:\d{2}")
# An RFC 3339 instant to the second (what sitemaps, feeds, JSON-LD and our own records hold):
# read by datetime.fromisoformat, ~10x cheaper than dateutil, same instant.
_INSTANT_RE = re.compile(r"[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")


def clean_line(value: str | None) -> str | None:
    """NFC, one space between words, stripped; None for empty."""
    if value is None:
        return None
    # str.split() already splits on every Unicode space (NBSP, thin, ideographic, ...), and
    # NFC never merges a character with a space: no regex pass needed (6x faster).
    value = drop_unsafe(value.replace("\u200b", ""))
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value or None


def clean_text(value: str | None) -> str | None:
    """Paragraphs separated by exactly one blank line, each paragraph a clean line."""
    if value is None:
        return None
    paras = [clean_line(p) for p in _BLANKS_RE.split(value.replace("\r", ""))]
    text = "\n\n".join(p for p in paras if p)
    return text or None


def to_rfc3339(value: Any) -> str | None:
    """'2024-01-30T14:13:12Z' when a time is known, 'YYYY-MM-DD' when only the day is.

    Never invents a midnight: a value without a time of day stays a day. Naive times are
    taken as UTC (DW's JSON-LD and sitemaps write UTC). Unparseable values give None.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        return value.isoformat()
    else:
        s = str(value).strip()
        if not s:
            return None
        m = _INSTANT_RE.fullmatch(s)
        if m:
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:  # e.g. 24:00:00, which dateutil reads as the next midnight
                pass
            else:
                return s if m.group(1) == "Z" else format_utc(dt)
        if _DAY_RE.match(s):
            try:
                return date.fromisoformat(s).isoformat()
            except ValueError:
                return None
        m = _DMY_RE.match(s)
        if m:
            try:
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
            except ValueError:
                return None
        if not _HAS_TIME_RE.search(s):
            try:
                return dateparser.parse(s).date().isoformat()
            except (ValueError, OverflowError, TypeError):
                return None
        try:
            dt = dateparser.isoparse(s)
        except (ValueError, OverflowError, TypeError):
            try:
                dt = dateparser.parse(s)
            except (ValueError, OverflowError, TypeError):
                return None
    return format_utc(dt)


def format_utc(dt: datetime) -> str:
    """'2024-01-30T14:13:12Z': a datetime in RFC 3339 UTC to the second (naive means UTC).

    The one spelling of an instant in records, stats, WARC dates and state.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_stamp(when: datetime) -> str:
    """'20240130T141312Z': a run's start in output file names (JSONL and WARC share it)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def utc_now() -> str:
    """The current time as format_utc spells it (fetched_at of a page fetched now)."""
    return format_utc(datetime.now(UTC))


def is_day_only(value: str | None) -> bool:
    """True for a normalized 'YYYY-MM-DD' value."""
    return bool(value) and bool(_DAY_RE.match(value))


def refine_day(day: str | None, precise: str | None) -> str | None:
    """Use the precise time from a sitemap/feed when it falls on the page's day-only date."""
    if not is_day_only(day):
        return day
    p = to_rfc3339(precise)
    if p and not is_day_only(p) and p[:10] == day:
        return p
    return day
