"""Bytes to one lxml tree, once: charset sniffing and a single scan for the nodes we need.

Owns: decoding (BOM, <meta charset>, http-equiv, UTF-8, cp1252 for Latin-1 pages), parsing,
pulling the machine-readable scripts (JSON-LD, __APOLLO_STATE__) out of the tree before the
rest of the tree is stripped of script/style/template, so no script text can reach `text`.
Everything downstream works on the `Doc` built here; nothing re-parses the page.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

import lxml.etree as etree
import lxml.html

# Enough of the page to find a <meta charset>; DW writes it in the first few hundred bytes.
_SNIFF_BYTES = 4096
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What browsers do: a page that says Latin-1 is decoded as windows-1252 (its superset).
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252"}

_PARSER = lxml.html.HTMLParser(
    remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
)

# One XPath, one C-level scan of the tree: every node any reader needs, in document order.
_COLLECT = etree.XPath(
    "//html | //script[@type='application/ld+json'] | //script[contains(., '__APOLLO_STATE__')]"
    " | //meta | //link[@rel='canonical'] | //article | //div[@id='bodyContent']"
    " | //div[contains(concat(' ', normalize-space(@class), ' '), ' longText ')]"
    " | //*[@data-tracking-name='rich-text'] | //main"
    " | //div[contains(concat(' ', normalize-space(@class), ' '), ' rich-text ')]"
)
_STRIP_TAGS = ("script", "style", "template", "noscript", "svg", "iframe", "object", "embed")


@dataclass
class Doc:
    """The parsed page and the nodes the readers start from."""

    root: lxml.html.HtmlElement | None
    html_lang: str | None = None
    html_dir: str | None = None
    ld_json: list[str] = field(default_factory=list)
    apollo: str | None = None
    metas: dict[str, list[str]] = field(default_factory=dict)
    canonical: str | None = None
    articles: list[lxml.html.HtmlElement] = field(default_factory=list)
    body_content: lxml.html.HtmlElement | None = None
    long_texts: list[lxml.html.HtmlElement] = field(default_factory=list)
    rich_texts: list[lxml.html.HtmlElement] = field(default_factory=list)
    mains: list[lxml.html.HtmlElement] = field(default_factory=list)

    def meta(self, *names: str) -> str | None:
        """First non-empty value of the first meta name/property that has one."""
        for name in names:
            for value in self.metas.get(name.lower(), ()):
                if value and value.strip():
                    return value.strip()
        return None


def _classes(node: lxml.html.HtmlElement) -> str:
    return " " + " ".join((node.get("class") or "").split()) + " "


def _normalize_encoding(name: str) -> str | None:
    name = name.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: str | bytes) -> str:
    """Text of the page: BOM first, then the declared charset, then UTF-8, then cp1252."""
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(enc, errors="replace")
    m = _META_CHARSET_RE.search(data[:_SNIFF_BYTES])
    declared = _normalize_encoding(m.group(1).decode("ascii", "replace")) if m else None
    # A page that says "utf-16" in an ASCII-compatible prolog is lying; ignore that.
    if (
        declared
        and declared not in ("utf-8", "utf_8")
        and not declared.startswith(("utf-16", "utf-32", "utf_16", "utf_32"))
    ):
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if declared in ("utf-8", "utf_8"):
            # Mostly UTF-8 with a few stray bytes: keep the UTF-8 reading.
            return data.decode("utf-8", errors="replace")
        return data.decode("cp1252", errors="replace")


def parse(data: str | bytes) -> Doc:
    """Decode, parse once, collect the reader entry points, strip script-like elements."""
    text = _XML_DECL_RE.sub("", decode(data), count=1).replace("\x00", "")
    if not text.strip():
        return Doc(root=None)
    try:
        root = lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return Doc(root=None)
    if root is None:
        return Doc(root=None)
    doc = Doc(root=root)
    for node in _COLLECT(root):
        tag = node.tag
        if tag == "script":
            body = node.text or ""
            if node.get("type") == "application/ld+json":
                doc.ld_json.append(body)
            elif doc.apollo is None:
                doc.apollo = body
        elif tag == "meta":
            # Some saved pages carry value= instead of content= (re-serialized by tools).
            key = node.get("property") or node.get("name") or node.get("itemprop")
            value = node.get("content")
            if value is None:
                value = node.get("value")
            if key and value is not None:
                doc.metas.setdefault(key.strip().lower(), []).append(value)
        elif tag == "link":
            if doc.canonical is None and node.get("href"):
                doc.canonical = node.get("href").strip()
        elif tag == "html":
            if doc.html_lang is None:
                doc.html_lang = node.get("lang") or node.get("xml:lang")
                doc.html_dir = node.get("dir")
        elif tag == "article":
            doc.articles.append(node)
        elif tag == "main":
            doc.mains.append(node)
        elif node.get("id") == "bodyContent" and doc.body_content is None:
            doc.body_content = node
        elif node.get("data-tracking-name") == "rich-text" or " rich-text " in _classes(node):
            doc.rich_texts.append(node)
        else:
            doc.long_texts.append(node)
    etree.strip_elements(root, *_STRIP_TAGS, with_tail=False)
    return doc
