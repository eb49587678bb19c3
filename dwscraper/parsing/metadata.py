"""Machine-readable metadata: JSON-LD, __APOLLO_STATE__ and meta tags.

Owns reading what the page states about itself for machines, whatever the layout. Every
value is type-checked: a page may carry broken JSON-LD (a number as author, "31.02.2024
25:61" as date, a list where a dict belongs) and that must cost a field, never the record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from dwscraper.parsing.document import Doc
from dwscraper.parsing.signature import byline_agencies, is_agency, merge_agencies

_JSON = json.JSONDecoder()
# JSON-LD as json.loads(raw, strict=False) reads it (raw newlines and tabs in strings: seen),
# with one decoder: json.loads builds a decoder and its scanner on every call with options.
_LD_JSON = json.JSONDecoder(strict=False)
_APOLLO_RE = re.compile(r"__APOLLO_STATE__\s*=\s*")
_ARTICLE_TYPES = (
    "newsarticle",
    "article",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "liveblogposting",
    "videoobject",
    "audioobject",
    "imagegallery",
    "mediagallery",
    "podcastepisode",
    "blogposting",
)
# Of those, the types of a text (a page's own object before an embedded media object's).
_TEXT_TYPES = frozenset(_ARTICLE_TYPES[:7]) | {"blogposting"}
# Not people, whatever a page's author field says.
_NOT_PEOPLE = re.compile(
    r"^(?:deutsche\s+welle|dw|dw\.com|dw\s+news|www\.dw\.com|redaktion|editorial|staff)\b", re.I
)
_SUFFIX_RE = re.compile(
    r"\s*(?:[|–—]|\s-)\s*DW(?:\.COM)?(?:\s*(?:[|–—]|-\s)\s*[^|–—]{1,40})?\s*$", re.I
)
# APOLLO typenames that are content items (what the page is about), by our page_type.
APOLLO_TYPES = {
    "Article": "article",
    "Video": "video",
    "Audio": "audio",
    "ImageGallery": "gallery",
    "Liveblog": "liveblog",
    "LiveBlog": "liveblog",
}


def as_str(value: Any) -> str | None:
    """A usable scalar string, or None for dicts, lists, bools and blanks."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int | float):
        return str(value)
    return None


def as_list(value: Any) -> list[Any]:
    """A list, whatever shape the page wrote (single value, list, None)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def strip_title_suffix(title: str | None) -> str | None:
    """'X – DW – 30.01.2024' / 'X | DW | 19.01.2020' -> 'X'."""
    if not title:
        return title
    stripped = _SUFFIX_RE.sub("", title).strip()
    return stripped or title.strip()


def is_person_name(name: str | None) -> bool:
    """People only: never the broadcaster or a news agency, never a bare number or URL."""
    if not name or len(name) > 120:
        return False
    if _NOT_PEOPLE.match(name) or "://" in name or is_agency(name):
        return False
    return any(ch.isalpha() for ch in name)


@dataclass
class Meta:
    """What JSON-LD, APOLLO and meta tags say; None where they are silent."""

    title: str | None = None
    title_from_meta: str | None = None
    teaser: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    image_url: str | None = None
    image_alt: str | None = None
    keywords: list[str] = field(default_factory=list)
    short_url: str | None = None
    canonical: str | None = None
    language_hints: list[str] = field(default_factory=list)
    content_type: str | None = None
    kicker: list[str] = field(default_factory=list)
    apollo_text: str | None = None
    ld_type: str | None = None
    apollo_loaded: bool = False
    section: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    agencies: list[str] = field(default_factory=list)
    related_topics: list[str] = field(default_factory=list)


def _load_ld(doc: Doc, numeric_id: str | None = None) -> dict[str, Any] | None:
    """The page's own article-like JSON-LD object, tolerant of @graph/lists."""
    candidates: list[dict[str, Any]] = []
    for raw in doc.ld_json:
        try:
            data = _LD_JSON.decode(raw)
        except (ValueError, RecursionError):
            continue
        stack = as_list(data)
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("@graph"), list):
                stack.extend(item["@graph"])
            candidates.append(item)
    typed = []
    for item in candidates:
        types = [t.lower() for t in as_list(item.get("@type")) if isinstance(t, str)]
        if any(t in _ARTICLE_TYPES for t in types):
            typed.append((item, types))
    # A page may describe an embedded video before itself: the object naming this page's
    # id wins, then the first text type, then the first of any content type.
    if numeric_id:
        for item, _ in typed:
            if _names_page(item, numeric_id):
                return item
    for item, types in typed:
        if any(t in _TEXT_TYPES for t in types):
            return item
    return typed[0][0] if typed else None


def _names_page(item: dict[str, Any], numeric_id: str) -> bool:
    """True when the object's url, @id or mainEntityOfPage is this page's (…-<id>)."""
    main = item.get("mainEntityOfPage")
    refs = [item.get("url"), item.get("@id"), main]
    if isinstance(main, dict):
        refs += [main.get("@id"), main.get("url")]
    # No regex built from the id: in a crawl every page has another one, and compiling a
    # pattern per page (re's cache holds 512) cost more than reading the page's metadata.
    needle = f"-{numeric_id}"
    for ref in refs:
        at = ref.find(needle) if isinstance(ref, str) else -1
        while at >= 0:
            follows = ref[at + len(needle) : at + len(needle) + 1]
            if not follows or follows not in "0123456789":
                return True
            at = ref.find(needle, at + 1)
    return False


def _load_apollo(doc: Doc) -> dict[str, Any] | None:
    if not doc.apollo:
        return None
    m = _APOLLO_RE.search(doc.apollo)
    if not m:
        return None
    try:
        data, _ = _JSON.raw_decode(doc.apollo, m.end())
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _apollo_content(state: dict[str, Any], numeric_id: str | None) -> dict[str, Any] | None:
    """The content object of this page: '<Type>:<id>' with publication dates."""
    best = None
    for key, value in state.items():
        if not isinstance(value, dict) or ":" not in key:
            continue
        typename, _, ident = key.partition(":")
        if numeric_id and ident != numeric_id:
            continue
        if "firstPublicationDate" in value or "canonicalUrl" in value or "text" in value:
            if typename in APOLLO_TYPES:
                return value
            best = best or value
    return best


def _deref(state: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("__ref"), str):
        return state.get(value["__ref"])
    return value


def _names(values: Any) -> list[str]:
    out: list[str] = []
    for item in as_list(values):
        name = None
        if isinstance(item, dict):
            types = [t.lower() for t in as_list(item.get("@type")) if isinstance(t, str)]
            if types and "person" not in types:
                continue
            name = as_str(item.get("name"))
        elif isinstance(item, str):
            name = as_str(item)
        if name and is_person_name(name) and name not in out:
            out.append(name)
    return out


def _agency_names(values: Any) -> list[str]:
    names = (item.get("name") if isinstance(item, dict) else item for item in as_list(values))
    return [n.strip() for n in names if isinstance(n, str) and is_agency(n)]


def _keywords(value: Any) -> list[str]:
    out: list[str] = []
    items = value.split(",") if isinstance(value, str) else as_list(value)
    for item in items:
        word = as_str(item) if not isinstance(item, str) else item.strip()
        if word and word not in out:
            out.append(word)
    return out


def _image_url(value: Any) -> str | None:
    for item in as_list(value):
        if isinstance(item, dict):
            url = as_str(item.get("url")) or as_str(item.get("contentUrl"))
        else:
            url = as_str(item)
        if url and url.startswith(("http://", "https://", "/")):
            return url
    return None


def read_meta(doc: Doc, numeric_id: str | None) -> Meta:
    """Everything the page states about itself for machines."""
    meta = Meta()
    ld = _load_ld(doc, numeric_id)
    if ld is not None:
        meta.ld_type = next((t for t in as_list(ld.get("@type")) if isinstance(t, str)), None)
        # A headline is prose: a number there is misleading markup, not a title.
        headline, name = ld.get("headline"), ld.get("name")
        meta.title = (as_str(headline) if isinstance(headline, str) else None) or (
            as_str(name) if isinstance(name, str) else None
        )
        meta.authors = _names(ld.get("author"))
        # An agency given as the author ("dpa", as a Person or an Organization) is a source.
        meta.agencies = merge_agencies(meta.agencies, _agency_names(ld.get("author")))
        meta.published = as_str(ld.get("datePublished")) or as_str(ld.get("uploadDate"))
        meta.modified = as_str(ld.get("dateModified"))
        meta.image_url = _image_url(ld.get("image")) or _image_url(ld.get("thumbnailUrl"))
        meta.keywords = _keywords(ld.get("keywords"))
        meta.description = as_str(ld.get("description"))
        meta.section = next((as_str(s) for s in as_list(ld.get("articleSection"))), None)
        main = ld.get("mainEntityOfPage")
        if isinstance(main, dict):
            meta.canonical = as_str(main.get("@id"))
        elif isinstance(main, str):
            meta.canonical = as_str(main)
        lang = as_str(ld.get("inLanguage"))
        if lang:
            meta.language_hints.append(lang)

    og_title = doc.meta("og:title", "twitter:title")
    meta.title_from_meta = strip_title_suffix(og_title) if og_title else None
    meta.description = meta.description or doc.meta(
        "og:description", "description", "twitter:description"
    )
    meta.published = meta.published or doc.meta(
        "article:published_time", "date", "dc.date", "dcterms.created", "pubdate"
    )
    meta.modified = meta.modified or doc.meta("article:modified_time", "og:updated_time")
    meta.section = meta.section or doc.meta("article:section")
    og_image = doc.meta("og:image", "twitter:image", "og:image:url")
    if og_image:
        # og:image is the lead image at a real size (DW writes _6.jpg there): prefer it.
        meta.image_url = og_image
    meta.image_alt = meta.image_alt or doc.meta("og:image:alt", "twitter:image:alt")
    if not meta.keywords:
        meta.keywords = _keywords(doc.meta("news_keywords", "keywords"))
    if not meta.authors:
        meta.authors = [a for a in _keywords(doc.meta("author")) if is_person_name(a)]
    meta.canonical = doc.canonical or meta.canonical or doc.meta("og:url")
    for hint in (doc.meta("language", "og:locale", "content-language"), doc.html_lang):
        if hint:
            meta.language_hints.append(hint)
    return meta


def fill_from_apollo(meta: Meta, doc: Doc, numeric_id: str | None) -> None:
    """Fill what is still missing from window.__APOLLO_STATE__ (DW's full content object).

    Called only when JSON-LD and the markup left gaps: decoding the whole state costs more
    than parsing the page, so only the content object (and the people it points to) is read.
    """
    if meta.apollo_loaded:
        return
    meta.apollo_loaded = True
    found = _apollo_objects(doc, numeric_id)
    if found is None:
        # Newer pages carry the same content object in window.__APP_STATE__ instead.
        app = _app_state_content(doc, numeric_id)
        if app is None:
            return
        found = app, {}
    content, state = found
    meta.content_type = meta.content_type or as_str(content.get("__typename"))
    meta.title = meta.title or as_str(content.get("title")) or as_str(content.get("name"))
    meta.teaser = meta.teaser or as_str(content.get("teaser"))
    meta.published = (
        meta.published
        or as_str(content.get("firstPublicationDate"))
        or as_str(content.get("contentDate"))
    )
    meta.modified = meta.modified or as_str(content.get("lastModifiedDate"))
    meta.short_url = meta.short_url or as_str(content.get("permaLinkUrl"))
    named = as_str(content.get("namedUrl"))
    meta.canonical = (
        meta.canonical
        or as_str(content.get("canonicalUrl"))
        or (urljoin("https://www.dw.com/", named) if named else None)
    )
    meta.image_url = meta.image_url or as_str(content.get("posterImageUrl"))
    text = content.get("text")
    meta.apollo_text = text if isinstance(text, str) else None
    lang = as_str(content.get("language"))
    if lang:
        meta.language_hints.append(lang)
    if not meta.authors:
        people = []
        for key, value in content.items():
            if key == "persons" or key.startswith("persons("):
                for ref in as_list(value):
                    person = _deref(state, ref)
                    if isinstance(person, dict) and person.get("personType") in (None, "AUTHOR"):
                        people.append(as_str(person.get("fullName")))
                if people:
                    break
        meta.authors = [p for p in dict.fromkeys(people) if p and is_person_name(p)]
    focus = content.get("thematicFocusCategory")
    focus_name = as_str(focus.get("name")) if isinstance(focus, dict) else None
    meta.section = meta.section or focus_name
    if not meta.kicker:
        # The kicker the page shows: thematic focus, then the named regions. Graph-api states
        # name them in firstRegionArray ("regions" holds only codes); APOLLO in "regions(...)".
        names = [focus_name]
        for key, value in content.items():
            if key in ("firstRegionArray", "regions") or key.startswith("regions("):
                names += [
                    as_str(r.get("alignedName")) for r in as_list(value) if isinstance(r, dict)
                ]
        meta.kicker = [n for n in dict.fromkeys(names) if n]
    for assoc in as_list(content.get("personAssociations")):
        # {"targetId": <person>, "additionalInformation": "with AFP, dpa"}: the byline's credit
        if isinstance(assoc, dict):
            credit = byline_agencies(as_str(assoc.get("additionalInformation")))
            meta.agencies = merge_agencies(meta.agencies, credit)
    if not meta.related_topics:
        topics = [
            as_str(t.get("name"))
            for t in as_list(content.get("relatedAutoTopics"))
            if isinstance(t, dict)
        ]
        meta.related_topics = [t for t in dict.fromkeys(topics) if t]
    sharing = content.get("imageSharingMetadata")
    if isinstance(sharing, dict):
        meta.image_url = meta.image_url or as_str(sharing.get("url"))
        meta.image_alt = meta.image_alt or as_str(sharing.get("alt"))
    main_image = content.get("mainContentImage")
    if isinstance(main_image, dict):
        meta.image_url = meta.image_url or as_str(main_image.get("staticUrl"))
        meta.image_caption = meta.image_caption or as_str(main_image.get("caption"))
        meta.image_credit = meta.image_credit or as_str(main_image.get("licenserSupplement"))


# The key of a page's content in __APP_STATE__: "/graph-api/<lang>/content/<kind>/<id>"
# (JSON may escape the slashes); its value is {"data": {"content": {...}}}.
_APP_KEY = r'"\\?/graph-api\\?/[^"/\\]+\\?/content\\?/[a-z-]+\\?/{id}"\s*:\s*\{{'


def _app_state_content(doc: Doc, numeric_id: str | None) -> dict[str, Any] | None:
    """This page's content object from window.__APP_STATE__, decoding only that entry."""
    raw = doc.app_state
    if not raw or not numeric_id:
        return None
    m = re.search(_APP_KEY.format(id=re.escape(numeric_id)), raw)
    if not m:
        return None
    entry = _decode_at(raw, m.end() - 1)
    data = entry.get("data") if isinstance(entry, dict) else None
    content = data.get("content") if isinstance(data, dict) else None
    return content if isinstance(content, dict) else None


def _apollo_objects(
    doc: Doc, numeric_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(content object, {key: object} of the persons it references), decoding only those."""
    raw = doc.apollo
    if not raw:
        return None
    content = None
    if numeric_id:
        for m in re.finditer(r'"([A-Za-z]+):' + re.escape(numeric_id) + r'"\s*:\s*\{', raw):
            obj = _decode_at(raw, m.end() - 1)
            if isinstance(obj, dict) and (
                m.group(1) in APOLLO_TYPES or "firstPublicationDate" in obj
            ):
                content = obj
                break
    if content is None:
        state = _load_apollo(doc)
        if not state:
            return None
        content = _apollo_content(state, numeric_id)
        return (content, state) if content is not None else None
    state: dict[str, Any] = {}
    for ref in re.findall(r'"__ref"\s*:\s*"(Person:\d+)"', json.dumps(content.get("persons"))):
        m = re.search('"' + re.escape(ref) + r'"\s*:\s*\{', raw)
        if m:
            obj = _decode_at(raw, m.end() - 1)
            if isinstance(obj, dict):
                state[ref] = obj
    return content, state


def _decode_at(raw: str, pos: int) -> Any:
    try:
        return _JSON.raw_decode(raw, pos)[0]
    except (ValueError, RecursionError):
        return None
