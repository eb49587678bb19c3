"""DW URL knowledge: editions, content ids, canonical form, mirror rewriting.

Pure functions (no Scrapy) shared by the spider, the parser and the pipelines, so that
"which page is this" is decided in exactly one place.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

CANONICAL_BASE = "https://www.dw.com"
CANONICAL_RSS = "https://rss.dw.com"
CANONICAL_PERMALINK = "https://p.dw.com"

# The 31 editions, as URL prefixes (../shared/DESIGN.md).
EDITIONS: tuple[str, ...] = (
    "sq", "am", "ar", "bn", "bs", "bg", "zh", "zh-hant", "hr", "fa-af", "en", "fr", "de", "el",
    "ha", "hi", "id", "sw", "mk", "ps", "fa-ir", "pl", "pt-002", "pt-br", "ro", "ru", "sr", "es",
    "tr", "uk", "ur",
)  # fmt: skip

# RSS feed codes DW is known to use (rss-<code>-all). Only verified ones: a guessed feed
# would just be a counted 404 on every run. Other editions rely on their sitemaps.
RSS_CODES: dict[str, str] = {"en": "en", "de": "de", "ru": "ru", "es": "sp", "ar": "ara"}

PAGE_TYPES: dict[str, str] = {
    "a": "article",
    "av": "video",
    "audio": "audio",
    "g": "gallery",
    "live": "liveblog",
}
DW_HOSTS = frozenset(
    {"www.dw.com", "dw.com", "p.dw.com", "rss.dw.com", "static.dw.com", "amp.dw.com", "m.dw.com"}
)

_ID_RE = re.compile(r"/(a|av|video|audio|g|live|s|t|person|p)-(\d+)/?$")
# DW's newer video URLs say /video-<n> for what older ones (and their sitemaps) call /av-<n>,
# with the same number (yt-dlp's DW extractor follows both). One content, one id: "av-<n>",
# so a video linked both ways is fetched and written once.
ID_ALIASES: dict[str, str] = {"video": "av"}
_ANY_ID_RE = re.compile(r"/([a-z]+)-(\d+)/?$")


# DW's permalinks: https://p.dw.com/p/<code> today; older pages print http:// ones, and
# dw.de/p/<code> or dw.com/p/<code> (all redirect to the content). Codes are letters and digits.
PERMALINK_RE = re.compile(
    r"(?<![\w.])(?:https?://)?(?:p\.dw\.com|(?:www\.)?dw\.(?:com|de))/p/([A-Za-z0-9]+)(?![\w-])"
)


def permalink(value: str | None) -> str | None:
    """The record's form of the first DW permalink in value (https://p.dw.com/p/<code>)."""
    # Every permalink holds "/p/": the test spares the regex (no literal prefix, it tries
    # every position) on the values that cannot hold one.
    m = PERMALINK_RE.search(value) if value and "/p/" in value else None
    return f"https://p.dw.com/p/{m.group(1)}" if m else None


def permalink_code(url: str) -> str | None:
    """The code when `url` itself is a DW permalink (p.dw.com/p/<code>, dw.com/p/<code>,
    dw.de/p/<code>, any scheme, a query allowed), else None: such a URL names content only
    through DW's redirect, so it is fetched to learn which."""
    m = PERMALINK_RE.fullmatch(url.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/"))
    return m.group(1) if m else None


def _path(url: str) -> str:
    return urlsplit(url.strip()).path


def is_dw_host(url: str) -> bool:
    """True for a URL on one of DW's own hosts (DW_HOSTS)."""
    return (urlsplit(url.strip()).hostname or "").lower() in DW_HOSTS


def content_id(url: str) -> str | None:
    """'a-68117411' for any DW content URL (any slug, query or host), None otherwise."""
    m = _ID_RE.search(_path(url))
    if not m:
        return None
    kind = ID_ALIASES.get(m.group(1), m.group(1))
    return f"{kind}-{m.group(2)}" if kind in PAGE_TYPES else None


def page_type(url_or_id: str) -> str | None:
    """article / video / audio / gallery / liveblog, from the URL's or id's prefix."""
    cid = url_or_id if _ANY_ID_RE.fullmatch("/" + url_or_id) else content_id(url_or_id)
    if not cid:
        return None
    kind = cid.split("-", 1)[0]
    return PAGE_TYPES.get(ID_ALIASES.get(kind, kind))


def is_content_url(url: str) -> bool:
    """True for pages worth fetching (a-, av-, audio-, g-, live-); False for s-, t-, person-."""
    return content_id(url) is not None


def edition(url: str) -> str | None:
    """The edition code from the URL's first path segment, if it is one of the 31."""
    seg = _path(url).lstrip("/").split("/", 1)[0].lower()
    return seg if seg in EDITIONS else None


def canonical_url(url: str) -> str:
    """https://www.dw.com/<path>, no query or fragment, path percent-encoded consistently.

    Mirrors (DW_BASE_URL), amp./m. hosts and tracking queries (?maca=) all map to one form,
    so the same article always gets the same URL in the output.
    """
    parts = urlsplit(url.strip())
    path = quote(unquote(parts.path), safe="/-._~!$&'()*+,;=:@%")
    return urlunsplit(("https", "www.dw.com", path or "/", "", ""))


def normalized(url: str) -> str:
    """w3lib canonical form (sorted query, normalized escapes): dedupe key of other URLs."""
    from w3lib.url import canonicalize_url  # ~0.1 s to import; the parser never needs it

    return canonicalize_url(url)


def rebase(url: str, base_url: str = CANONICAL_BASE, rss_url: str = CANONICAL_RSS) -> str:
    """Point a www.dw.com / rss.dw.com URL at the configured bases (a local mirror in tests).

    URLs on other hosts are returned unchanged; the caller decides whether they are in scope.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host in ("www.dw.com", "dw.com", "amp.dw.com", "m.dw.com"):
        target = base_url
    elif host == "rss.dw.com":
        target = rss_url
    else:
        return url
    t = urlsplit(target.rstrip("/"))
    path = t.path + parts.path
    return urlunsplit((t.scheme, t.netloc, path, parts.query, ""))


def unrebase(url: str, base_url: str = CANONICAL_BASE, rss_url: str = CANONICAL_RSS) -> str:
    """Inverse of rebase: a mirror URL back to its www.dw.com / rss.dw.com form."""
    for target, canon in ((base_url, CANONICAL_BASE), (rss_url, CANONICAL_RSS)):
        t = target.rstrip("/")
        if url.startswith(t + "/") or url == t:
            return canon + url[len(t) :]
    return url
