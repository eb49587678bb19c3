"""DW's new React frontend: <article> with a header (kicker, h1, author-details, time,
teaser), a lead <figure>, and the body in div.rich-text (data-tracking-name="rich-text").

Class names like "sc-kATywh" / "c17j8gzx" are build hashes and change with every deploy:
nothing here selects on them. Selectors use element names, data-tracking-name attributes
and the few semantic class tokens DW keeps (rich-text, teaser-text, author, copyright).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

import lxml.etree as etree

from dwscraper.normalize import to_rfc3339
from dwscraper.parsing.document import Element, parse
from dwscraper.parsing.signature import (
    Signature,
    byline_agencies,
    merge_agencies,
    split_signature,
)
from dwscraper.parsing.text import (
    body_blocks,
    credit_without_label,
    drop,
    element_text,
    has_class,
    raw_text,
)
from dwscraper.urls import permalink

_CREDIT = etree.XPath(".//small")
_CAPTION = etree.XPath(".//figcaption")
_HEADINGS = etree.XPath("./h2 | ./h3 | .//header//h2 | .//header//h3")


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


def find_article(articles: list, rich_texts: list) -> Element | None:
    """The <article> holding the body (or the first with an h1): new layout recognized."""
    for rich in rich_texts:
        # The nearest <article> around the body, unless it lacks the page's h1 and an outer
        # one has it (live-blog posts marked up as articles inside the page's article).
        nearest = None
        for anc in rich.iterancestors("article"):
            if next(anc.iter("h1"), None) is not None:
                return anc
            nearest = nearest if nearest is not None else anc
        if nearest is not None:
            return nearest
    for art in articles:
        if next(art.iter("h1"), None) is not None and next(art.iter("header"), None) is not None:
            return art
    return None


def _figure(fig: Element) -> tuple[str | None, str | None, str | None]:
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
                drop(s)
        caption = element_text(cap)
    credit = credit_without_label(credit)
    url = None
    img = next(fig.iter("img"), None)
    if img is not None:
        url = img.get("data-url") or img.get("src") or None
        if not url and img.get("srcset"):
            url = img.get("srcset").split(",")[0].split()[0]
    return url, caption, credit


def _inside(el: Element, containers: list) -> bool:
    return any(anc in containers for anc in el.iterancestors())


def gallery_captions(article: Element, skip: list, galleries: list) -> list[str]:
    """Picture-gallery text: each slide's heading, caption and paragraphs, in page order."""
    scope = galleries or [article]
    out: list[str] = []
    for container in scope:
        for fig in container.iter("figure"):
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
            # A slide may tell more than its caption, in paragraphs beside the figure (only in
            # a gallery container: a figure in the body has the body's paragraphs beside it).
            for para in parent.iterchildren("p") if parent is not None and galleries else []:
                line = element_text(para)
                if line and line != caption and line not in out:
                    out.append(line)
    return out


def _entry_time(t: Element) -> str | None:
    """A post's time as RFC 3339 UTC from its datetime attribute; else the visible text only
    when it has no letters ("11:45", "07.02.2025"): "54 minutes ago" would change the
    text, and so the content hash, on every crawl."""
    stamp = t.get("datetime")
    if stamp:
        try:
            return to_rfc3339(stamp)
        except Exception:
            pass
    shown = element_text(t)
    if shown and not any(ch.isalpha() for ch in shown):
        return shown
    return None


def liveblog_entries(article: Element, riches: list) -> tuple[list[str], Signature]:
    """Live-blog text: per entry its time as shown, its heading, then its paragraphs; and
    the editors and agencies of the entries' own signature lines ("dh/sms (AFP, dpa)"
    closes a post, not the page), which leave the text."""
    out: list[str] = []
    found = Signature()
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
            when = _entry_time(t) if t is not None else None
            if when:
                out.append(when)
            for h in entry.iter("h2", "h3"):
                if not _inside(h, [rich]):
                    line = element_text(h)
                    if line:
                        out.append(line)
                    break
        blocks, sig = split_signature(body_blocks(rich))
        out.extend(blocks)
        found.editors = merge_agencies(found.editors, sig.editors)
        found.agencies = merge_agencies(found.agencies, sig.agencies)
    return out, found


@dataclass
class _Nodes:
    """The article's landmarks, found in one walk over its elements."""

    header: Element | None = None
    h1: Element | None = None
    kicker: Element | None = None
    author_details: Element | None = None
    figures: list[Element] = field(default_factory=list)
    riches: list[Element] = field(default_factory=list)
    copy: Element | None = None
    share: Element | None = None
    galleries: list[Element] = field(default_factory=list)
    teaser: Element | None = None


def _walk(article: Element) -> _Nodes:
    """One pass over the article (cheaper than one class-token XPath per landmark)."""
    nodes = _Nodes()
    # Landmarks by tag name are found by C-filtered walks; the Python walk reads attributes
    # only (an element's tag name is a new str each time it is read).
    nodes.figures = list(article.iter("figure"))
    nodes.header = next(article.iter("header"), None)
    nodes.h1 = next(article.iter("h1"), None)
    for el in article.iter(etree.Element):
        tracking = el.get("data-tracking-name")
        if tracking == "rich-text":
            nodes.riches.append(el)
            continue
        if tracking == "content-detail-kicker" and nodes.kicker is None:
            nodes.kicker = el
        elif tracking == "sharing-icons-inline" and nodes.share is None:
            nodes.share = el
        elif tracking == "image-gallery":  # hashed classes: the tracking name says it
            nodes.galleries.append(el)
            continue
        cls = el.get("class")
        # Substrings first: most classes hold none of the tokens below, so skip the split.
        if not cls or not (
            "rich-text" in cls
            or "author-details" in cls
            or "copy-button-wrapper" in cls
            or "gallery" in cls
            or "teaser-text" in cls
        ):
            continue
        tokens = cls.split()
        if "rich-text" in tokens:
            nodes.riches.append(el)
        elif "author-details" in tokens and nodes.author_details is None:
            nodes.author_details = el
        elif "copy-button-wrapper" in tokens and nodes.copy is None:
            nodes.copy = el
        elif "gallery" in tokens or "image-gallery" in tokens:
            nodes.galleries.append(el)
        elif "teaser-text" in tokens and nodes.teaser is None and el.tag == "p":
            nodes.teaser = el
    return nodes


def _authors(details: Element | None) -> list[str]:
    if details is None:
        return []
    names = []
    for el in details.iter():
        tokens = (el.get("class") or "").split() if isinstance(el.tag, str) else ()
        if "author" in tokens or "author-link" in tokens:
            names.append(element_text(el))
    return [n for n in dict.fromkeys(names) if n]


def read(article: Element, page_type: str | None) -> NewPage:
    """Read the new layout from its <article>."""
    page = NewPage()
    nodes = _walk(article)
    header = nodes.header if nodes.header is not None else article
    h1 = next(header.iter("h1"), None) if header is not article else nodes.h1
    h1 = h1 if h1 is not None else nodes.h1
    page.title = element_text(h1) if h1 is not None else None
    if nodes.kicker is not None:
        parts = [element_text(c) for c in nodes.kicker.iterchildren() if isinstance(c.tag, str)]
        page.kicker = [p for p in dict.fromkeys(parts) if p] or [
            p for p in [element_text(nodes.kicker)] if p
        ]
    page.authors = _authors(nodes.author_details)
    if header is not article:
        t = next(header.iter("time"), None)
        if t is not None:
            page.time_raw = t.get("datetime") or element_text(t)
        for p in header.iter("p"):
            if has_class(p, "teaser-text") or p.getparent() is header:
                page.teaser = element_text(p)
                break
    if page.teaser is None and nodes.teaser is not None:
        # Video and audio pages put the description below the player, outside the header.
        page.teaser = element_text(nodes.teaser)
    riches = [r for r in nodes.riches if not _inside(r, nodes.riches)]
    galleries = nodes.galleries if page_type == "gallery" else []
    lead = None
    for fig in nodes.figures:
        if not _inside(fig, riches + galleries):
            lead = fig
            break
    if lead is not None:
        page.image_url, page.image_caption, page.image_credit = _figure(lead)
    if nodes.copy is not None:
        page.short_url = permalink(raw_text(nodes.copy))
    if not page.short_url and nodes.share is not None:
        for a in nodes.share.iter("a"):
            page.short_url = permalink(unquote(a.get("href") or ""))
            if page.short_url:
                break
    entries_signature = Signature()
    if page_type == "liveblog":
        blocks, entries_signature = liveblog_entries(article, riches)
    else:
        blocks = []
        for rich in riches:
            blocks.extend(body_blocks(rich))
        if page_type == "gallery":
            if galleries and lead is None:
                first = next(galleries[0].iter("figure"), None)
                if first is not None:
                    page.image_url, page.image_caption, page.image_credit = _figure(first)
            blocks.extend(gallery_captions(article, [lead] if lead is not None else [], galleries))
    page.blocks, page.signature = split_signature(blocks)
    page.signature.editors = merge_agencies(page.signature.editors, entries_signature.editors)
    page.signature.agencies = merge_agencies(page.signature.agencies, entries_signature.agencies)
    if nodes.author_details is not None:
        # "<a class="author-link">Name</a><span class="extra-info"> with AFP, dpa</span>"
        for el in nodes.author_details.iter("span"):
            if has_class(el, "extra-info"):
                credit = byline_agencies(element_text(el))
                page.signature.agencies = merge_agencies(page.signature.agencies, credit)
    return page


def state_blocks(html: str | None) -> list[str]:
    """The body DW's page state carries (content.text: the rich-text div's inner HTML), read
    as the rich-text div is read. For a page whose markup no reader recognizes: the state
    still holds DW's own body, where a generic extractor would read menus. A second parse,
    of the body alone, only on that path."""
    if not html or not html.strip():
        return []
    doc = parse(f'<html><body><div class="rich-text">{html}</div></body></html>', page=False)
    body = (
        next((d for d in doc.root.iter("div") if has_class(d, "rich-text")), None)
        if doc.root is not None
        else None
    )
    return body_blocks(body) if body is not None else []


def related_topics(section: Element | None) -> list[str]:
    """Names of the /t- links in the 'Related topics' aside (DW's auto-topic suggestions)."""
    if section is None:
        return []
    names = [element_text(a) for a in section.iter("a") if "/t-" in (a.get("href") or "")]
    return [n for n in dict.fromkeys(names) if n]
