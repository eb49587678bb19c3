"""Site chrome cut out of the page before libxml2 builds it: menus, edition list, page footer.

Why: building the tree is most of parse_article's cost, and on a DW page half the elements
(old layout: the edition list, the menus, the footer) or a third (new layout: the site
menu, the related-article lists, the footer) are chrome that no reader looks at and no
record may contain. Finding them costs a few substring searches: bytes.find runs at memory
speed, where a regex pass over the page (sre has no fast path for alternations) cost more
than the parse it saved.

What is chrome (DW's page templates, both layouts), around the page's first <h1> (the
title: every article page has one, and it is where the content starts; a page opening with
the old layout's skip links has it in div#bodyContent, after all of its top chrome):
- before it, the old layout's ol#quickjump (skip links), div#topMetaLang (editions),
  div#topMeta and div#navMeta (service links) and div#navContainer (menus, search form),
  and, before those and before the first <article> and <main> (a nav inside an article,
  a table of contents or topic links, is the article's), a <nav> (the new layout's site
  menu) and the elements of class "focus-menu-shown" (the new layout's skip links and
  page header with its logo, menus and "In focus" topics);
- after it (after the end of the <article> that holds it, where there is one), the
  lists of other articles (the new layout's sections whose id starts with
  "related-content", while the article's own topics, section#related-topics, stay; the
  old layout's div.relatedContent after the end of the article's data list,
  ul.smallList) and the page footer,
  footer#footer (new layout) or div#footerSection (old layout), one a page;
- in the head, the run of 79 <meta> tags naming DW's Facebook pages ("fb:pages"), on every
  page of both layouts: read by nothing, a third of a new-layout page's head;
- after the new layout's footer, the page state scripts (window.__APOLLO_STATE__, 60-100 KB
  of JSON that libxml2 would copy into the tree and the tree's strip would drop): held out
  of the page by split() and read from their text by the few records that need them
  (document.Doc), when they are the page's last scripts and nothing but plain tags stands
  between them and the footer (see _trailing_states). A mark takes each one's place, and
  the parsed tree must show it as the text of the page's last scripts: where libxml2 read
  the page otherwise (a footer inside a comment, an attribute or a script; a page past its
  depth limit), the page is parsed again with its states in place (document.parse).

A region keeps its start and end tags, so the tree keeps its shape; only its inside goes.
Its end is found by counting its own tag's start and end tags as DW writes them (lower
case). A region is kept whole when the count may have gone astray: no end found; "script"
inside (JSON-LD or a state may sit there, a script's strings may hold tags, the start may
be inside one); a comment inside that holds the tag, does not close, or closes one opened
before the start (comments as libxml2 reads them: "--!>" closes one too); the content's
markers inside (<article>, <main> for the site menu, their
end tags for the regions after the title); or an end past the next landmark (the title for
the top chrome, the menus for what precedes them, the next related list, the article's
topics or the footer for the lists).
A self-closed "<div/>", which libxml2 closes at once, counts as open: the end then comes
late and is refused by those checks. Odd markup costs the saving, never the article.

Records are the same with and without the cut (tests/test_chrome.py checks every fixture
and the real pages, and the odd markup three reviews tried). They can differ in two cases,
and the cut's record is then the better one. On a page no DW reader recognizes, the generic
extractor reads what the cut leaves, without the menus' and lists' text to take for the
article's. And where the page's markup is broken: broken markup before the chrome
(an unclosed <td> in a body, a <div> left open in a menu) makes libxml2 nest the chrome in
the content, or an unclosed <textarea>, <style> or quote in the chrome swallows the rest of
the page, in the whole-page parse only. Raw-text elements other than <script> (<style>,
<textarea>, <title>, <iframe>, <xmp>), upper-case tags and tags inside attribute values are
not looked for inside chrome: DW's has none, and each would cost a pass over every region.
So no region is cut where a count gone astray would move what the readers look for: the
old layout's share bar, between the title and the lead picture, stays (an early end would
close their column before the picture).
"""

from __future__ import annotations

import re
import secrets
from typing import AnyStr

# The old layout's chrome before the title, in page order, its menus last: skip links,
# edition list, hidden meta bar, service links, menus.
_TOP_IDS = ("quickjump", "topMetaLang", "topMeta", "navMeta", "navContainer")
_FOOTERS = (("footer", "footer"), ("footerSection", "div"))  # (id, the tag DW puts it on)
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()  # noqa: SIM905
)
_SPACE = frozenset(b" \t\n\r\f")  # HTML's whitespace, for bytes and str alike
_SPACES = frozenset(bytes([c]) for c in _SPACE) | frozenset(chr(c) for c in _SPACE)
# What may end a tag's name, as one-character bytes and str, to test a slice without a call.
_NAME_ENDS = frozenset(bytes([c]) for c in _SPACE | frozenset(b"/>")) | frozenset(
    chr(c) for c in _SPACE | frozenset(b"/>")
)
# What may stand on either side of a class token inside class="...".
_TOKEN_EDGES = _SPACES | {b'"', '"'}
# Candidates looked at per kind (navs, related lists; DW pages have one to three): hostile
# input with a million of them costs no more than a page.
_MAX_TRIES = 16
# Where the old layout's skip links (ol#quickjump) stand after <body>: a few KB in.
_OLD_LAYOUT_WINDOW = 16384
_META_RUN_WINDOW = 16384
_MAX_QUOTES = 512
# Per process: no page can spell a held state's mark in advance.
_HELD_TOKEN = secrets.token_hex(8)


class _Needles:
    """The search strings for one input type (bytes or str), built once."""

    def __init__(self, enc: bool) -> None:
        def b(s: str) -> bytes | str:
            return s.encode() if enc else s

        self.top_ids = [b(f'id="{i}"') for i in _TOP_IDS]
        self.footers = [(b(f'id="{i}"'), tag) for i, tag in _FOOTERS]
        self.footer = b('id="footer')  # both footer ids start so: one search finds either
        self.related = b('id="related-content')
        self.related_topics = b('id="related-topics"')
        self.focus, self.class_attr = b("focus-menu-shown"), b('class="')
        self.long_text = b("longText")
        self.body_content = b('id="bodyContent"')
        self.small_list, self.related_old = b("smallList"), b("relatedContent")
        self.list_end = b("</ul")
        self.old_stops = (b("picBox"), self.small_list, self.long_text)
        self.fb_pages = b('"fb:pages"')
        self.fb_attrs = (b('name="fb:pages"'), b('property="fb:pages"'))
        self.body, self.h1, self.nav = b("<body"), b("<h1"), b("<nav")
        # "cript" finds <script>, </script> and <Script> in one pass (each needle is a
        # pass over the region).
        self.script = b("cript")
        self.end_open = b("</")
        self.content = (b("<article"), b("<main"))
        self.content_ends = (b("</article"), b("</main"))
        self.lt, self.gt, self.slash, self.eq = b("<"), b(">"), b("/"), b("=")
        # A start tag's name and the ASCII whitespace after it (not U+00A0: str and bytes
        # must agree).
        self.tag_name = re.compile(b(r"([A-Za-z][A-Za-z0-9]*)[ \t\n\r\f]"))
        self.quotes = (b('"'), b("'"))
        self.ws = b(" \t\n\r\f")  # HTML's whitespace: str.rstrip() would take U+00A0 too
        self.comment, self.dashes, self.bang = b("<!--"), b("--"), b("!")
        self.dash_gt, self.bang_gt = b("->"), b("!>")
        self.dash = b("-")
        self.dash_run = re.compile(b("-+"))
        # A tag's name where a tag may stand (an end tag's too: ">" may follow the name).
        self.any_tag_name = re.compile(b(r"/?([A-Za-z][A-Za-z0-9]*)(?=[ \t\n\r\f/>])"))
        self.script_open, self.script_close = b("<script"), b("</script")
        self.states = (b("__APOLLO_STATE__"), b("__APP_STATE__"))
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


def _plain_tag_end(data: AnyStr, n: _Needles, pos: int) -> int:
    """Just past the next ">" when the tag open at `pos` reads the plain way up to it (values
    in pairs of double quotes, none holding ">", no single quote); else -1."""
    gt = data.find(n.gt, pos)
    dq, sq = n.quotes
    if gt >= 0 and not data.count(dq, pos, gt) % 2 and data.find(sq, pos, gt) < 0:
        return gt + 1
    return -1


def _tag_end(data: AnyStr, n: _Needles, pos: int) -> int:
    """Just past the ">" that ends the start tag open at `pos`, skipping quoted attribute
    values (aria-label="Menu > Sections"); -1 when it does not end. Linear: the next ">"
    and the next quote of each kind are found once and moved past, and a tag with more
    than _MAX_QUOTES quotes (no DW tag has a tenth of that) is not read."""
    plain = _plain_tag_end(data, n, pos)
    if plain >= 0:
        return plain  # the common case
    gt = data.find(n.gt, pos)
    dq, sq = n.quotes
    nxt = {dq: data.find(dq, pos), sq: data.find(sq, pos)}
    for _ in range(_MAX_QUOTES):
        if gt < 0:
            return -1
        before_gt = [(q, quote) for quote, q in nxt.items() if 0 <= q < gt]
        if not before_gt:
            return gt + 1
        q, quote = min(before_gt)
        if data[pos:q].rstrip(n.ws).endswith(n.eq):
            close = data.find(quote, q + 1)  # a quoted value: its end
            if close < 0:
                return -1
            pos = close + 1
        else:
            pos = q + 1  # a quote that opens no value (alt=it's): a plain character
        for kind in (dq, sq):
            if 0 <= nxt[kind] < pos:
                nxt[kind] = data.find(kind, pos)
        if gt < pos:
            gt = data.find(n.gt, pos)
    return -1


def _inner_end(
    data: AnyStr, n: _Needles, name: str, start: int, stops: tuple, comments: bool = True
) -> int | None:
    """Where the end tag of the region whose start tag ends at `start` begins; None when it
    has none or its inside must stay (see the module docstring). comments: False when the
    page holds no comment (see _may_hold_comments)."""
    open_, close = n.tag(name)
    width = len(close)
    depth = 1
    pos = start
    while True:
        end = data.find(close, pos)
        if end < 0:
            return None
        # Start tags of the name before this end tag, counted in C. "<div" also counts a
        # "<divider>" and a self-closed "<div/>": counting too many only puts the end later,
        # which the callers' bounds and the stops refuse.
        depth += data.count(open_, pos, end)
        if data[end + width : end + width + 1] in _NAME_ENDS:
            depth -= 1
            if depth == 0:
                break
        pos = end + width
    for stop in stops:
        if data.find(stop, start, end) >= 0:
            return None
    if _has_script(data, n, start, end) or (comments and _odd_comments(data, n, name, start, end)):
        return None
    return end


def _has_script(data: AnyStr, n: _Needles, start: int, end: int) -> bool:
    """A <script> or </script> (or <Script>) between start and end. One pass for both:
    "cript", then a look at what precedes each ("javascript:", "description" are no tags)."""
    at = data.find(n.script, start, end)
    while at >= 0:
        s = at - 1  # the "s" or "S"
        if data[s - 1 : s] == n.lt or data[s - 2 : s] == n.end_open:
            return True
        at = data.find(n.script, at + 5, end)
    return False


# "!"s looked at for a "<!--" (a doctype, a few exclamation marks): past that, comments may be.
_MAX_BANGS = 16


def _may_hold_comments(data: AnyStr, n: _Needles) -> bool:
    """False only when no "<!--" stands in the page. Every one holds a "!", which few pages
    hold elsewhere: a one-byte search runs at memory speed, where "<!--" (and the "--" that
    _odd_comments looks for) stop at every hyphen of the new layout's class names."""
    at = data.find(n.bang)
    for _ in range(_MAX_BANGS):
        if at < 0:
            return False
        if data.startswith(n.comment, at - 1):
            return True
        at = data.find(n.bang, at + 1)
    return True


def _odd_comments(data: AnyStr, n: _Needles, name: str, start: int, end: int) -> bool:
    """Between start and end, a comment holds the region's tag (which the count took as
    markup) or does not close, or a comment close stands with no "<!--" before it here
    (the start was inside a comment). Old-layout menus carry a few plain comments, which
    are fine. Comments as libxml2 reads them (HTML's rules): "<!--" opens one, "<!-->" and
    "<!--->" are empty, two or more dashes then ">" or "!>" close one. One pass over the
    region: every opening and closing holds a "--"; a run of dashes is stepped over in C."""
    open_, close = n.tag(name)
    pos = start
    while True:
        at = data.find(n.dashes, pos, end)
        if at < 0:
            return False
        if data.startswith(n.comment, at - 2):
            if data.startswith(n.gt, at + 2) or data.startswith(n.dash_gt, at + 2):
                pos = data.find(n.gt, at + 2) + 1  # "<!-->", "<!--->": empty, closed
                continue
            stop = _comment_close(data, n, at + 2, end)
            if stop < 0 or data.find(open_, at, stop) >= 0 or data.find(close, at, stop) >= 0:
                return True
            pos = stop
        else:
            # Mostly two dashes of a class name ("teaser--big"); a longer run is stepped
            # over in C.
            run = at + 2
            if data[run : run + 1] == n.dash:
                run = n.dash_run.match(data, at, end).end()
            if _close_tail(data, n, run):
                return True  # a comment closes here that opened before start
            pos = run


def _comment_close(data: AnyStr, n: _Needles, pos: int, end: int) -> int:
    """Just past the close of the comment whose text starts at `pos`; -1 before `end`."""
    while True:
        at = data.find(n.dashes, pos, end)
        if at < 0:
            return -1
        run = n.dash_run.match(data, at, end).end()
        tail = _close_tail(data, n, run)
        if tail:
            return run + tail
        pos = run


def _close_tail(data: AnyStr, n: _Needles, run: int) -> int:
    """Length of what closes a comment right after a run of two or more dashes at `run`
    (">" or "!>", as libxml2 reads them); 0 when the dashes close nothing."""
    if data.startswith(n.gt, run):
        return 1
    return 2 if data.startswith(n.bang_gt, run) else 0


def _start_tag(data: AnyStr, n: _Needles, at: int) -> tuple[str, int] | None:
    """(tag name, end of the start tag) of the start tag whose attributes hold `at`."""
    if data[at - 1 : at] not in _SPACES:
        return None  # data-id="footer"
    lt = data.rfind(n.lt, 0, at)
    if lt < 0 or data.find(n.gt, lt, at) >= 0:
        return None  # not inside a tag (or a ">" in a value before it: not worth reading)
    m = n.tag_name.match(data, lt + 1)
    if m is None:
        return None
    name = m.group(1)
    name = (name.decode() if isinstance(name, bytes) else name).lower()
    end = _tag_end(data, n, at)
    if name in _VOID or end < 0 or data[end - 2 : end - 1] == n.slash:
        return None  # nothing inside
    return name, end


def _region(
    data: AnyStr, n: _Needles, at: int, stops: tuple, comments: bool = True
) -> tuple[str, int, int] | None:
    """(tag, start, end) of the inside of the element whose start tag holds `at` (an id)."""
    tag = _start_tag(data, n, at) if at > 0 else None
    if tag is None:
        return None
    end = _inner_end(data, n, tag[0], tag[1], stops, comments)
    return (tag[0], tag[1], end) if end is not None else None


def _regions(
    data: AnyStr, n: _Needles, states: list[tuple[int, int]] | None
) -> list[tuple[int, int]]:
    """(start, end) of the chrome's insides, in page order, not overlapping; the page state
    scripts' insides among them are also added to `states` (None: they stay).

    Each search starts where the last landmark was found, so the page is read about once
    (a new-layout head can hold 60 KB of inline styles; the trailing scripts 100 KB).
    """
    body = max(data.find(n.body), 0)
    # A page that opens with the old layout's skip links keeps its title in div#bodyContent,
    # after all of its top chrome: the title is looked for from there (a short needle's
    # search through 50 KB of menus cost more than most regions), and that chrome must end
    # before the content does start. Without one, the first <h1> after <body> is the title.
    bound = -1
    if data.find(n.top_ids[0], body, body + _OLD_LAYOUT_WINDOW) >= 0:
        bound = data.find(n.body_content, body)
    title = data.find(n.h1, bound) if bound >= 0 else -1
    if title < 0:
        title = bound = data.find(n.h1, body)
    if title < 0:
        return []  # no title, no landmark: not an article page, parsed whole
    found: list[tuple[int, int]] = []
    run = _meta_run(data, n, body or title)
    if run is not None:
        found.append(run)
    top = bound
    # The old layout's menus (div#navContainer, the landmark: absent, the page is not the
    # old layout and the rest is not looked for), then what comes before them, in page
    # order, each search from where the last ended.
    # A page with no "<!--" holds no comment: no region's comments need reading (DW's new
    # layout has none; its class names' "--" cost a search per region).
    comments = _may_hold_comments(data, n)
    menus = _region(data, n, data.find(n.top_ids[-1], body, bound), (), comments)
    if menus is not None and menus[2] < bound:
        tops = [menus[1:]]
        pos = body
        for needle in n.top_ids[:-1]:
            at = data.find(needle, pos, menus[1])
            region = _region(data, n, at, (), comments) if at >= 0 else None
            if region is not None and region[2] < menus[1]:
                tops.append(region[1:])
                pos = region[2]
        found.extend(tops)
        top = min(start for start, _ in tops)
    # Site menus and the new layout's header come before the content: the first <article>
    # or <main> (a nav inside one, a table of contents or topic links, is the article's).
    for marker in n.content:
        at = data.find(marker, body, top)
        if at >= 0:
            top = at
    # The new layout's skip links (an <ol>) and page header (logo, menus, the "In focus"
    # topics) carry this class in both of its builds (the hashed names around it change).
    headers = _class_regions(data, n, n.focus, body, top, (), comments=comments)
    found.extend(headers)
    _site_menus(data, n, body, top, headers, found, comments)
    # The page footer: the first footer#footer or div#footerSection after the article (the
    # end of the <article> holding the title, where there is one: nothing inside it is
    # chrome; the old layout has no <article>: no search through the rest of the page).
    after = data.find(n.content_ends[0], title) if menus is None else -1
    after = after if after >= 0 else title
    bottom = len(data)
    old_layout = False
    at = data.find(n.footer, after)
    for _ in range(_MAX_TRIES):
        if at < 0:
            break
        want = next((tag for needle, tag in n.footers if data.startswith(needle, at)), None)
        tag = _start_tag(data, n, at) if want is not None else None
        if tag is not None and tag[0] == want:  # not a div#footer inside an article's body
            old_layout = want == "div"
            end = _inner_end(data, n, tag[0], tag[1], n.content_ends, comments)
            if end is not None:
                found.append((tag[1], end))
                bottom = tag[1]
                if states is not None and not old_layout:  # the old layout has no state
                    states.extend(_trailing_states(data, n, end))
                    found.extend(states)
            break
        at = data.find(n.footer, at + 1)
    if not old_layout:  # the old layout has no related lists: spare the search
        _related_lists(data, n, after, bottom, found, comments)
    else:
        # Its list of other articles, div.relatedContent, after the end of the article's
        # data list (the first smallList after the title, which follows the body): it must
        # not reach the body, an image or a data list.
        foot = data.find(n.small_list, title, bottom)
        foot = data.find(n.list_end, foot, bottom) if foot >= 0 else -1
        if foot >= 0:
            related = _class_regions(
                data, n, n.related_old, foot, bottom, n.old_stops, "div", comments
            )
            found.extend(related)
    found.sort()
    kept: list[tuple[int, int]] = []
    for start, end in found:
        if kept and start < kept[-1][1]:
            continue  # inside a region already cut
        kept.append((start, end))
    return kept


def _site_menus(
    data: AnyStr,
    n: _Needles,
    body: int,
    top: int,
    headers: list[tuple[int, int]],
    found: list[tuple[int, int]],
    comments: bool = True,
) -> None:
    """<nav>s before the top chrome (DW's templates put the menu first) and the content
    (`top`), but not inside a page header already found."""
    at = data.find(n.nav, body, top)
    for _ in range(_MAX_TRIES):
        if at < 0:
            break
        inside = next((end for start, end in headers if start <= at < end), None)
        if inside is not None:
            at = data.find(n.nav, inside, top)
            continue
        if data[at + len(n.nav) : at + len(n.nav) + 1] not in _NAME_ENDS:  # <navbar>
            at = data.find(n.nav, at + 1, top)
            continue
        start = _tag_end(data, n, at + len(n.nav))
        if start < 0 or data[start - 2 : start - 1] == n.slash:
            break
        end = _inner_end(data, n, "nav", start, (), comments)
        if end is None or end >= top:
            break
        found.append((start, end))
        at = data.find(n.nav, end, top)


def _class_regions(
    data: AnyStr,
    n: _Needles,
    token: AnyStr,
    start: int,
    stop: int,
    stops: tuple,
    name: str | None = None,
    comments: bool = True,
) -> list[tuple[int, int]]:
    """Insides of the elements (of tag `name`, when given) whose class holds `token` (a
    whole token of a class="..." value: "focus-menu-shown-x" is another) between start
    and stop, none reaching stop."""
    found = []
    width = len(token)
    at = data.find(token, start, stop)
    for _ in range(_MAX_TRIES):
        if at < 0:
            break
        nxt = at + width
        tag = None
        if data[at - 1 : at] in _TOKEN_EDGES and data[nxt : nxt + 1] in _TOKEN_EDGES:
            lt = data.rfind(n.lt, start, at)
            attr = data.rfind(n.class_attr, lt, at) if lt >= 0 else -1
            if attr >= 0 and data.find(n.quotes[0], attr + len(n.class_attr), at) < 0:
                tag = _start_tag(data, n, attr)
        if tag is not None and (name is None or tag[0] == name):
            end = _inner_end(data, n, tag[0], tag[1], stops, comments)
            if end is not None and end < stop:
                found.append((tag[1], end))
                nxt = end
        at = data.find(token, nxt, stop)
    return found


def _related_lists(
    data: AnyStr,
    n: _Needles,
    after: int,
    bottom: int,
    found: list[tuple[int, int]],
    comments: bool = True,
) -> None:
    """Lists of other articles between the title and the footer, each ending before the
    next landmark: the next list, the article's topics, the footer."""
    at = data.find(n.related, after, bottom)
    topics = data.find(n.related_topics, after, bottom) if at >= 0 else -1
    for _ in range(_MAX_TRIES):
        if at < 0:
            break
        following = data.find(n.related, at + 1, bottom)
        limit = min(x for x in (following, topics, bottom) if x > at)
        region = _region(data, n, at, n.content_ends, comments)
        if region is None or region[0] != "section" or region[2] > limit:
            break  # odd markup: each further try could read the rest of the page again
        found.append(region[1:])
        at = following


def _meta_run(data: AnyStr, n: _Needles, head_end: int) -> tuple[int, int] | None:
    """From the first to the last fb:pages <meta> before `head_end`, when every tag between
    is one of them (name= or property= "fb:pages")."""
    first = data.find(n.fb_pages, 0, head_end)
    if first < 0:
        return None
    # DW's 79 tags take ~6 KB: looking back from the head's end could read 60 KB of inline
    # styles; a longer run is cut as far as the window reaches.
    last = data.rfind(n.fb_pages, first, min(head_end, first + _META_RUN_WINDOW))
    start = data.rfind(n.lt, 0, first)
    end = _tag_end(data, n, last)
    if start < 0 or end < 0 or end > head_end:
        return None
    tags = data.count(n.lt, start, end)
    if tags != sum(data.count(attr, start, end) for attr in n.fb_attrs):
        return None  # another tag sits among them, or one only quotes "fb:pages"
    if data.find(n.dashes, start, end) >= 0:
        return None  # a comment ends or begins among them: it must keep its "-->"
    return start, end


def held_mark(index: int) -> str:
    """The text split() leaves in a held state script's place: the parsed tree must show it
    as that script's whole text, or the page is parsed again with its states in place
    (document.parse). ASCII without "<", so libxml2 keeps it as it is."""
    return f"dwscraper:{_HELD_TOKEN}:{index}"


def split(data: AnyStr, hold: bool = True) -> tuple[AnyStr, list[AnyStr]]:
    """(the page without the insides of its chrome, each held page state script's inside
    replaced by held_mark(i); the held scripts' insides as they stand in the page). `hold`:
    False leaves the states in the page. See the module docstring."""
    n = _BYTES if isinstance(data, bytes) else _STR
    states: list[tuple[int, int]] = []
    regions = _regions(data, n, states if hold else None)
    if not regions:
        return data, []
    parts = []
    held = []
    pos = 0
    for start, end in regions:
        parts.append(data[pos:start])
        pos = end
        if (start, end) in states:
            mark = held_mark(len(held))
            parts.append(mark.encode() if isinstance(data, bytes) else mark)
            held.append(data[start:end])
    parts.append(data[pos:])
    return data[:0].join(parts), held


def cut(data: AnyStr) -> AnyStr:
    """The page as split() leaves it to libxml2."""
    return split(data)[0]


# Elements whose inside libxml2 does not read as markup (raw text, RCDATA, and <noscript>,
# whose inside it may): a "<script" after one of them may be its text.
_NOT_MARKUP = frozenset(
    "script style textarea title xmp iframe noembed noframes noscript plaintext".split()  # noqa: SIM905
)
# Tags walked from the footer's end to the page's end (DW has a handful: the footer's and
# the wrappers' end tags, a focus ring's div, the state script, </body></html>).
_MAX_TAIL_TAGS = 64
# A state script names its variable first ("window.__APOLLO_STATE__=").
_STATE_HEAD = 200


def _trailing_states(data: AnyStr, n: _Needles, pos: int) -> list[tuple[int, int]]:
    """Insides of the page state scripts (window.__APOLLO_STATE__ / __APP_STATE__ in their
    first 200 characters: 60-100 KB of JSON that libxml2 would copy into the tree for the
    rare record that needs it) when they are the page's last scripts: from `pos` (the
    footer's end tag) to the page's end only plain tags stand between them, no comment, no
    raw-text element, no other script; and each one's text holds no "<", so its end is the
    first "</script" after its start tag as libxml2 reads it (no script escape states)."""
    found: list[tuple[int, int]] = []
    at = pos
    for _ in range(_MAX_TAIL_TAGS):
        lt = data.find(n.lt, at)
        if lt < 0:
            return found  # the page's end: the states found are its last scripts
        m = n.any_tag_name.match(data, lt + 1)
        if m is None:
            return []  # a comment, a doctype, a "<" of text: not read further
        name = m.group(1)
        name = (name.decode() if isinstance(name, bytes) else name).lower()
        # Tags read the plain way only: a stray quote ends the walk, which is then never
        # longer than a few finds a tag.
        end = _plain_tag_end(data, n, lt)
        if end < 0:
            return []
        closing = data[lt + 1 : lt + 2] == n.slash
        if name == "script" and not closing and data.startswith(n.script_open, lt):
            close = data.find(n.lt, end)
            if (
                data.find(n.eq, lt, end) >= 0  # an attribute value (type= may make it JSON-LD)
                or close < 0
                or not data.startswith(n.script_close, close)
                or data[close + 8 : close + 9] not in _NAME_ENDS
            ):
                return []
            head = data[end : end + _STATE_HEAD]
            if not any(state in head for state in n.states):
                return []  # another script follows: no state is the last
            found.append((end, close))
            at = close + 8
            continue
        if name in _NOT_MARKUP and not closing:
            return []
        at = end
    return []
