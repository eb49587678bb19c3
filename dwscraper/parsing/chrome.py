"""Site chrome cut out of the page before libxml2 builds it: menus, edition list, page footer.

Why: building the tree is most of parse_article's cost, and on a DW page half the elements
(old layout: the edition list, the menus, the footer) or a quarter (new layout: the site
menu, the footer) are chrome that no reader looks at and no record may contain. Finding
them costs a few substring searches: bytes.find runs at memory speed, where a regex pass
over the page (sre has no fast path for alternations) cost more than the parse it saved.

What is chrome (DW's page templates, both layouts), around the page's first <h1> (the
title: every article page has one, and it is where the content starts):
- before it, the old layout's div#topMetaLang (editions) and div#navContainer (menus, search
  form), and a <nav> before those and before the first <article> and <main> (the new
  layout's site menu; a nav inside an article, a table of contents or topic links, is the
  article's);
- after it, the new layout's lists of other articles (elements whose id starts with
  "related-content"; the article's own topics, section#related-topics, stay) and the
  element with id "footer" (new layout) or "footerSection" (old layout), one a page;
- in the head, the run of 79 <meta> tags naming DW's Facebook pages ("fb:pages"), on every
  page of both layouts: read by nothing, a third of a new-layout page's head.

A region keeps its start and end tags, so the tree keeps its shape; only its inside goes.
Its end is found by counting its own tag's start and end tags as DW writes them (lower
case), skipping none. A region is kept whole when the count finds no end, or when the count
may have gone astray: the inside holds a <script> (JSON-LD or a state may sit there; a
script's strings may hold tags), a comment holding the tag, an <article> or <main>, or the
region runs past the title. Odd markup costs the saving, never the article.
"""

from __future__ import annotations

from typing import AnyStr

_TOP_IDS = ("topMetaLang", "navContainer")
_FOOTER_IDS = ("footer", "footerSection")
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()  # noqa: SIM905
)
_NAME_END = frozenset(b" \t\n\r\f/>")
# Candidates looked at per kind (navs, related lists; DW pages have one to three): hostile
# input with a million of them costs no more than a page.
_MAX_TRIES = 16


class _Needles:
    """The search strings for one input type (bytes or str), built once."""

    def __init__(self, enc: bool) -> None:
        def b(s: str) -> bytes | str:
            return s.encode() if enc else s

        self.top_ids = [b(f'id="{i}"') for i in _TOP_IDS]
        self.footer = b('id="footer')
        self.related = b('id="related-content')
        self.fb_pages = b('"fb:pages"')
        self.footer_ends = tuple(b(i[len("footer") :] + '"') for i in _FOOTER_IDS)
        self.body, self.h1, self.nav = b("<body"), b("<h1"), b("<nav")
        self.script = b("<script")
        self.content = (b("<article"), b("<main"))
        self.lt, self.gt, self.slash = b("<"), b(">"), b("/")
        self.comment, self.comment_end = b("<!--"), b("-->")
        self._tags: dict[str, tuple] = {}
        self._b = b

    def tag(self, name: str) -> tuple:
        """("<name", "</name") for a region's tag."""
        pair = self._tags.get(name)
        if pair is None:
            pair = self._tags[name] = (self._b("<" + name), self._b("</" + name))
        return pair


_BYTES = _Needles(True)
_STR = _Needles(False)


def _name_ends(data: AnyStr, at: int) -> bool:
    """A tag name ends at `at` ("<nav>" or "<nav class", not "<navbar")."""
    ch = data[at : at + 1]
    if not ch:
        return False
    return (ch[0] if isinstance(ch, bytes) else ord(ch)) in _NAME_END


def _inner_end(data: AnyStr, n: _Needles, name: str, start: int, stops: tuple) -> int | None:
    """Where the end tag of the region whose start tag ends at `start` begins; None when it
    has none or its inside holds one of `stops` or a comment holding the tag."""
    open_, close = n.tag(name)
    depth = 1
    pos = start
    while True:
        end = data.find(close, pos)
        if end < 0:
            return None
        at = data.find(open_, pos, end)
        while at >= 0:
            if _name_ends(data, at + len(open_)):
                depth += 1
            at = data.find(open_, at + len(open_), end)
        if _name_ends(data, end + len(close)):
            depth -= 1
            if depth == 0:
                break
        pos = end + len(close)
    for stop in stops:
        if data.find(stop, start, end) >= 0:
            return None
    if data.find(n.comment, start, end) >= 0 and _tag_in_comment(data, n, name, start, end):
        return None
    return end


def _tag_in_comment(data: AnyStr, n: _Needles, name: str, start: int, end: int) -> bool:
    """A comment between start and end holds the region's tag (which the count took as
    markup) or does not close there. Old-layout menus carry a few plain comments."""
    open_, close = n.tag(name)
    at = data.find(n.comment, start, end)
    while at >= 0:
        stop = data.find(n.comment_end, at + 4, end)
        if stop < 0 or data.find(open_, at, stop) >= 0 or data.find(close, at, stop) >= 0:
            return True
        at = data.find(n.comment, stop, end)
    return False


def _start_tag(data: AnyStr, n: _Needles, at: int) -> tuple[str, int] | None:
    """(tag name, end of the start tag) of the start tag whose attributes hold `at`."""
    if not data[at - 1 : at].isspace():
        return None  # data-id="footer"
    lt = data.rfind(n.lt, 0, at)
    if lt < 0 or data.find(n.gt, lt, at) >= 0:
        return None  # not inside a tag
    gt = data.find(n.gt, at)
    if gt < 0:
        return None
    head = data[lt + 1 : at]
    head = head.decode("ascii", "replace") if isinstance(head, bytes) else head
    name = head.split(None, 1)[0].lower() if head.strip() else ""
    if not name.isalnum() or not name.isascii() or name in _VOID:
        return None
    if data[gt - 1 : gt] == n.slash:
        return None  # <div id="footer"/>: nothing inside
    return name, gt + 1


def _region(data: AnyStr, n: _Needles, at: int, stops: tuple) -> tuple[int, int] | None:
    """The inside of the element whose start tag holds `at` (an id attribute)."""
    tag = _start_tag(data, n, at) if at > 0 else None
    if tag is None:
        return None
    end = _inner_end(data, n, tag[0], tag[1], stops)
    return (tag[1], end) if end is not None else None


def _regions(data: AnyStr, n: _Needles) -> list[tuple[int, int]]:
    """(start, end) of the chrome's insides, in page order, not overlapping.

    Each search starts where the last landmark was found, so the page is read about once
    (a new-layout head can hold 60 KB of inline styles; the trailing scripts 100 KB).
    """
    body = max(data.find(n.body), 0)
    title = data.find(n.h1, body)
    if title < 0:
        return []  # no title, no landmark: not an article page, parsed whole
    found: list[tuple[int, int]] = []
    run = _meta_run(data, n, body or title)
    if run is not None:
        found.append(run)
    top = title
    for needle in n.top_ids:
        region = _region(data, n, data.find(needle, body, title), (n.script,))
        if region is not None and region[1] < title:
            found.append(region)
            top = min(top, region[0])
    # The site menu: before the regions above (DW's templates put it first) and the content.
    at = data.find(n.nav, body, top)
    for _ in range(_MAX_TRIES):
        if at < 0:
            break
        if not _name_ends(data, at + len(n.nav)):  # <navbar>
            at = data.find(n.nav, at + 1, top)
            continue
        if any(data.find(c, body, at) >= 0 for c in n.content):
            break
        gt = data.find(n.gt, at)
        end = _inner_end(data, n, "nav", gt + 1, (n.script, *n.content)) if gt >= 0 else None
        if end is None or end > title:
            break
        found.append((gt + 1, end))
        at = data.find(n.nav, end, top)
    # The page footer: the first id="footer"/"footerSection" after the title (one a page).
    bottom = len(data)
    at = data.find(n.footer, title)
    while at >= 0:
        if data.startswith(n.footer_ends, at + len(n.footer)):
            region = _region(data, n, at, (n.script, n.h1, *n.content))
            if region is not None:
                found.append(region)
                bottom = region[0]
            break
        at = data.find(n.footer, at + 1)
    # Lists of other articles, between the title and the footer.
    at = data.find(n.related, title, bottom)
    for _ in range(_MAX_TRIES):
        region = _region(data, n, at, (n.script, n.h1, *n.content)) if at >= 0 else None
        if region is None:
            break  # odd markup: each further try could read the rest of the page again
        found.append(region)
        at = data.find(n.related, region[1], bottom)
    found.sort()
    kept: list[tuple[int, int]] = []
    for start, end in found:
        if kept and start < kept[-1][1]:
            continue  # inside a region already cut
        kept.append((start, end))
    return kept


def _meta_run(data: AnyStr, n: _Needles, title: int) -> tuple[int, int] | None:
    """From the first to the last fb:pages <meta> before `title` (the head's end when there
    is a <body>), when every tag between is one of them."""
    first = data.find(n.fb_pages, 0, title)
    if first < 0:
        return None
    last = data.rfind(n.fb_pages, first, title)
    start = data.rfind(n.lt, 0, first)
    end = data.find(n.gt, last) + 1
    if start < 0 or end <= 0 or end > title:
        return None
    if data.count(n.lt, start, end) != data.count(n.fb_pages, start, end):
        return None  # another tag sits among them
    return start, end


def cut(data: AnyStr) -> AnyStr:
    """The page without the insides of its chrome (see the module docstring)."""
    n = _BYTES if isinstance(data, bytes) else _STR
    regions = _regions(data, n)
    if not regions:
        return data
    parts = []
    pos = 0
    for start, end in regions:
        parts.append(data[pos:start])
        pos = end
    parts.append(data[pos:])
    return data[:0].join(parts)
