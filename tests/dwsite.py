# ruff: noqa: E501  (HTML templates are clearer unwrapped)
"""A local DW mirror for tests and benchmarks: pages, sitemaps, feeds, robots.txt.

Everything is invented (no text from dw.com): `make_article()` builds an Article spec whose
HTML follows DW's two frontends (new: JSON-LD + __APOLLO_STATE__ + div.rich-text; old:
div.longText / p.intro / ul.smallList) with the clutter real pages carry (skip links, menus,
share bars, captions with credits, ads, related content, "Read more" links, signature line).
Rendering is lazy and cheap, so `DWSite.generate(10_000)` costs milliseconds.

`DWSite` serves it on 127.0.0.1 (port 0, threaded). Sitemap/feed links use the canonical
https://www.dw.com/ and https://rss.dw.com/ hosts (the spider rebases them), some with a
?maca= tracking query and a different slug for the same id. Tests read `site.log` (request
paths), mutate `site.articles`, add `site.routes[path]`, or set `site.down` / `site.delay`.

Usage:
    with DWSite.default() as site:          # or the `dwsite` pytest fixture
        result = run_crawl(site, tmp_path, "-a", "lang=en,de")
        assert "/en/robots-disallowed/a-1003" not in site.log
"""

from __future__ import annotations

import gzip
import html
import json
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]
WWW = "https://www.dw.com"
RSS = "https://rss.dw.com"
RSS_CODES = {"en": "en", "de": "de", "ru": "ru", "es": "sp", "ar": "ara"}

# --- invented text ----------------------------------------------------------------------

_WORDS = {
    "en": [
        "river",
        "council",
        "harbor",
        "lantern",
        "meadow",
        "copper",
        "signal",
        "orchard",
        "ferry",
        "granite",
        "valley",
        "budget",
        "coalition",
        "treaty",
        "research",
        "station",
        "village",
        "engineer",
        "delegate",
        "archive",
        "harvest",
        "market",
        "summit",
        "border",
        "festival",
        "network",
        "school",
        "climate",
        "bridge",
        "museum",
        "railway",
    ],
    "de": [
        "Fluss",
        "Rathaus",
        "Hafen",
        "Laterne",
        "Wiese",
        "Kupfer",
        "Signal",
        "Obstgarten",
        "Fähre",
        "Granit",
        "Tal",
        "Haushalt",
        "Bündnis",
        "Vertrag",
        "Forschung",
        "Station",
        "Dorf",
        "Ingenieurin",
        "Abgeordnete",
        "Archiv",
        "Ernte",
        "Markt",
        "Gipfel",
        "Grenze",
        "Festival",
        "Netzwerk",
        "Schule",
        "Klima",
        "Brücke",
        "Museum",
        "Eisenbahn",
    ],
    "ar": [
        "نهر",
        "مجلس",
        "ميناء",
        "فانوس",
        "مرج",
        "نحاس",
        "إشارة",
        "بستان",
        "عبّارة",
        "وادٍ",
        "ميزانية",
        "تحالف",
        "معاهدة",
        "بحث",
    ],
}
_VERBS = {
    "en": ["reported", "announced", "reviewed", "opened", "discussed", "measured", "planned"],
    "de": ["meldete", "verkündete", "prüfte", "eröffnete", "diskutierte", "maß", "plante"],
    "ar": ["أعلن", "ناقش", "افتتح", "راجع", "خطط"],
}
_NAMES = ["Mara Lindqvist", "Tomas Okafor", "Jana Wierzbicka", "Ravi Castellano", "Ines Halvorsen"]
LABELS = {
    "en": {
        "skip": ("Skip to content", "Skip to main menu", "Skip to more DW sites"),
        "date": "Date",
        "author": "Author",
        "topics": "Related Subjects",
        "keywords": "Keywords",
        "feedback": "Send us your feedback.",
        "print": "Print this page",
        "recommends": "DW recommends",
        "related": "Related content",
        "related_topics": "Related topics",
        "av": "Audios and videos on the topic",
        "read_more": "Read more",
        "image": "Image",
        "ad": "Advertisement",
        "cookie": "We use cookies to improve our service for you.",
        "skip_next": "Skip next section",
    },
    "de": {
        "skip": (
            "Zum Inhalt springen",
            "Zur Hauptnavigation springen",
            "Zu weiteren Angeboten der DW springen",
        ),
        "date": "Datum",
        "author": "Autorin/Autor",
        "topics": "Themenseiten",
        "keywords": "Schlagwörter",
        "feedback": "Schicken Sie uns Ihr Feedback!",
        "print": "Seite drucken",
        "recommends": "Die Redaktion empfiehlt",
        "related": "Mehr zum Thema",
        "related_topics": "Ähnliche Themen",
        "av": "Audio und Video zum Thema",
        "read_more": "Mehr zum Thema",
        "image": "Bild",
        "ad": "Anzeige",
        "cookie": "Wir verwenden Cookies, um unser Angebot für Sie zu verbessern.",
        "skip_next": "Den nächsten Abschnitt überspringen",
    },
}
APOLLO_LANG = {"en": "ENGLISH", "de": "GERMAN", "ar": "ARABIC", "ru": "RUSSIAN", "es": "SPANISH"}
RTL = {"ar", "fa-ir", "fa-af", "ps", "ur"}
# Phrases that must never appear in an extracted `text` (clutter the mirror puts on pages).
CLUTTER = (
    "Skip to content",
    "Skip to main menu",
    "Skip to more DW sites",
    "Zum Inhalt springen",
    "Skip next section",
    "Read more",
    "Related content",
    "Related topics",
    "Mehr zum Thema",
    "DW recommends",
    "Advertisement",
    "Send us your feedback",
    "We use cookies",
    "Print this page",
    "Image:",
    "Bild:",
    "Permalink",
    "Deutsche Welle",
)


def _sentence(rng: random.Random, lang: str, n: int) -> str:
    words = _WORDS.get(lang, _WORDS["en"])
    verbs = _VERBS.get(lang, _VERBS["en"])
    picked = [rng.choice(words) for _ in range(n)]
    picked.insert(min(2, len(picked)), rng.choice(verbs))
    s = " ".join(picked)
    return s[0].upper() + s[1:] + "."


def invented_paragraphs(seed: int, lang: str = "en", n: int = 6) -> list[str | tuple[str, str]]:
    """Deterministic invented body: paragraphs with a subheading ("h2", text) every third."""
    rng = random.Random(seed)
    out: list[str | tuple[str, str]] = []
    for i in range(n):
        if i and i % 3 == 0:
            out.append(("h2", _sentence(rng, lang, 3).rstrip(".")))
        out.append(" ".join(_sentence(rng, lang, rng.randint(6, 14)) for _ in range(3)))
    return out


def _code(n: int) -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    s = ""
    n = n * 7919 + 104729
    while n:
        n, r = divmod(n, 62)
        s += alphabet[r]
    return s[:5].ljust(5, "x")


# --- the article spec -------------------------------------------------------------------


@dataclass
class Article:
    """One invented DW content page; render with .html(). Mutate freely between runs."""

    id: int
    lang: str = "en"
    layout: str = "new"  # "new" | "old"
    title: str = ""
    paragraphs: list[str | tuple[str, str]] | None = None
    published: datetime = field(
        default_factory=lambda: datetime(2024, 1, 30, 14, 13, 12, tzinfo=UTC)
    )
    modified: datetime | None = None
    teaser: str | None = None
    authors: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=lambda: ["Climate", "Europe"])
    keywords: list[str] = field(default_factory=lambda: ["harbor", "council"])
    section: str = "Politics"
    image_caption: str | None = "A harbor crane at dusk in an invented port town"
    image_credit: str | None = "Invented Photo Agency/J. Doe"
    kind: str = "a"
    slug: str = ""
    alt_slug: str | None = None  # used for the RSS link: same id, another slug (+ ?maca=)
    read_more: bool = True  # old layout: inline "Read more:" link paragraphs
    in_news: bool = True
    in_rss: bool = True
    in_archive: bool = True
    status: int = 200

    def __post_init__(self) -> None:
        if not self.title:
            rng = random.Random(self.id * 31)
            self.title = _sentence(rng, self.lang, 5).rstrip(".")
        if not self.slug:
            self.slug = _slugify(self.title) or f"story-{self.id}"
        if self.teaser is None:
            self.teaser = _sentence(random.Random(self.id * 17), self.lang, 12)

    # identity
    @property
    def cid(self) -> str:
        """The content id, e.g. a-1001."""
        return f"{self.kind}-{self.id}"

    @property
    def path(self) -> str:
        """The page path on the mirror and on dw.com."""
        return f"/{self.lang}/{quote(self.slug)}/{self.cid}"

    @property
    def url(self) -> str:
        """Canonical https://www.dw.com URL (what records must carry)."""
        return WWW + self.path

    @property
    def short_code(self) -> str:
        return _code(self.id)

    @property
    def lastmod(self) -> datetime:
        return self.modified or self.published

    def body(self) -> list[str | tuple[str, str]]:
        """Paragraphs and ("h2", subheading) items; invented lazily on first use."""
        if self.paragraphs is None:
            self.paragraphs = invented_paragraphs(self.id, self.lang)
        return self.paragraphs

    def expected_text(self) -> str:
        """The record's `text`: body paragraphs and subheadings, one blank line apart."""
        return "\n\n".join(p[1] if isinstance(p, tuple) else p for p in self.body())

    def signature(self) -> str | None:
        if not self.editors and not self.agencies:
            return None
        s = "/".join(self.editors)
        if self.agencies:
            s += f" ({', '.join(self.agencies)})"
        return s.strip()

    def html(self) -> str:
        """The page as DW would serve it (layout chosen by self.layout)."""
        return render_new(self) if self.layout == "new" else render_old(self)


def _slugify(title: str) -> str:
    s = re.sub(r"[^\w]+", "-", title.lower(), flags=re.UNICODE).strip("-")
    return s[:60].strip("-")


def make_article(
    id: int,
    lang: str = "en",
    layout: str = "new",
    title: str = "",
    paragraphs: list[str | tuple[str, str]] | None = None,
    published: datetime | str | None = None,
    **kw: Any,
) -> Article:
    """An invented DW article (see Article for the other fields: authors, editors, ...)."""
    if isinstance(published, str):
        published = datetime.fromisoformat(published.replace("Z", "+00:00"))
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
    if published is not None:
        kw["published"] = published
    return Article(id=id, lang=lang, layout=layout, title=title, paragraphs=paragraphs, **kw)


# --- rendering ----------------------------------------------------------------------------

e = html.escape


def _labels(lang: str) -> dict[str, Any]:
    return LABELS.get(lang, LABELS["en"])


def _dmy(d: datetime) -> str:
    return d.strftime("%d.%m.%Y")


def _iso_ms(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _topic_id(name: str) -> int:
    return 17000000 + sum(ord(c) for c in name) * 13


def _script_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False).replace("</", "<\\/")


def _body_html_new(a: Article) -> str:
    lab = _labels(a.lang)
    parts: list[str] = []
    for i, p in enumerate(a.body()):
        if isinstance(p, tuple):
            parts.append(f"<h2>{e(p[1])}</h2>")
            continue
        parts.append(f"<p>{e(p)}</p>")
        if i == 1:
            parts.append(
                f'<figure class="placeholder-image master_landscape big"><img '
                f'src="https://static.dw.com/image/{a.id + 7}_804.jpg" alt="invented picture">'
                f'<figcaption class="img-caption">A second invented picture of the scene'
                f'<small class="copyright">{lab["image"]}: Invented Wire/R. Roe</small>'
                f"</figcaption></figure>"
            )
        if i == 2:
            parts.append('<span class="rich-text-ad"></span>')
            parts.append(f'<div class="advertise"><span>{lab["ad"]}</span></div>')
    sig = a.signature()
    if sig:
        parts.append(f"<p>{e(sig)}</p>")
    return "".join(parts)


def _nav(a: Article) -> str:
    sections = ["Germany", "World", "Business", "Science", "Environment", "Culture", "Sports"]
    links = "".join(
        f'<li><a href="/{a.lang}/{s.lower()}/s-{1400 + i}">{s}</a></li>'
        for i, s in enumerate(sections)
    )
    return f'<nav><div id="navigation" class="nav-btn">Menu</div><ul>{links}</ul></nav>'


def render_new(a: Article) -> str:
    """New (React SSR) frontend: JSON-LD, __APOLLO_STATE__, article div.rich-text."""
    lab = _labels(a.lang)
    dmy = _dmy(a.published)
    img = f"https://static.dw.com/image/{a.id + 5}"
    body_html = _body_html_new(a)
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": a.url},
        "publisher": {"@type": "Organization", "name": "Deutsche Welle"},
        "author": [{"@type": "Person", "name": n} for n in a.authors],
        "headline": a.title,
        "image": [f"{img}_804.jpg", f"{img}_604.jpg"],
        "datePublished": _iso_ms(a.published),
        "dateModified": _iso_ms(a.lastmod),
    }
    if not a.authors:
        del ld["author"]
    persons = {f"Person:{900 + i}": {"__typename": "Person", "fullName": n,
               "namedUrl": f"/{a.lang}/{_slugify(n)}/person-{900 + i}"}
               for i, n in enumerate(a.authors)}  # fmt: skip
    topics = {f"AutoTopic:{_topic_id(t)}": {"__typename": "AutoTopic", "id": _topic_id(t),
              "name": t, "namedUrl": f"/{a.lang}/{_slugify(t)}/t-{_topic_id(t)}"}
              for t in a.topics}  # fmt: skip
    apollo = {
        "ROOT_QUERY": {"__typename": "Query"},
        **persons,
        **topics,
        f"Article:{a.id}": {
            "__typename": "Article",
            "id": str(a.id),
            "namedUrl": a.path,
            "canonicalUrl": a.url,
            "title": a.title,
            "name": a.title,
            "teaser": a.teaser,
            "language": APOLLO_LANG.get(a.lang, a.lang.upper()),
            "isRtl": a.lang in RTL,
            "firstPublicationDate": _iso_ms(a.published),
            "lastPublicationDate": _iso_ms(a.lastmod),
            "lastModifiedDate": _iso_ms(a.lastmod),
            "localizedContentDate": dmy,
            "persons": [{"__ref": k} for k in persons],
            "permaLinkUrl": f"https://p.dw.com/p/{a.short_code}",
            "text": body_html,
            "thematicFocusCategory": {"__typename": "Category", "name": a.section},
            "departments": [{"__typename": "Department", "name": "News"}],
            "relatedAutoTopics": [{"__ref": k} for k in topics],
            "keywords": a.keywords,
        },
    }
    skip = "".join(
        f'<li><a href="#{t}"><span>{e(s)}</span></a></li>'
        for s, t in zip(lab["skip"], ("main-content", "navigation", "footer"), strict=True)
    )
    authors = "".join(
        f'<span><a href="/{a.lang}/{_slugify(n)}/person-{900 + i}"><span class="author">'
        f"{e(n)}</span></a></span>"
        for i, n in enumerate(a.authors)
    )
    topics_links = "".join(
        f'<a href="/{a.lang}/{_slugify(t)}/t-{_topic_id(t)}">{e(t)}</a>' for t in a.topics
    )
    kicker_topic = a.topics[0] if a.topics else "Europe"
    figure = ""
    if a.image_caption:
        credit = f'<small class="copyright">{lab["image"]}: {e(a.image_credit)}</small>'
        figure = (
            f'<figure><picture><img src="{img}_804.jpg" alt="{e(a.image_caption)}"></picture>'
            f'<figcaption class="sc-x1 img-caption">{e(a.image_caption)}'
            f"{credit if a.image_credit else ''}</figcaption></figure>"
        )
    direction = "rtl" if a.lang in RTL else "ltr"
    return f"""<!DOCTYPE html><html lang="{a.lang}" dir="{direction}"><head><meta charset="utf-8">
<title>{e(a.title)} – DW – {dmy}</title>
<link rel="canonical" href="{e(a.url)}">
<link rel="amphtml" href="https://amp.dw.com{e(a.path)}">
<meta name="description" content="{e(a.teaser or "")}">
<meta property="og:site_name" content="dw.com">
<meta property="og:title" content="{e(a.title)} – DW – {dmy}">
<meta property="og:url" content="{e(a.url)}">
<meta property="og:description" content="{e(a.teaser or "")}">
<meta property="og:image" content="{img}_6.jpg">
<meta name="twitter:title" content="{e(a.title)}">
<script type="application/ld+json">{_script_json(ld)}</script>
</head><body><noscript>You need to enable JavaScript to run this app.</noscript>
<div id="root"><div><ol class="sc-skip focus-menu-shown">{skip}</ol>
<div><div class="focus-menu-shown">{_nav(a)}<a class="live-tv-btn" href="/{a.lang}/live-tv/s-100">Live TV</a></div>
<div class="container-fluid"><div id="main-content"></div>
<section><div class="detail-zone"><article class="sc-kATywh dKNoQg"><div class="content-area">
<header><div class="kicker" data-tracking-name="content-detail-kicker"><span>{e(a.section)}</span><span><a href="/{a.lang}/{_slugify(kicker_topic)}/t-{_topic_id(kicker_topic)}"><span>{e(kicker_topic)}</span></a></span></div>
<h1>{e(a.title)}</h1><div class="author-details">{authors}</div>
<span class="time-area"><span class="publication"><time aria-hidden="true">{dmy}</time><span class="sr-only">{a.published.strftime("%B %d, %Y")}</span></span></span>
<p class="teaser-text">{e(a.teaser or "")}</p></header>
<section class="in-line closed" data-tracking-name="sharing-icons-inline"><div class="always-visible"><a href="https://www.facebook.com/sharer/sharer.php?u=https://p.dw.com/p/{a.short_code}%3Fmaca%3D{a.lang}-Facebook-sharing" title="Share on Facebook" class="facebook">Facebook</a><a href="https://twitter.com/intent/tweet?text=x" class="x-twitter">X</a></div><div class="copy-button-wrapper"><span>https://p.dw.com/p/{a.short_code}</span></div></section>
{figure}
<span></span><div class="advertisement"><span class="label-top">{lab["ad"]}</span><div class="gpt-slot" id="dw_m_article_top"></div></div>
<div class="rich-text has-italic" data-tracking-name="rich-text">{body_html}</div>
<footer><div class="feedback"><div id="feedback-button">{lab["feedback"]}</div></div></footer>
<div class="advertisement no-box"><span class="label-top">{lab["ad"]}</span></div>
</div></article></div></section>
<section><div class="alternating-zone"><section data-tracking-name="section-related-topics" id="related-topics"><a class="quick-item" href="#post-related-topics"><span>{lab["skip_next"]} {lab["related_topics"]}</span></a><div class="content-block"><h2>{lab["related_topics"]}</h2><aside class="start">{topics_links}</aside></div><div class="quick-item-target" id="post-related-topics"></div></section>
<section data-tracking-name="related-content"><h2>{lab["related"]}</h2><a href="/{a.lang}/another-invented-story/a-{a.id + 500000}"><h3>Another invented story about the valley</h3><p>A teaser for a related story that is not part of this one.</p></a></section></div></section>
</div><footer id="footer"><section><h2>About DW</h2><a href="/{a.lang}/about-dw/s-30688">About DW</a></section><section><span>© 2024 Deutsche Welle</span> | <a href="/{a.lang}/privacy-policy/a-4430">Privacy Policy</a></section></footer>
</div></div></div>
<script>window.__APOLLO_STATE__={_script_json(apollo)};</script>
</body></html>"""


def render_old(a: Article) -> str:
    """Old (server-rendered) frontend: div.col3 > h4.artikel, h1, p.intro, div.longText."""
    lab = _labels(a.lang)
    dmy = _dmy(a.published)
    img = f"https://static.dw.com/image/{a.id + 5}"
    parts: list[str] = []
    for i, p in enumerate(a.body()):
        if isinstance(p, tuple):
            # Old pages write subheadings both ways.
            parts.append(f"<h2>{e(p[1])}</h2>" if i % 2 else f"<p><strong>{e(p[1])}</strong></p>")
            continue
        parts.append(f"<p>{e(p)}</p>")
        if i == 1 and a.read_more:
            parts.append(
                f'<p><em>{lab["read_more"]}</em>: <a href="/{a.lang}/linked-invented-story/'
                f'a-{a.id + 400000}">A linked invented story</a></p>'
            )
        if i == 2:
            parts.append(
                f'<div class="picBox full rechts"><a class="overlayLink" href="#"><img '
                f'src="{img}_303.jpg" alt="An inline invented picture"></a>'
                f"<p>An inline invented picture</p></div>"
            )
    sig = a.signature()
    if sig:
        parts.append(f"<p>{e(sig)}</p>")
    author_li = (
        f"<li><strong>{lab['author']}</strong> {e(', '.join(a.authors))}</li>" if a.authors else ""
    )
    topics = ", ".join(
        f'<a href="/{a.lang}/{_slugify(t)}/t-{_topic_id(t)}">{e(t)}</a>' for t in a.topics
    )
    kws = ",\n".join(
        f'<a href="/search/{a.lang}?languageCode={a.lang}&amp;item={e(k)}" rel="nofollow">{e(k)}</a>'
        for k in a.keywords
    )
    small = f"""<ul class="smallList">
<li><strong>{lab["date"]}</strong>
{dmy}
</li>
{author_li}
<li><strong>{lab["topics"]}</strong>
{topics}
</li>
<li><strong>{lab["keywords"]}</strong>
{kws}
</li>
<li><strong>Feedback</strong>: <a class="overlayLink" href="#">{lab["feedback"]}</a></li>
<li><strong>Print</strong> <a class="icon print" href="javascript:window.print()">{lab["print"]}</a></li>
<li><strong>Permalink</strong>
https://p.dw.com/p/{a.short_code}
</li>
</ul>"""
    skip = "".join(
        f'<li><a href="#{t}">{e(s)}</a></li>'
        for s, t in zip(lab["skip"], ("bodyContent", "navMain", "footerSection"), strict=True)
    )
    pic = ""
    if a.image_caption:
        pic = (
            f'<div class="picBox full"><a class="overlayLink" href="#"><img src="{img}_303.jpg" '
            f'title="{e(a.image_caption)}" alt="{e(a.image_caption)}"></a>'
            f"<p>{e(a.image_caption)}</p></div>"
        )
    lang_meta = {"de": "de_DE", "en": "en_GB"}.get(a.lang, a.lang)
    direction = ' dir="rtl"' if a.lang in RTL else ""
    return f"""<!DOCTYPE html>
<html lang="{a.lang}"{direction}><head><link rel="canonical" href="{e(a.url)}">
<meta http-equiv="content-type" content="text/html; charset=utf-8">
<meta name="publisher" content="Deutsche Welle (www.dw.com)">
<meta name="author" content="Deutsche Welle (www.dw.com)">
<meta name="language" content="{lang_meta}">
<meta name="keywords" content="{e(",".join(a.keywords))}">
<meta name="news_keywords" content="{e(",".join(a.keywords))}">
<meta name="description" content="{e(a.teaser or "")}">
<meta property="og:url" content="{e(a.url)}">
<meta property="og:site_name" content="DW.COM">
<meta property="og:title" content="{e(a.title)} | DW | {dmy}">
<meta property="og:image" content="{img}_6.jpg">
<title>{e(a.title)} | {e(a.section)} | DW | {dmy}</title>
</head><body id="html_body">
<div class="cookie"><div class="cookie__wrap"><p class="cookie__text">{lab["cookie"]}</p><a class="cookie__btn cookie__btn--ok" href="#">OK</a></div></div>
<ol id="quickjump">{skip}</ol>
<div id="bodyMover"><div id="navMeta"><div id="langSelect"><a id="langSelectTrigger" href="#">DW.COM in 30 languages</a></div></div>
<div id="outerFrame"><div id="navContainer"><div id="navMain">{_nav(a)}</div><div id="navPath"><a href="/{a.lang}/">DW.COM</a></div></div>
<div id="innerFrame"><div class="adsContainer"><span>{lab["ad"]}</span></div>
<div id="bodyContent"><div class="col3">
<h4 class="artikel">{e(a.section)}</h4>
<h1>{e(a.title)}</h1>
<p class="intro">{e(a.teaser or "")}</p>
<div id="sharing-bar" class="min"><span><a class="sharing-item fb static" href="https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fp.dw.com%2Fp%2F{a.short_code}">Facebook</a></span><span><a class="sharing-item twitter static" href="#">Twitter</a></span></div>
{pic}
<div class="group"><div class="longText">
{"".join(parts)}
</div></div>
<div></div>
<h4>{lab["recommends"]}</h4>
<div class="group"><div class="linkList intern"><a href="/{a.lang}/recommended-invented-story/a-{a.id + 600000}"><h2>A recommended invented story</h2><p>Its teaser, which is not part of this article.</p></a></div></div>
<h4>{lab["av"]}</h4>
<div class="group"><div class="linkList overlayIcon"><a class="overlayLink" href="/{a.lang}/video-invented/av-{a.id + 700000}"><h2>An invented video</h2></a></div></div>
<div class="group">{small}</div>
<div class="col3 relatedContent"><h4 class="meta">{lab["related"]}</h4><div class="col1"><div class="news"><a href="/{a.lang}/related-invented/a-{a.id + 800000}"><h2>A related invented headline</h2><p>A related teaser line.</p></a></div></div></div>
</div>
<div class="col1 dim"><div class="group">{small}</div></div>
</div></div>
<div id="footerSection"><div id="footerBody"><p>© 2023 Deutsche Welle (www.dw.com)</p><a href="/{a.lang}/imprint/a-2100">Imprint</a></div></div>
</div></div></body></html>"""


# --- sitemaps and feeds -------------------------------------------------------------------


def _w3c(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc822(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


_MACA = "?maca={lang}-rss-{lang}-all-1573-xml-mrss"


def news_sitemap(arts: Iterable[Article], extra_urls: Iterable[str] = ()) -> bytes:
    """Google News sitemap (news:publication_date, news:title)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
    ]
    for a in arts:
        out.append(
            f"<url><loc>{e(a.url)}</loc><news:news><news:publication><news:name>DW</news:name>"
            f"<news:language>{a.lang}</news:language></news:publication>"
            f"<news:publication_date>{_w3c(a.published)}</news:publication_date>"
            f"<news:title>{e(a.title)}</news:title>"
            f"<news:keywords>{e(', '.join(a.keywords))}</news:keywords></news:news></url>"
        )
    for u in extra_urls:
        out.append(f"<url><loc>{e(u)}</loc></url>")
    out.append("</urlset>\n")
    return "\n".join(out).encode("utf-8")


def urlset(arts: Iterable[Article], extra_urls: Iterable[str] = ()) -> bytes:
    """Plain sitemap with lastmod."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    for a in arts:
        out.append(f"<url><loc>{e(a.url)}</loc><lastmod>{_w3c(a.lastmod)}</lastmod></url>")
    for u in extra_urls:
        out.append(f"<url><loc>{e(u)}</loc></url>")
    out.append("</urlset>\n")
    return "\n".join(out).encode("utf-8")


def sitemap_index(locs: Iterable[tuple[str, datetime | None]]) -> bytes:
    """Sitemap index pointing at child sitemaps."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    for loc, lm in locs:
        lastmod = f"<lastmod>{_w3c(lm)}</lastmod>" if lm else ""
        out.append(f"<sitemap><loc>{e(loc)}</loc>{lastmod}</sitemap>")
    out.append("</sitemapindex>\n")
    return "\n".join(out).encode("utf-8")


def rss_feed(lang: str, arts: Iterable[Article]) -> bytes:
    """RSS 2.0 like rss.dw.com/xml/rss-<code>-all: links carry ?maca= and maybe another slug."""
    items = []
    for a in arts:
        path = f"/{a.lang}/{quote(a.alt_slug)}/{a.cid}" if a.alt_slug else a.path
        link = WWW + path + _MACA.format(lang=a.lang)
        items.append(
            f"<item><title>{e(a.title)}</title><link>{e(link)}</link>"
            f"<description>{e(a.teaser or '')}</description>"
            f"<pubDate>{_rfc822(a.published)}</pubDate>"
            f'<guid isPermaLink="false">{a.cid}</guid>'
            f"<dc:date>{_w3c(a.published)}</dc:date></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>DW</title>'
        f"<link>{WWW}/{lang}/</link><description>invented</description>"
        + "".join(items)
        + "</channel></rss>\n"
    ).encode("utf-8")


def section_page(lang: str, path: str, arts: Iterable[Article]) -> str:
    """A section/topic/person page (never to be fetched by the spider)."""
    links = "".join(f'<li><a href="{e(a.path)}">{e(a.title)}</a></li>' for a in arts)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><body><h1>{e(path)}</h1><ul>{links}</ul></body></html>'
    )


# --- the server ---------------------------------------------------------------------------

Reply = tuple[int, dict[str, str], bytes]
Route = Callable[["_Handler"], Reply] | Reply


class DWSite:
    """Articles + a threaded HTTP server on 127.0.0.1 that serves them like dw.com.

    Attributes tests may change between runs: articles (dict cid -> Article), disallow
    (robots.txt paths), routes (exact path -> Reply tuple or callable(handler) -> Reply,
    checked first), down (503 everywhere), delay / delays[path] (seconds before answering),
    extra_news_urls (additional <loc>s per lang, e.g. s-/t- pages), gzip_child (serve the
    second archive child sitemap gzipped).
    """

    def __init__(self, articles: Iterable[Article] = ()) -> None:
        self.articles: dict[str, Article] = {}
        for a in articles:
            self.add(a)
        self.disallow: list[str] = []
        self.routes: dict[str, Route] = {}
        self.down = False
        self.delay = 0.0
        self.delays: dict[str, float] = {}
        self.extra_news_urls: dict[str, list[str]] = {}
        self.log: list[str] = []  # request paths (with query), in arrival order
        self.arrivals: list[float] = []  # time.monotonic() of each request in self.log
        self.statuses: list[tuple[str, int]] = []  # (path, status) once answered
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # content management
    def add(self, article: Article) -> Article:
        """Add or replace an article (keyed by content id)."""
        self.articles[article.cid] = article
        return article

    def remove(self, cid: str) -> None:
        """Remove an article: its page 404s and it leaves every sitemap and feed."""
        self.articles.pop(cid, None)

    def edition(self, lang: str) -> list[Article]:
        """Articles of one edition, newest first (the order DW lists them)."""
        arts = [a for a in self.articles.values() if a.lang == lang]
        return sorted(arts, key=lambda a: a.published, reverse=True)

    def generate(
        self,
        n: int,
        langs: tuple[str, ...] = ("en", "de"),
        start_id: int = 10_000_000,
        start: datetime | None = None,
    ) -> list[Article]:
        """Add n invented articles (alternating layouts and editions); text made on request."""
        t0 = start or datetime(2024, 3, 1, tzinfo=UTC)
        out = []
        for i in range(n):
            lang = langs[i % len(langs)]
            a = Article(
                id=start_id + i,
                lang=lang,
                layout="new" if i % 2 == 0 else "old",
                title=f"Invented report number {start_id + i}",
                slug=f"invented-report-{start_id + i}",
                teaser=f"Teaser of invented report {start_id + i}.",
                published=t0 - timedelta(minutes=7 * i),
                authors=[_NAMES[i % len(_NAMES)]],
                editors=["ab", "cd"] if i % 3 == 0 else [],
                agencies=["dpa", "AFP"] if i % 3 == 0 else [],
            )
            self.articles[a.cid] = a
            out.append(a)
        return out

    @classmethod
    def default(cls) -> DWSite:
        """The standard small site the e2e tests use (see default_articles)."""
        site = cls(default_articles())
        site.disallow = ["/en/robots-disallowed-story/a-1003"]
        site.extra_news_urls = {
            "en": [f"{WWW}/en/germany/s-1432", f"{WWW}/en/climate/t-17284476"],
            "de": [f"{WWW}/de/themen/s-9077", f"{WWW}/de/jane-roe/person-123"],
        }
        return site

    # server
    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (use as DW_BASE_URL and DW_RSS_URL)."""
        assert self._server is not None, "site not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DWSite:
        """Start serving on a free port in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        server.site = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DWSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # request log
    def record(self, path: str) -> None:
        with self._lock:
            self.log.append(path)
            self.arrivals.append(time.monotonic())

    def record_status(self, path: str, status: int) -> None:
        with self._lock:
            self.statuses.append((path, status))

    def clear_log(self) -> None:
        """Forget the requests served so far (call between runs)."""
        with self._lock:
            self.log.clear()
            self.arrivals.clear()
            self.statuses.clear()

    def fetches_of(self, cid: str) -> list[str]:
        """Paths of requests for content id cid answered with the page itself (not a redirect)."""
        with self._lock:
            return [
                p for p, st in self.statuses
                if st not in (301, 302, 307, 308) and p.split("?", 1)[0].endswith("/" + cid)
            ]  # fmt: skip

    def requested(self, needle: str) -> list[str]:
        """Logged request paths containing needle."""
        with self._lock:
            return [p for p in self.log if needle in p]

    def article_requests(self) -> list[str]:
        """Logged requests of content pages (a-, av-, audio-, g-, live-)."""
        with self._lock:
            return [p for p in self.log if _CONTENT_RE.search(p.split("?", 1)[0])]

    # routing
    def respond(self, handler: _Handler) -> Reply:
        """Answer one GET (path without host)."""
        path = urlsplit(handler.path).path
        if path in self.routes:
            route = self.routes[path]
            return route(handler) if callable(route) else route
        if self.down:
            return 503, {"Retry-After": "0"}, b"down"
        if path == "/robots.txt":
            lines = ["User-agent: *"] + [f"Disallow: {p}" for p in self.disallow]
            return 200, {"Content-Type": "text/plain"}, ("\n".join(lines) + "\n").encode()
        m = re.fullmatch(r"/xml/rss-([a-z]+)-all", path)
        if m:
            lang = next((k for k, v in RSS_CODES.items() if v == m.group(1)), None)
            if lang is None:
                return 404, {}, b"no such feed"
            arts = [a for a in self.edition(lang) if a.in_rss]
            return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, rss_feed(lang, arts)
        m = re.fullmatch(r"/([a-z]{2}(?:-[a-z0-9]+)?)/(news-sitemap|article-sitemap)(?:-(\d+))?\.xml(\.gz)?", path)  # fmt: skip
        if m:
            return self._sitemap(m.group(1), m.group(2), m.group(3), bool(m.group(4)))
        m = re.fullmatch(r"/p/([A-Za-z0-9]+)", path)
        if m:  # p.dw.com short links redirect to the content
            a = next((a for a in self.articles.values() if a.short_code == m.group(1)), None)
            if a is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
            return 301, {"Location": a.path}, b""
        m = _CONTENT_RE.search(path)
        if m:
            a = self.articles.get(f"{m.group(1)}-{m.group(2)}")
            if a is None or not path.startswith(f"/{a.lang}/"):
                return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
            if path != a.path and unquote(path) != unquote(a.path):
                # DW answers an outdated or alternative slug with a redirect to the current one.
                return 301, {"Location": a.path}, b""
            return a.status, {"Content-Type": "text/html; charset=utf-8"}, a.html().encode()
        m = re.fullmatch(r"/([a-z]{2}(?:-[a-z0-9]+)?)/[^/]+/(s|t|person)-\d+", path)
        if m:
            arts = self.edition(m.group(1))[:20]
            return 200, {"Content-Type": "text/html"}, section_page(m.group(1), path, arts).encode()
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _sitemap(self, lang: str, kind: str, part: str | None, gz: bool) -> Reply:
        xml = {"Content-Type": "application/xml; charset=utf-8"}
        arts = self.edition(lang)
        if kind == "news-sitemap":
            if part:
                return 404, {}, b""
            news = [a for a in arts if a.in_news]
            return 200, xml, news_sitemap(news, self.extra_news_urls.get(lang, ()))
        archive = [a for a in arts if a.in_archive]
        halves = [archive[0::2], archive[1::2]]
        if part is None:
            locs = [
                (f"{WWW}/{lang}/article-sitemap-1.xml", _newest(halves[0])),
                (f"{WWW}/{lang}/article-sitemap-2.xml.gz", _newest(halves[1])),
            ]
            return 200, xml, sitemap_index(locs)
        idx = int(part) - 1
        if idx not in (0, 1) or gz != (idx == 1):
            return 404, {}, b""
        body = urlset(halves[idx])
        if gz:
            return 200, {"Content-Type": "application/x-gzip"}, gzip.compress(body, mtime=0)
        return 200, xml, body


def _newest(arts: list[Article]) -> datetime | None:
    return max((a.lastmod for a in arts), default=None)


_CONTENT_RE = re.compile(r"/(a|av|audio|g|live)-(\d+)/?$")


class _Handler(BaseHTTPRequestHandler):
    server_version = "dwsite/1.0"

    def do_GET(self) -> None:
        site: DWSite = self.server.site  # type: ignore[attr-defined]
        site.record(self.path)
        wait = site.delays.get(urlsplit(self.path).path, site.delay)
        if wait:
            time.sleep(wait)
        try:
            status, headers, body = site.respond(self)
        except Exception as exc:  # a broken route is a 500, not a hung test
            status, headers, body = 500, {}, repr(exc).encode()
        site.record_status(self.path, status)
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def default_articles() -> list[Article]:
    """A small fixed corpus: both layouts, en and de (+ ar, rtl), dupes, robots, dates."""
    t = datetime(2024, 1, 30, 14, 13, 12, tzinfo=UTC)
    return [
        # en, new layout, in news + rss + archive; RSS links it under another slug + ?maca=.
        make_article(
            1001, "en", "new", "Harbor council approves new ferry line",
            published=t, authors=["Mara Lindqvist"], alt_slug="ferry-line-approved",
            editors=["rc", "msh"], agencies=["AFP", "AP", "Reuters"],
        ),
        # en, old layout: page gives only the day; the news sitemap gives the time.
        make_article(
            1002, "en", "old", "Copper museum reopens after renovation",
            published=t - timedelta(hours=3), authors=["Tomas Okafor"],
            editors=["ab", "jsi"], agencies=["dpa"],
        ),
        # en, disallowed by robots.txt: must never be requested.
        make_article(
            1003, "en", "new", "A story robots may not fetch", slug="robots-disallowed-story",
            published=t - timedelta(hours=5),
        ),
        # en, only in the archive sitemap (the gzipped child), older.
        make_article(
            1004, "en", "new", "Archive piece on granite quarries",
            published=datetime(2023, 5, 1, 9, 30, tzinfo=UTC), in_news=False, in_rss=False,
            authors=["Ravi Castellano"],
        ),
        # en, news + rss, December 2023: for since/until windows.
        make_article(
            1006, "en", "old", "December notes from the orchard valley",
            published=datetime(2023, 12, 1, 8, 0, tzinfo=UTC), authors=["Ines Halvorsen"],
        ),
        # de, new layout with agencies in the signature line.
        make_article(
            2001, "de", "new", "Stadtrat beschließt neue Fährlinie",
            published=t - timedelta(hours=1), authors=["Jana Wierzbicka"],
            editors=["cwo", "fab"], agencies=["dpa", "afp"], alt_slug="faehrlinie-beschlossen",
            section="Politik", topics=["Klima", "Europa"],
        ),
        # de, old layout with inline "Mehr zum Thema" and two smallLists.
        make_article(
            2002, "de", "old", "Kupfermuseum öffnet nach Umbau wieder",
            published=t - timedelta(hours=2), authors=["Tomas Okafor"], section="Kultur",
        ),
        # de, only in the RSS feed.
        make_article(
            2003, "de", "new", "Nachrichten aus dem Obstgarten",
            published=t - timedelta(hours=4), in_news=False, in_archive=False,
            alt_slug="obstgarten-nachrichten",
        ),
        # ar (rtl), new layout: used when lang includes ar.
        make_article(3001, "ar", "new", "مجلس الميناء يوافق على خط عبّارة", published=t),
    ]  # fmt: skip


# --- running the crawler ------------------------------------------------------------------


@dataclass
class CrawlResult:
    """What one `scrapy crawl dw` subprocess produced."""

    returncode: int
    output_dir: Path
    log: str
    stats: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        """Finished dw-*.jsonl files (sorted by name, i.e. by run start)."""
        return sorted(self.output_dir.glob("dw-*.jsonl"))

    @property
    def part_files(self) -> list[Path]:
        return sorted(self.output_dir.glob("*.part"))

    @property
    def records(self) -> list[dict[str, Any]]:
        """All records of all finished output files, in file order."""
        out = []
        for f in self.files:
            with f.open(encoding="utf-8") as fh:
                out.extend(json.loads(line) for line in fh if line.strip())
        return out

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.records}

    def stat(self, key: str, default: Any = 0) -> Any:
        return self.stats.get(key, default)


_STAT_RE = re.compile(r"^\s*'([^']+)':\s*(-?\d+(?:\.\d+)?|'[^']*'|None)\s*,?\s*}?\s*$")


def parse_stats(log: str) -> dict[str, Any]:
    """The 'Dumping Scrapy stats' block of a log, numbers and strings only."""
    i = log.rfind("Dumping Scrapy stats:")
    if i < 0:
        return {}
    stats: dict[str, Any] = {}
    for line in log[i:].splitlines()[1:]:
        m = _STAT_RE.match(line.replace("{", " ", 1) if line.lstrip().startswith("{") else line)
        if m:
            raw = m.group(2)
            if raw == "None":
                val: Any = None
            elif raw.startswith("'"):
                val = raw[1:-1]
            else:
                val = float(raw) if "." in raw else int(raw)
            stats[m.group(1)] = val
        elif (line.strip().endswith("}") and "'" not in line) or not line.startswith((" ", "{")):
            break
    return stats


def crawl_command(site: DWSite, output_dir: Path, *args: str, **settings: Any) -> list[str]:
    """The argv of a fast local crawl against site (throttling off, output in output_dir)."""
    base = {
        "DW_BASE_URL": site.url,
        "DW_RSS_URL": site.url,
        "DW_PERMALINK_URL": site.url,
        "DW_OUTPUT_DIR": str(output_dir),
        "DW_STATE_PATH": str(output_dir / "state.sqlite3"),
        # Explicit, so a test that blanks DW_OUTPUT_DIR (feed exports only) does not fall
        # back to the repository's own output/warc.
        "DW_WARC_DIR": str(output_dir / "warc"),
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        "RETRY_TIMES": "1",
        "LOG_LEVEL": "INFO",
    }
    base.update({k: str(v) for k, v in settings.items()})
    argv = [sys.executable, "-m", "scrapy", "crawl", "dw", *args]
    for k, v in base.items():
        argv += ["-s", f"{k}={v}"]
    return argv


def run_crawl(
    site: DWSite, output_dir: Path, *args: str, timeout: float = 180, **settings: Any
) -> CrawlResult:
    """Run `scrapy crawl dw` against site in a subprocess; args are spider/CLI arguments."""
    output_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        crawl_command(site, output_dir, *args, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log = proc.stderr + proc.stdout
    return CrawlResult(proc.returncode, output_dir, log, parse_stats(log))
