"""DW's new React frontend: <article> with a header (kicker, h1, author-details, time,
teaser), a lead <figure>, and the body in div.rich-text (data-tracking-name="rich-text").

Class names like "sc-kATywh" / "c17j8gzx" are build hashes and change with every deploy:
nothing here selects on them. Selectors use element names, data-tracking-name attributes
and the few semantic class tokens DW keeps (rich-text, teaser-text, author, copyright).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

import lxml.etree as etree
import lxml.html

from dwscraper.normalize import clean_line
from dwscraper.parsing.signature import Signature, split_signature
from dwscraper.parsing.text import container_blocks, element_text, has_class


def _cls(token: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {token} ')"


_HEADER = etree.XPath(".//header")
_H1 = etree.XPath(".//h1")
_KICKER = etree.XPath(".//*[@data-tracking-name='content-detail-kicker']")
_AUTHORS = etree.XPath(
    f".//*[{_cls('author-details')}]//*[{_cls('author')} or {_cls('author-link')}]"
)
_TIME = etree.XPath(f".//*[{_cls('publication')}]//time | .//time")
_TEASER = etree.XPath(f".//p[{_cls('teaser-text')}] | ./p")
_FIGURES = etree.XPath(".//figure")
_RICH = etree.XPath(f".//*[@data-tracking-name='rich-text' or {_cls('rich-text')}]")
_COPY = etree.XPath(f".//*[{_cls('copy-button-wrapper')}]")
_SHARE_HREFS = etree.XPath(".//*[@data-tracking-name='sharing-icons-inline']//a/@href")
_RELATED = etree.XPath("//*[@id='related-topics']//a[contains(@href, '/t-')]")
_CREDIT = etree.XPath(f".//small[{_cls('copyright')}] | .//small")
_CAPTION = etree.XPath(".//figcaption")
_HEADINGS = etree.XPath("./h2 | ./h3 | .//header//h2 | .//header//h3")
_PERMALINK_RE = re.compile(r"https?://p\.dw\.com/p/[A-Za-z0-9_-]+")
_CREDIT_LABEL_RE = re.compile(r"^[^\s:：]{1,12}(?:\s[^\s:：]{1,12})?\s*[:：]\s*")
_GALLERY = etree.XPath(f".//*[{_cls('gallery')} or {_cls('image-gallery')}]")


@dataclass
class NewPage:
    """What the new-layout reader found."""

    title: str | None = None
    kicker: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    time_raw: str | None = None
    teaser: str | None = None
    blocks: list[str] = field(default_factory=list)
    image_url: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    short_url: str | None = None
    related_topics: list[str] = field(default_factory=list)
    signature: Signature = field(default_factory=Signature)


def find_article(articles: list, rich_texts: list) -> lxml.html.HtmlElement | None:
    """The <article> holding the body (or the first with an h1): new layout recognized."""
    for rich in rich_texts:
        for anc in rich.iterancestors("article"):
            return anc
    for art in articles:
        if _H1(art) and (_KICKER(art) or _HEADER(art)):
            return art
    return None


def _figure(fig: lxml.html.HtmlElement) -> tuple[str | None, str | None, str | None]:
    """(url, caption, credit) of a figure; the credit's label ("Bild:", "Image:") dropped."""
    credit = None
    caps = _CAPTION(fig)
    caption = None
    if caps:
        cap = caps[0]
        smalls = _CREDIT(cap)
        if smalls:
            credit = element_text(smalls[0])
            for s in smalls:
                s.drop_tree()
        caption = element_text(cap)
    if credit:
        credit = clean_line(_CREDIT_LABEL_RE.sub("", credit, count=1))
    url = None
    img = next(fig.iter("img"), None)
    if img is not None:
        url = img.get("data-url") or img.get("src") or None
        if not url and img.get("srcset"):
            url = img.get("srcset").split(",")[0].split()[0]
    return url, caption, credit


def _inside(el: lxml.html.HtmlElement, containers: list) -> bool:
    return any(anc in containers for anc in el.iterancestors())


def gallery_captions(article: lxml.html.HtmlElement, skip: list) -> list[str]:
    """Picture-gallery text: each slide's heading and caption, in page order."""
    scope = _GALLERY(article) or [article]
    out: list[str] = []
    for container in scope:
        for fig in _FIGURES(container):
            if fig in skip:
                continue
            _, caption, _ = _figure(fig)
            parent = fig.getparent()
            for h in _HEADINGS(parent) if parent is not None else []:
                line = element_text(h)
                if line and line not in out:
                    out.append(line)
            if caption:
                out.append(caption)
    return out


def liveblog_entries(article: lxml.html.HtmlElement, riches: list) -> list[str]:
    """Live-blog text: per entry its time as shown, its heading, then its paragraphs."""
    out: list[str] = []
    for rich in riches:
        entry = None
        for anc in rich.iterancestors():
            if anc is article:
                break
            if next(anc.iter("time"), None) is not None:
                entry = anc
                break
        if entry is not None:
            t = next(entry.iter("time"), None)
            when = element_text(t) if t is not None else None
            if when:
                out.append(when)
            for h in entry.iter("h2", "h3"):
                if not _inside(h, [rich]):
                    line = element_text(h)
                    if line:
                        out.append(line)
                    break
        out.extend(container_blocks(rich))
    return out


def read(article: lxml.html.HtmlElement, page_type: str | None) -> NewPage:
    """Read the new layout from its <article>."""
    page = NewPage()
    headers = _HEADER(article)
    header = headers[0] if headers else article
    h1 = _H1(header) or _H1(article)
    page.title = element_text(h1[0]) if h1 else None
    kicker = _KICKER(article)
    if kicker:
        parts = [element_text(c) for c in kicker[0].iterchildren() if isinstance(c.tag, str)]
        page.kicker = [p for p in dict.fromkeys(parts) if p] or [
            p for p in [element_text(kicker[0])] if p
        ]
    names = [element_text(a) for a in _AUTHORS(header)]
    page.authors = [n for n in dict.fromkeys(names) if n]
    times = _TIME(header)
    if times:
        page.time_raw = times[0].get("datetime") or element_text(times[0])
    for p in _TEASER(header) if header is not article else []:
        if has_class(p, "teaser-text") or p.getparent() is header:
            page.teaser = element_text(p)
            break
    all_riches = _RICH(article)
    riches = [r for r in all_riches if not _inside(r, all_riches)]
    galleries = _GALLERY(article) if page_type == "gallery" else []
    lead = None
    for fig in _FIGURES(article):
        if not _inside(fig, riches + galleries):
            lead = fig
            break
    if lead is not None:
        page.image_url, page.image_caption, page.image_credit = _figure(lead)
    copy = _COPY(article)
    if copy:
        m = _PERMALINK_RE.search(copy[0].text_content())
        page.short_url = m.group(0) if m else None
    if not page.short_url:
        for href in _SHARE_HREFS(article):
            m = _PERMALINK_RE.search(unquote(href))
            if m:
                page.short_url = m.group(0)
                break
    page.related_topics = [
        t for t in dict.fromkeys(element_text(a) for a in _RELATED(article)) if t
    ]
    if page_type == "liveblog":
        blocks = liveblog_entries(article, riches)
    else:
        blocks = []
        for rich in riches:
            blocks.extend(container_blocks(rich))
        if page_type == "gallery":
            captions = gallery_captions(article, [lead] if lead is not None else [])
            if galleries and not page.image_url:
                first = next(iter(_FIGURES(galleries[0])), None)
                if first is not None:
                    img = next(first.iter("img"), None)
                    if img is not None:
                        page.image_url = img.get("data-url") or img.get("src")
                    page.image_caption = captions[0] if captions else None
            blocks.extend(captions)
    page.blocks, page.signature = split_signature(blocks)
    return page
