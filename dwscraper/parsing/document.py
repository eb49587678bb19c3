"""Bytes to one lxml tree, once: charset sniffing and a single scan for the nodes we need.

Owns: decoding (BOM, <meta charset>, http-equiv, UTF-8, cp1252 for Latin-1 pages), parsing
(of the page without its site chrome, which chrome.py cuts out of the bytes first),
pulling the machine-readable scripts (JSON-LD, __APOLLO_STATE__) out of the tree before the
rest of the tree is stripped of script/style/template, so no script text can reach `text`.
Everything downstream works on the `Doc` built here; nothing re-parses the page.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import lxml.etree as etree

from dwscraper import charsets
from dwscraper.parsing import chrome

# Plain lxml elements, not lxml.html's: its Python-level element-class lookup on every node
# touched costs more than all of our extraction.
Element = etree._Element

_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_XML_DECL_BYTES_RE = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)

# 50+ identical wrapper tags in a row: no page nests like that except to attack a parser.
_DEEP_OPEN = re.compile(r"((?:<(?:div|span|section|b|i|p|font|ul|li)\b[^>]*>\s*))\1{49,}", re.I)
_DEEP_CLOSE = re.compile(r"((?:</(?:div|span|section|b|i|p|font|ul|li)>\s*))\1{49,}", re.I)
_DEEP_OPEN_B = re.compile(_DEEP_OPEN.pattern.encode(), re.I)
_DEEP_CLOSE_B = re.compile(_DEEP_CLOSE.pattern.encode(), re.I)
_NUL_RE = re.compile("\x00")
_PARSERS: dict[str | None, etree.HTMLParser] = {}
# Tags whose nodes the readers start from; one C-filtered pass over the tree finds them.
_COLLECT_TAGS = ("html", "script", "meta", "link", "article", "main", "section")
_STRIP_TAGS = ("script", "style", "template", "noscript", "svg", "iframe", "object", "embed")


def _parser(encoding: str | None) -> etree.HTMLParser:
    """One parser per encoding, built once (lxml parsers are reusable, not thread-shared:
    Scrapy calls us from one thread)."""
    parser = _PARSERS.get(encoding)
    if parser is None:
        parser = etree.HTMLParser(
            encoding=encoding,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
            huge_tree=True,
        )
        _PARSERS[encoding] = parser
    return parser


class _Unread(Exception):
    """A held script text that libxml2 may read otherwise than Python decodes it."""


@dataclass
class Doc:
    """The parsed page and the nodes the readers start from."""

    root: Element | None
    html_lang: str | None = None
    html_dir: str | None = None
    ld_json: list[str] = field(default_factory=list)
    # Other scripts, read only when a state is asked for: copying their text (DW's state is
    # 60-100 KB) cost more than all of the old layout's reading, and most pages never need it.
    scripts: list[Element] = field(default_factory=list)
    # The page's last scripts when they hold a state, as chrome.split took them out of the
    # page before libxml2 read it (it would copy them into the tree, and the tree is built
    # for every page while the state is read for few): by the mark left in their place.
    held: dict[str, str | bytes] = field(default_factory=dict)
    # The page parsed with its states in place, for a held text libxml2 may read otherwise.
    whole: Callable[[], Doc] | None = field(default=None, repr=False)
    _states: tuple[str | None, str | None] | None = field(default=None, repr=False)
    metas: dict[str, list[str]] = field(default_factory=dict)
    canonical: str | None = None
    articles: list[Element] = field(default_factory=list)
    body_content: Element | None = None
    long_texts: list[Element] = field(default_factory=list)
    rich_texts: list[Element] = field(default_factory=list)
    mains: list[Element] = field(default_factory=list)
    related_topics: Element | None = None

    @property
    def apollo(self) -> str | None:
        """window.__APOLLO_STATE__'s script text (DW's full content object, older pages)."""
        return self._scan_states()[0]

    @property
    def app_state(self) -> str | None:
        """window.__APP_STATE__'s script text (DW's graph-api cache, newer pages)."""
        return self._scan_states()[1]

    def _scan_states(self) -> tuple[str | None, str | None]:
        """(apollo, app_state), read on first use from `scripts` (an lxml element kept there
        outlives its removal from the tree) and the texts chrome.split held: the first script
        that assigns __APOLLO_STATE__ near its start, and the first other one that assigns
        __APP_STATE__."""
        if self._states is None:
            try:
                self._states = self._states_in(self._script_texts())
            except _Unread:  # only a held text raises it, and a Doc with held texts has whole
                self._states = self.whole()._scan_states() if self.whole else (None, None)
        return self._states

    @staticmethod
    def _states_in(texts: Iterable[str]) -> tuple[str | None, str | None]:
        apollo = app = None
        for body in texts:
            if apollo is None and "__APOLLO_STATE__" in body[:200]:
                apollo = body
            elif app is None and "__APP_STATE__" in body[:200]:
                app = body
        return apollo, app

    def _script_texts(self) -> Iterator[str]:
        """Every script's text in page order, a held one's as libxml2 reads a script: CR LF
        and CR as LF; _Unread where it may read it otherwise (bytes that are not UTF-8:
        libxml2 writes one U+FFFD per bad byte once its error log is full, Python one per
        sequence; a str with a lone surrogate: libxml2 stops reading there)."""
        held = self.held
        for node in self.scripts:
            text = node.text or ""
            raw = held.get(text)
            if raw is not None:
                try:
                    if isinstance(raw, bytes):
                        text = raw.decode("utf-8")
                    else:
                        text = raw
                        if not text.isascii():
                            text.encode("utf-8")
                except UnicodeError:
                    raise _Unread from None
                if "\r" in text:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
            yield text

    def meta(self, *names: str) -> str | None:
        """First non-empty value of the first meta name/property that has one."""
        for name in names:
            for value in self.metas.get(name.lower(), ()):
                if value and value.strip():
                    return value.strip()
        return None


def encoding_for(data: bytes, declared: str | None = None) -> str:
    """The encoding to read `data` with: dwscraper.charsets.choose, except that a transport
    that says UTF-8 is taken at its word (no decode to check): libxml2 reads the bytes as
    they are, and bad bytes become U+FFFD as in Scrapy's response.text (the crawl's middleware
    has already re-labelled a page that is not UTF-8 at all)."""
    if charsets.is_utf8(charsets.codec(declared)) and not charsets.bom(data):
        return "utf-8"
    return charsets.choose(data, declared)


def decode(data: str | bytes, encoding: str | None = None) -> str:
    """Text of the page as str (for callers that want it; parse() avoids the copy)."""
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    enc = encoding_for(data, encoding)
    mark = charsets.bom(data)
    if mark and mark[1] == enc:
        data = data[len(mark[0]) :]
    # A transport's UTF-8 with a stray bad byte reads as response.text would: U+FFFD there.
    return data.decode(enc, errors="replace")


def _too_deep(parser: etree.HTMLParser) -> bool:
    return any("Excessive depth" in (e.message or "") for e in parser.error_log)


def _bad_bytes(parser: etree.HTMLParser) -> bool:
    """libxml2 met bytes that are not UTF-8 (it writes one U+FFFD per byte, Python one per
    broken sequence: such a page is decoded by Python, as response.text would be)."""
    return any(e.type_name == "ERR_INVALID_ENCODING" for e in parser.error_log)


def _flatten(data: str | bytes) -> str | bytes:
    """Collapse runs of nested wrapper tags (a nesting bomb): libxml2 drops everything
    after its depth limit, this keeps the document's text reachable."""
    if isinstance(data, bytes):
        return _DEEP_CLOSE_B.sub(rb"\1", _DEEP_OPEN_B.sub(rb"\1", data))
    return _DEEP_CLOSE.sub(r"\1", _DEEP_OPEN.sub(r"\1", data))


_Built = tuple[Element | None, list]


def _from(data: str | bytes, encoding: str | None, cut_chrome: bool, hold: bool) -> _Built:
    held: list = []
    if cut_chrome:
        data, held = chrome.split(data, hold)  # menus, footer, state are never built (chrome.py)
    parser = _parser(encoding)
    root = etree.fromstring(data, parser=parser)
    if _too_deep(parser):
        root = etree.fromstring(_flatten(data), parser=parser)
    return root, held


def _build(data: str | bytes, encoding: str | None, cut_chrome: bool, hold: bool) -> _Built:
    if isinstance(data, bytes):
        if encoding_for(data, encoding) == "utf-8" and not data.startswith(codecs.BOM_UTF8):
            # The common case: hand the bytes to libxml2 as UTF-8, no Python-side copy.
            if not data or data.isspace():
                return None, []
            if data[:64].lstrip().startswith(b"<?"):
                data = _XML_DECL_BYTES_RE.sub(b"", data, count=1)
            raw = data
            if b"\x00" in data:
                data = data.replace(b"\x00", b"")
            built = _from(data, "utf-8", cut_chrome, hold)
            if not _bad_bytes(_parser("utf-8")):
                return built
            data = raw
        # Legacy charsets are decoded by Python's codecs (libxml2/iconv names differ).
        data = decode(data, encoding)
    text = decode(data)
    if not text or text.isspace():
        return None, []
    if text[:64].lstrip().startswith("<?"):
        # lxml refuses str input that declares an encoding.
        text = _XML_DECL_RE.sub("", text, count=1)
    if _NUL_RE.search(text):  # half the cost of `"\x00" in text` on a non-Latin-1 str
        text = text.replace("\x00", "")
    return _from(text, None, cut_chrome, hold)


def parse(
    data: str | bytes, encoding: str | None = None, *, page: bool = True, hold: bool = True
) -> Doc:
    """Parse once, collect the reader entry points, strip script-like elements.

    encoding: for bytes, the charset the transport declared (see encoding_for).
    page: False for HTML that is not a whole DW page (a body rebuilt from the page state),
    which has no site chrome to cut.
    hold: False keeps the page state scripts in the tree (see chrome.split).
    """
    try:
        root, held = _build(data, encoding, page, hold)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError, LookupError):
        return Doc(root=None)
    if root is None:
        return Doc(root=None)
    doc = Doc(root=root, held={chrome.held_mark(i): text for i, text in enumerate(held)})
    if held:
        doc.whole = lambda: parse(data, encoding, page=page, hold=False)
    metas = doc.metas
    for node in root.iter(*_COLLECT_TAGS):
        tag = node.tag
        if tag == "meta":  # a hundred per DW page: the hot branch, kept first and lean
            get = node.get
            # Some saved pages carry value= instead of content= (re-serialized by tools).
            key = get("property") or get("name") or get("itemprop")
            # fb:app_id/fb:pages: 80+ per DW page, read by nothing here.
            if key and not key.startswith("fb:"):
                value = get("content")
                if value is None:
                    value = get("value")
                if value is not None:
                    key = key.strip().lower()
                    if key in metas:
                        metas[key].append(value)
                    else:
                        metas[key] = [value]
        elif tag == "script":
            if node.get("type") == "application/ld+json":
                doc.ld_json.append(node.text or "")
            else:
                doc.scripts.append(node)
        elif tag == "link":
            if doc.canonical is None and node.get("href") and _is_canonical(node):
                doc.canonical = node.get("href").strip()
        elif tag == "article":
            doc.articles.append(node)
        elif tag == "section":
            if node.get("id") == "related-topics" and doc.related_topics is None:
                doc.related_topics = node
        elif tag == "main":
            doc.mains.append(node)
        elif tag == "html" and doc.html_lang is None:
            doc.html_lang = node.get("lang") or node.get("xml:lang")
            doc.html_dir = node.get("dir")
    if held and [node.text for node in doc.scripts[-len(held) :]] != list(doc.held):
        # libxml2 read a held script as something else (text of a comment, an attribute, a
        # script, or past the end of the page): the page is read with its states in place.
        return parse(data, encoding, page=page, hold=False)
    # The new layout's body is a rich-text div inside an <article>: look only there. The old
    # layout's divs (anywhere on the page) are searched only when no article has one.
    for art in doc.articles:
        if next(art.iterancestors("article"), None) is None:  # nested ones are walked already
            _rich_texts(doc, art)
    if not doc.rich_texts:
        _old_layout_divs(doc, root)
    etree.strip_elements(root, *_STRIP_TAGS, with_tail=False)
    return doc


def _div_kind(node: Element) -> str | None:
    """ "rich" (new-layout body), "long" (old-layout div.longText), or None."""
    cls = node.get("class")
    # Substring test first: most divs carry neither token, and skip the split.
    if cls and ("rich-text" in cls or "longText" in cls):
        tokens = cls.split()
        if "rich-text" in tokens:
            return "rich"
        if "longText" in tokens:
            return "long"
    if node.get("data-tracking-name") == "rich-text":
        return "rich"
    return None


def _rich_texts(doc: Doc, article: Element) -> None:
    for node in article.iter("div"):
        if _div_kind(node) == "rich":
            doc.rich_texts.append(node)


def _old_layout_divs(doc: Doc, root: Element) -> None:
    """div.longText and div#bodyContent. Every div of the page passes here: one attribute
    read per div (two until #bodyContent, early in the page); _div_kind only for the few
    that may be one."""
    long_texts = doc.long_texts
    body = None
    for node in root.iter("div"):
        cls = node.get("class")
        if cls and "longText" in cls and _div_kind(node) == "long":
            long_texts.append(node)
        elif body is None and node.get("id") == "bodyContent" and _div_kind(node) is None:
            body = node
    doc.body_content = body


def _is_canonical(node: Element) -> bool:
    return "canonical" in (node.get("rel") or "").lower().split()
