"""DW's old, server-rendered frontend: div#bodyContent > div.col3 with h4.artikel, h1,
p.intro, div.longText and the labelled ul.smallList (shown twice: the first one wins).

The smallList labels are localized in every edition ("Date"/"Datum"/"Fecha"/"Дата"...),
so items are recognized by what they hold first (a dd.mm.yyyy value, a p.dw.com link, /t-
topic links, /search keyword links) and by label only where the value cannot tell.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from dwscraper.parsing import dates
from dwscraper.parsing.document import Element
from dwscraper.parsing.signature import (
    Signature,
    byline_agencies,
    is_agency,
    merge_agencies,
    parse_signature,
    split_editors_credit,
    split_signature,
)
from dwscraper.parsing.text import (
    body_blocks,
    clean_line,
    credit_without_label,
    element_text,
    has_class,
    raw_text,
)
from dwscraper.urls import permalink

# Fixed-depth lookups walk children in C (iterchildren with tags): an lxml XPath call costs
# more to set up than these small searches do.


def _child_with_class(parent: Element, tag: str, token: str) -> Element | None:
    for el in parent.iterchildren(tag):
        if has_class(el, token):
            return el
    return None


def _head(body: Element) -> tuple[Element, Element] | None:
    """(column, head): the div.col3 of div#bodyContent that holds the h1, and the block whose
    children are the h4.artikel kicker, h1 and p.intro. On article pages that is the first
    col3 with an h1 child (the column itself); only where no col3 has one, video and audio
    pages nest it a level down (div.col3 > div.group > h4.artikel + h1 + p.intro)."""
    columns = [el for el in body.iterchildren("div") if has_class(el, "col3")]
    for el in columns:
        if _has_child(el, "h1"):
            return el, el
    for el in columns:
        for sub in el.iterchildren("div"):
            if _has_child(sub, "h1") and (
                _child_with_class(sub, "h4", "artikel") is not None
                or _child_with_class(sub, "p", "intro") is not None
            ):
                return el, sub
    return None


def _has_child(el: Element, tag: str) -> bool:
    return next(el.iterchildren(tag), None) is not None


def _links(li: Element) -> list[Element]:
    return list(li.iterdescendants("a"))


# A dd.mm.yyyy value (any script's digits: \d is Unicode-aware).
_DATE_RE = re.compile(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4})\b")
_TOPIC_HREF_RE = re.compile(r"/t-\d+")
_CREDIT_RE = re.compile(r"^(?P<caption>.*?)\s*\((?P<credit>[^()]{2,120})\)\s*$", re.S)
_BRACKETS_RE = re.compile(r"\s*[(（\[][^()（）\[\]]*[)）\]]")
_NAME_SPLIT_RE = re.compile(r"\s*(?:,|;|\||/|&|\s(?:und|and|et|y|e|и|i|ve|dan|na)\s)\s*")

# Author labels of the smallList (and of "Author: X" lines in the body), every edition seen
# or documented; the list is only needed where a value alone cannot say it is an author.
# Cities DW's correspondents sign from ("Bernd Riegert, Brüssel"): in an author list they are
# the place, not a co-author. German, English and local spellings.
_CITIES = frozenset(
    """brüssel brussels bruxelles washington moskau moscow peking beijing paris london rom rome
    roma madrid lissabon lisbon warschau warsaw kiew kyiv kiev istanbul ankara jerusalem
    kairo cairo nairobi lagos abuja johannesburg kapstadt dakar accra kampala addis-abeba
    tunis beirut bagdad baghdad teheran tehran kabul islamabad dhaka delhi mumbai tokio tokyo
    seoul singapur singapore bangkok jakarta manila hanoi sydney caracas bogotá bogota lima
    santiago mexiko-stadt havanna havana wien vienna bern zürich zurich genf geneva straßburg
    strasbourg athen athens belgrad belgrade sarajevo zagreb sofia bukarest bucharest budapest
    prag prague bratislava stockholm kopenhagen copenhagen oslo helsinki riga vilnius tallinn
    minsk tiflis tbilisi eriwan yerevan baku berlin bonn münchen munich hamburg frankfurt köln
    cologne dresden leipzig stuttgart düsseldorf hannover erfurt potsdam mainz taipeh taipei
    ottawa""".split()  # noqa: SIM905
) | {
    "den haag", "the hague", "tel aviv", "new york", "new delhi", "neu-delhi", "hongkong",
    "hong kong", "buenos aires", "rio de janeiro", "são paulo", "sao paulo", "mexico city",
    "kuala lumpur", "los angeles", "san francisco", "abu dhabi", "addis abeba", "addis ababa",
}  # fmt: skip
AUTHOR_LABELS = frozenset(
    """author authors autor autorin autoren autorinnen autorin/autor autor/autorin autor/in
    auteur auteure auteurs autrice autora autores autoras autori autorja autorka autorzy
    автор авторы автори аутор аутори аўтар yazar yazarlar penulis mwandishi waandishi
    marubuci marubuta लेखक লেখক συντάκτης συντάκτρια συντάκτες نویسنده نویسندگان الكاتب
    الكاتبة الكاتبان الكتاب ليکوال ليکوالان لیکوال مصنف مصنفین 作者 撰稿 ደራሲ""".split()  # noqa: SIM905
)
DATE_LABELS = frozenset(
    """date datum fecha data дата датум tarih tanggal tarehe kwanan ranar तारीख তারিখ
    ημερομηνία تاریخ التاريخ تاريخ نېټه 日期 ቀን datë""".split()  # noqa: SIM905
)


@dataclass
class OldPage:
    """What the old-layout reader found."""

    title: str | None = None
    kicker: str | None = None
    intro: str | None = None
    blocks: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    date_raw: str | None = None
    date: str | None = None
    short_url: str | None = None
    keywords: list[str] = field(default_factory=list)
    related_topics: list[str] = field(default_factory=list)
    image_url: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    signature: Signature = field(default_factory=Signature)
    credited: list[str] = field(default_factory=list)  # agencies beside the author's name


def _with_class(scope: Element, tag: str, token: str) -> Iterator[Element]:
    """Descendants <tag> of scope whose class has `token`, in page order (a walk, cheaper
    than XPath; lazy, so a caller that stops at the first fit walks no further)."""
    return (el for el in scope.iter(tag) if el is not scope and has_class(el, token))


def recognize(doc_body: Element | None, long_texts: list) -> bool:
    """Old layout: a div.longText, or div#bodyContent with a col3 holding the h1."""
    if long_texts:
        return True
    return doc_body is not None and _head(doc_body) is not None


def _label(li: Element) -> tuple[str, str]:
    strong = next(li.iterchildren("strong", "b"), None)
    label = clean_line(raw_text(strong)) if strong is not None else None
    full = element_text(li) or ""
    value = full
    if label and full.startswith(label):
        value = full[len(label) :]
    label = (label or "").rstrip(":： ").strip().lower()
    return label, value.strip(" :：")


def split_names(value: str) -> list[str]:
    """'A, B und C' -> ['A', 'B', 'C'] (people only, not the place after a name)."""
    from dwscraper.parsing.metadata import is_person_name

    # "Jeanette Seiffert (mit dpa, afp)": the bracket names sources, not more authors.
    value = _BRACKETS_RE.sub(" ", value)
    names = [n for n in (clean_line(n) for n in _NAME_SPLIT_RE.split(value)) if n]
    # "Bernd Riegert, Brüssel": the correspondent's city is not another author.
    names = [n for n in names if n.lower() not in _CITIES]
    return [n for n in dict.fromkeys(names) if is_person_name(n)]


def credited_agencies(value: str) -> list[str]:
    """The agencies an author credit names: "(mit dpa, afp)", or as the author ("dpa")."""
    bracketed = [a for m in _BRACKETS_RE.finditer(value) for a in byline_agencies(m.group())]
    named = [n.strip() for n in _NAME_SPLIT_RE.split(_BRACKETS_RE.sub(" ", value))]
    return merge_agencies(bracketed, [n for n in named if n and is_agency(n)])


def day_from(value: str) -> tuple[str | None, str | None]:
    """('28.04.2023', '2023-04-28'): the day as written and as a date, in any edition."""
    day = dates.day_from(value)
    return (value.strip(), day) if day else (None, None)


def _read_small_list(page: OldPage, ul: Element) -> None:
    for li in ul.iterchildren("li"):
        label, value = _label(li)
        if not value:
            continue
        links = _links(li)
        hrefs = [h for h in (a.get("href") for a in links) if h is not None]
        link = permalink(value)
        if link or label == "permalink":
            page.short_url = page.short_url or link
        elif any(_TOPIC_HREF_RE.search(h) for h in hrefs):
            if not page.related_topics:
                page.related_topics = [t for t in (clean_line(raw_text(a)) for a in links) if t]
        elif any("/search" in h for h in hrefs):
            if not page.keywords:
                page.keywords = [t for t in (clean_line(raw_text(a)) for a in links) if t]
        elif label in DATE_LABELS or (not hrefs and _DATE_RE.search(value)):
            if page.date is None:
                page.date_raw, page.date = day_from(value)
        elif not page.authors and (
            label in AUTHOR_LABELS or any(part in AUTHOR_LABELS for part in label.split("/"))
        ):
            page.authors = split_names(value)
            page.credited = credited_agencies(value)


def _image(page: OldPage, col3: Element) -> None:
    for box in _with_class(col3, "div", "picBox"):
        img = next(box.iter("img"), None)
        if img is None:
            continue
        src = img.get("src") or img.get("data-src")
        page.image_url = urljoin("https://www.dw.com/", src) if src else None
        caption_p = next(box.iterchildren("p"), None)
        caption = element_text(caption_p) if caption_p is not None else None
        title = clean_line(img.get("title") or img.get("alt"))
        credit = None
        if title:
            m = _CREDIT_RE.match(title)
            if m:
                credit = credit_without_label(m.group("credit"))
                title = clean_line(m.group("caption"))
        page.image_caption = caption or title
        page.image_credit = credit
        return


def _author_line(line: str) -> tuple[list[str], Signature] | None:
    """'Autor: Max Muster' inside the body: an author line, not prose; (its authors, the
    editors and agencies it also credits: '(mit dpa)', a joined 'Redaktion: X')."""
    label, sep, rest = line.partition(":")
    if not sep or len(label) > 30 or label.strip().lower() not in AUTHOR_LABELS:
        return None
    rest, editors = split_editors_credit(rest)
    if len(rest.split()) > 12:
        return None
    credit = Signature(editors=list(editors.editors) if editors else [])
    credit.agencies = credited_agencies(rest)
    return split_names(rest), credit


def read(body: Element | None, long_texts: list) -> OldPage:
    """Read the old layout (the caller has checked recognize())."""
    page = OldPage()
    found = _head(body) if body is not None else None
    # The smallLists sit in another column of div#bodyContent (article foot, right column).
    scope = body
    if found is None and long_texts:
        head = long_texts[0].getparent()
        while head is not None and head.tag != "body" and not _has_child(head, "h1"):
            head = head.getparent()
        if head is not None:
            found = head, head
            scope = head.getparent() if head.getparent() is not None else head
    if found is not None:
        col3, head = found
        kicker = _child_with_class(head, "h4", "artikel")
        page.kicker = element_text(kicker) if kicker is not None else None
        h1 = next(head.iterchildren("h1"), None)
        page.title = element_text(h1) if h1 is not None else None
        intro = _child_with_class(head, "p", "intro")
        page.intro = element_text(intro) if intro is not None else None
        for ul in _with_class(scope, "ul", "smallList"):  # found through body, or walked
            _read_small_list(page, ul)
            # DW prints the list twice (article foot, right column): one full copy is enough.
            if page.date and page.short_url and page.keywords:
                break
        _image(page, col3)
    # The article body is the first longText that is not nested in another one.
    body_el = None
    for lt in long_texts:
        if not any(has_class(a, "longText") for a in lt.iterancestors("div")):
            body_el = lt
            break
    blocks = body_blocks(body_el) if body_el is not None else []
    kept: list[str] = []
    credited = Signature()
    for line in blocks:
        found = _author_line(line)
        if found is not None:
            page.authors = page.authors or found[0]
            credited.editors = merge_agencies(credited.editors, found[1].editors)
            credited.agencies = merge_agencies(credited.agencies, found[1].agencies)
            continue
        kept.append(line)
    kept, page.signature = split_signature(kept)
    # A signature line can also stand before a trailing author line.
    if kept and parse_signature(kept[-1]):
        kept, more = split_signature(kept)
        page.signature.editors += more.editors
        page.signature.agencies += more.agencies
    page.blocks = kept
    page.signature.agencies = merge_agencies(page.signature.agencies, page.credited)
    page.signature.agencies = merge_agencies(page.signature.agencies, credited.agencies)
    page.signature.editors = merge_agencies(page.signature.editors, credited.editors)
    return page
