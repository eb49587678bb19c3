"""Block text and the clutter rules shared by every reader.

Owns: turning a body container into an ordered list of prose blocks (paragraphs, subheadings,
list items, quotes) and deciding which blocks are not prose ("Read more:" links, newsletter
promos, ad labels, captions, credits, skip links). Readers decide *where* the body is; this
module decides *what in it* is text.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import lxml.etree as etree

from dwscraper.normalize import drop_unsafe
from dwscraper.parsing.document import Element
from dwscraper.parsing.signature import parse_signature

PROSE_TAGS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "pre"})
# Prose blocks that are one line of their own text (lists are per item, quotes may embed).
_PLAIN_BLOCKS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "pre"})
# Elements inside a prose block that are never prose (captions, credits, ads, embeds).
_NON_PROSE_TAGS = frozenset(
    {"figure", "figcaption", "button", "input", "select", "textarea", "form"}
)
# Each holds "ad" or "copyright" (_drop_non_prose tests those substrings before splitting).
_NON_PROSE_CLASSES = frozenset({"copyright", "rich-text-ad", "advertisement", "advertise"})
# Blocks inside a block (a quote's paragraphs and footer, a list item's list): text at their
# edges is separate words, whatever the markup's spacing.
_SPACED_BLOCKS = frozenset(
    {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "footer", "blockquote", "section",
     "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "caption"}
)  # fmt: skip
_OPENING = "\"'„“‚‘«‹([¿¡—–-"  # a quote, bracket or dash opens the words after a block
_LINKS = etree.XPath(".//a")
_NON_LINK_TEXT = etree.XPath(".//text()[not(ancestor::a)]")
_MEDIA_TAGS = ("img", "picture", "figure", "video", "audio")
INLINE_TAGS = frozenset(
    {"a", "em", "strong", "b", "i", "u", "span", "sup", "sub", "abbr", "cite", "q", "mark",
     "small", "time", "s", "del", "ins", "code", "bdi", "bdo", "font", "dfn", "kbd", "var"}
)  # fmt: skip
_WRAPPERS = frozenset({"div", "section", "center", "main"})
_MAX_DEPTH = 12  # wrappers inside a body; deeper nesting is not DW prose
# Containers inside a body that hold embeds, never the article's own prose.
_EMBED_CLASS_RE = re.compile(
    r"picbox|gallery|slideshow|video|audio|player|advert|embed|teaser|linklist|placeholder|"
    r"mediaitem|standalonewrap|infobox|social|share|related|newsletter|taboola|gpt-slot|"
    r"widget",
    re.I,
)
_WORD_RE = re.compile(r"\w+", re.U)
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# Labels that introduce an inline link to another article ("Read more: <a>...</a>").
_READ_MORE_RE = re.compile(
    r"^\W*(?:read\s+more|read\s+also|also\s+read|see\s+also|more\s+on\s+this|related|"
    r"lesen\s+sie\s+(?:auch|mehr)|mehr\s+(?:dazu|zum\s+thema)|siehe\s+auch|auch\s+interessant|"
    r"lire\s+aussi|à\s+lire\s+aussi|lea\s+también|lee\s+también|leia\s+(?:também|mais)|"
    r"czytaj\s+(?:też|także|więcej)|citiţi\s+şi|citește\s+și|читайте\s+(?:также|еще|тоже)|"
    r"читати\s+також|читайте\s+також|прочитајте\s+и|pročitajte\s+i|ayrıca\s+okuyun|"
    r"ayrıca\s+bakınız|baca\s+juga|soma\s+pia|karanta|διαβάστε\s+επίσης|прочетете\s+още|"
    r"اقرأ\s+أيضا|اقرأ\s+أيضًا|اقرأ\s+المزيد|بیشتر\s+بخوانید|اینرا\s+هم\s+بخوانید|"
    r"مزید\s+پڑھیے|مزید\s+پڑھیں|دا\s+هم\s+ولولئ|यह\s+भी\s+पढ़ें|আরো\s+পড়ুন|আরও\s+পড়ুন|"
    r"延伸阅读|延伸閱讀|相关阅读|相關閱讀|阅读更多)\s*[:：]",
    re.I,
)
# Whole lines that are page furniture, in any block (used on fallback output as well). The
# lookahead holds every alternative's first letter (tests/test_parsing.py derives them from
# the pattern): a prose line fails on it at once, not after trying each alternative (every
# block of every page is tested).
_CLUTTER_FIRST = "szdawpрibfфصع图圖rmläh©c"
CLUTTER_LINE_RE = re.compile(
    rf"^(?=[{_CLUTTER_FIRST}])"
    r"(?:skip\s+to\s+(?:content|main\s+menu|more\s+dw\s+sites)|skip\s+next\s+section.*|"
    r"zum\s+inhalt\s+springen|zur\s+hauptnavigation\s+springen|"
    r"zu\s+weiteren\s+angeboten\s+der\s+dw\s+springen|den\s+nächsten\s+abschnitt\s+.*überspringen|"
    r"advertisement|anzeige|werbung|publicité|publicidad|реклама|"
    r"(?:image|bild|foto|photo|imagen|фото|صورة|عکس|图像|圖像|图片|圖片)\s*:.{0,120}|"
    r"send\s+us\s+your\s+feedback.?|schicken\s+sie\s+uns\s+ihr\s+feedback.?|"
    r"related\s+content|mehr\s+zum\s+thema|dw\s+recommends|die\s+redaktion\s+empfiehlt|"
    r"more\s+on\s+this\s+topic|show\s+more|load\s+more|mehr\s+anzeigen|mehr\s+laden|"
    r"subscribe|abonnieren|"
    r"audios\s+and\s+videos\s+on\s+the\s+topic|audio\s+und\s+video\s+zum\s+thema|"
    r"related\s+topics|ähnliche\s+themen|print\s+this\s+page|seite\s+drucken|permalink.*|"
    r"(?:https?://)?(?:p\.dw\.com|(?:www\.)?dw\.(?:com|de))/p/\w+|"
    # A copyright notice ("© 2024 Deutsche Welle", "© 2024年德国之声版权声明：…"), or a photo
    # credit set as a line ("© picture-alliance/dpa", "©REUTERS/Fabian Bimmer": a few words,
    # no sentence's end). "©, ® and ™ are symbols..." is a sentence.
    r"(?:©\s*(?:\d{4}|dw\b|deutsche\s+welle)|copyright\s*©).*|"
    r"©\s*(?:\S+\s+){0,5}\S*[^\s.!?。！？])$",
    re.I,
)


def clean_line(value: str | None) -> str | None:
    """normalize.clean_line, fast path: same result (NFC, one space, no zero-width space).

    Every block of every page passes here. A value that is already one clean line only
    needs its ends stripped (no list of words); markup text (newlines and indentation runs
    between the words) is split and joined once; Latin-1 text skips the NFC scan.
    """
    if value is None:
        return None
    # Printable means no zero-width space and no whitespace but " " (every other one is a
    # Unicode separator or control char, never printable): with no "  " either, stripping
    # the ends is all that " ".join(value.split()) would do.
    printable = value.isprintable()
    if not printable and "\xa0" in value and "\n" not in value:
        # No-break spaces (German and French text has them around numbers and quotes) are
        # the only other whitespace in most lines: as spaces, the line may be printable.
        # (Markup's newlines, in old-layout text, need the split anyway.)
        spaced = value.replace("\xa0", " ")
        if spaced.isprintable():
            value, printable = spaced, True
    if printable:
        value = " ".join(value.split()) if "  " in value else value.strip()
    else:
        if "\u200b" in value:
            value = value.replace("\u200b", "")
        value = " ".join(value.split())
        # Control characters and lone surrogates are never printable (nor is any char
        # they hide among once the whitespace is one space): one C check, mostly passed.
        if not value.isprintable():
            value = " ".join(drop_unsafe(value).split())
    if not _is_nfc(value):
        value = " ".join(unicodedata.normalize("NFC", value).split())
    return value or None


def _is_latin1(text: str) -> bool:
    """Every char in U+0000-U+00FF (English, German, French... text): one C call."""
    if text.isascii():
        return True
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _is_nfc(value: str) -> bool:
    # U+0000-U+00FF holds no combining mark: Latin-1 text is NFC as it is.
    return _is_latin1(value) or unicodedata.is_normalized("NFC", value)


def raw_text(el: Element) -> str:
    """All text under an element (the tree holds no script/style any more)."""
    if not len(el):
        # No child nodes (the parser drops comments and PIs): the text is el.text, and
        # reading it costs a tenth of serialising the element.
        return el.text or ""
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


# What lxml refuses to store as text (libxml2 keeps it when it parses: a form feed, a stray
# control byte): whitespace controls become a space, the rest go.
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_safe(value: str) -> str:
    return _NOT_XML_RE.sub(lambda m: " " if m.group().isspace() else "", value)


def _store(el: Element, field: str, value: str) -> None:
    """el.text / el.tail = value, even when the page's text holds characters lxml will not
    store (setting them raises, which would cost the whole record its text)."""
    try:
        setattr(el, field, value)
    except ValueError:
        setattr(el, field, _xml_safe(value))


def drop(el: Element) -> None:
    """Remove an element but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            _store(prev, "tail", (prev.tail or "") + tail)
        else:
            _store(parent, "text", (parent.text or "") + tail)
    parent.remove(el)


# Page furniture lines are short (a label, a skip link, a credit): prose is never tested.
_CLUTTER_MAX = 200


def is_clutter_line(line: str) -> bool:
    """A whole line that is page furniture (skip link, ad label, credit, related heading)."""
    return len(line) <= _CLUTTER_MAX and CLUTTER_LINE_RE.match(line) is not None


def has_class(el: Element, token: str) -> bool:
    """Class-token test (never a substring match: 'rich-text-ad' is not 'rich-text')."""
    cls = el.get("class")
    # Substring first: most classes lack the token, and then the split is not needed.
    return bool(cls) and token in cls and token in cls.split()


# An image credit's label in any edition ("Bild:", "Image:", "Foto:", "图像来源：").
_CREDIT_LABEL_RE = re.compile(r"^[^\s:：]{1,12}(?:\s[^\s:：]{1,12})?\s*[:：]\s*")


def credit_without_label(credit: str | None) -> str | None:
    """'Bild: picture-alliance/dpa' -> 'picture-alliance/dpa'."""
    return clean_line(_CREDIT_LABEL_RE.sub("", credit, count=1)) if credit else None


def element_text(el: Element) -> str | None:
    """One clean line of an element's visible text (scripts are already gone from the tree)."""
    return clean_line(raw_text(el))


def _drop_non_prose(el: Element) -> list[Element]:
    """Drop captions, credits, ads and form controls inside a block, space out <br>s; one
    walk over the block, which also returns its links (for the read-more/promo rules)."""
    if not len(el):
        return []  # a text-only block (most paragraphs): nothing to drop, no links
    bad = []
    links = []
    for sub in el.iterdescendants():
        tag = sub.tag
        if not isinstance(tag, str):
            continue
        if tag == "a":
            links.append(sub)
        elif tag == "br":
            # A line break separates words even where the markup has no space.
            _store(sub, "tail", " " + (sub.tail or ""))
            continue
        elif tag in _SPACED_BLOCKS:
            # So do block edges: a quote's two paragraphs, a list item's nested list (but
            # no space before the punctuation that may follow a block: "item</p>.").
            _store(sub, "text", " " + (sub.text or ""))
            tail = sub.tail
            if tail and (tail[0].isalnum() or tail[0] in _OPENING):
                _store(sub, "tail", " " + tail)
        elif tag in _NON_PROSE_TAGS:
            bad.append(sub)
            continue
        cls = sub.get("class")
        # Every non-prose class holds "copyright" or "ad": the substring test skips the split.
        if (
            cls
            and ("ad" in cls or "copyright" in cls)
            and _NON_PROSE_CLASSES.intersection(cls.split())
        ):
            bad.append(sub)
    if bad:
        for sub in bad:
            if not any(anc in bad for anc in sub.iterancestors()):
                drop(sub)
        links = [a for a in links if a.getparent() is not None and _attached(a, el)]
    return links


def _attached(node: Element, root: Element) -> bool:
    return any(anc is root for anc in node.iterancestors())


# A "Read more: <link>" line is short; longer paragraphs are prose whatever their links.
_READ_MORE_MAX = 400


def is_read_more(el: Element, text: str, links: list[Element] | None = None) -> bool:
    """'Read more: <a>Other story</a>' and its localized forms: a link, not prose."""
    if not _may_read_more(text):
        return False  # both forms need a colon: the label's, or the one ending the non-link text
    if _READ_MORE_RE.match(text):
        return True
    if links is None:
        links = _LINKS(el)
    if not links:
        return False
    rest = " ".join("".join(_NON_LINK_TEXT(el)).split())
    # What is not link text is only a short label ending in a colon.
    return (
        bool(rest)
        and len(rest) <= 40
        and rest.rstrip().endswith((":", "："))
        and (len(rest.split()) <= 5)
    )


_PREFERRED_SOURCE = "google.com/preferences/source"
# DW's preferred-source call to action: "Add DW as a preferred source on Google" (short), or a
# ~230-character closing note in italics ("If you rely on our team's reporting ... by clicking
# here"; translations run longer). A paragraph whose one link is that Google page is the promo
# up to _PROMO_MAX chars, or up to _PROMO_EM_MAX when it is all in <em>/<i> (DW's closing
# notes); longer, or a plain paragraph past _PROMO_MAX, is prose about the feature.
_PROMO_MAX = 200
_PROMO_EM_MAX = 500


def _all_italic(el: Element) -> bool:
    """<p><em>...</em></p>: one <em>/<i> child holding all of the paragraph's text."""
    if len(el) != 1 or (el.text or "").strip():
        return False
    child = el[0]
    return child.tag in ("em", "i") and not (child.tail or "").strip()


def is_promo(el: Element, text: str, links: list[Element] | None = None) -> bool:
    """A paragraph that is one promotional link (newsletter sign-up, 'icon' teaser link,
    Google preferred-source call to action)."""
    if links is None:
        links = _LINKS(el)
    if len(links) != 1:
        return False
    a = links[0]
    href = (a.get("href") or "").lower()
    if _PREFERRED_SOURCE in href and (
        len(text) <= _PROMO_MAX or (len(text) <= _PROMO_EM_MAX and _all_italic(el))
    ):
        return True  # the preferred-source call to action, link on all or part of it
    if not (has_class(a, "icon") or "newsletter" in href):
        return False
    return clean_line(raw_text(a)) == text


_SOCIAL_HOST_RE = re.compile(
    r"(?:^|\.)(?:facebook\.com|instagram\.com|twitter\.com|x\.com|youtube\.com|t\.me|"
    r"telegram\.me|tiktok\.com|whatsapp\.com|vk\.com|ok\.ru|linkedin\.com|threads\.net|"
    r"bsky\.app)$"
)
# DW's own accounts: "dw" and a separator (dw.chinese, dw_russian, DW_Turkce), DeutscheWelle,
# or "dw" joined to an edition or desk (dwnews, dwespanol): not DWD_presse or dwyanewade.
_DW_HANDLE_RE = re.compile(
    r"(?:dw[._-]\w+|deutschewelle\w*|dw(?:news|documentary|deutsch|english|espanol|brasil|"
    r"africa|afrique|arabic|persian|farsi|dari|pashto|urdu|hindi|bengali|bangla|chinese|russian|"
    r"ukrainian|turkce|romana|polski|bosanski|hrvatski|srpski|makedonski|shqip|greek|kiswahili|"
    r"hausa|amharic|indonesia|learngerman|shift|culture|sports|business|science|planetb|"
    r"studios|global|politics|germany|europe|asia|lifestyle|travel|food|kids|stories))",
    re.I,
)
_CHANNEL_PREFIXES = frozenset({"c", "user", "channel", "s"})  # youtube.com/c/<handle>, t.me/s/


def _is_dw_account(href: str) -> bool:
    """A link to one of DW's social media accounts (its profile, not a post)."""
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    if not _SOCIAL_HOST_RE.search((parts.hostname or "").lower()):
        return False
    segments = [seg for seg in parts.path.split("/") if seg]
    if segments and segments[0].lower() in _CHANNEL_PREFIXES:
        segments = segments[1:]
    return len(segments) == 1 and _DW_HANDLE_RE.fullmatch(segments[0].lstrip("@")) is not None


def _is_dw_newsletter(href: str) -> bool:
    """A link to DW's own newsletter sign-up (on dw.com, or relative)."""
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return (not host or host == "dw.com" or host.endswith(".dw.com")) and (
        "newsletter" in parts.path.lower()
    )


# A call to action ends like one: "…关注我们！", "Zrób to na Facebooku! >>".
_CALL_END_RE = re.compile(r"(?:[!！]|>>|»|›)\s*$|！")
# An account named in the text: "dw.chinese", "@dwnews", "DW_Turkce".
_HANDLE_IN_TEXT_RE = re.compile(r"(?<![A-Za-z0-9.])@?(dw[\w.-]*\w|deutschewelle\w*)", re.I)
_NETWORK_RE = re.compile(
    r"instagram|facebook|telegram|youtube|tiktok|whatsapp|twitter|threads|bluesky|"
    r"اینستاگرام|تلگرام|فیسبوک|إنستغرام|انستغرام|فيسبوك|تيليغرام|يوتيوب|"
    r"инстаграм|телеграм|фейсбук|ютуб",
    re.I,
)


def _may_name_dw(text: str) -> bool:
    """Whether _HANDLE_IN_TEXT_RE can find a handle here: it needs "dw" or "deutschewelle"
    in any case (casefold, as the case-blind regex, reads "ſ" as "s"). A body's last lines
    are tried, and the two case-blind regexes try every position of a line that has none."""
    low = text.casefold()
    return "dw" in low or "deutschewelle" in low


def _closing_kind(el: Element, text: str) -> str | None:
    """What kind of closing line el (whose element_text is `text`) may be: "follow" (a call
    to follow DW's accounts: every link one of them), "note" (a note in italics about DW's
    newsletter), else None. A "follow" line that could be a sentence about DW's channel
    needs a second sign (see drop_closing_lines)."""
    if el.tag != "p":
        return None
    links = list(el.iter("a"))
    if not links:
        # Unlinked: "DW中文有Instagram！欢迎搜寻dw.chinese…" names the network and the handle.
        return (
            "follow!"
            if len(text) <= _PROMO_MAX
            and _may_name_dw(text)
            and any(_DW_HANDLE_RE.fullmatch(m) for m in _HANDLE_IN_TEXT_RE.findall(text))
            and _NETWORK_RE.search(text)
            else None
        )
    if len(text) > _PROMO_EM_MAX:
        return None
    if all(_is_dw_account(a.get("href") or "") for a in links):
        # Several accounts, italics or a call's "!" say so at once; else the signature must
        # stand above it (DW's closing lines follow the signature).
        strong = len(links) > 1 or _all_italic(el) or _CALL_END_RE.search(text) is not None
        return "follow!" if strong else "follow"
    # A newsletter note is set in italics, like DW's other closing notes.
    if len(links) == 1 and _all_italic(el) and _is_dw_newsletter(links[0].get("href") or ""):
        return "note"
    return None


_CLOSING_SCAN = 6  # closing lines and a signature among them: the last few blocks at most


def drop_closing_lines(body: Element) -> None:
    """Drop the editions' closing lines (see _is_closing) from the end of a body, looking
    past a signature line among them ("ht/ag (AFP, dpa)" often stands before them). Only
    at the end: the same link in the middle of a story is part of the story."""
    seen = 0
    weak: list[Element] = []  # "follow" lines kept unless the signature stands above them
    for child in reversed(list(body.iterchildren())):
        if not isinstance(child.tag, str):
            continue
        seen += 1
        if seen > _CLOSING_SCAN:
            break
        # Read once: the kind and the signature test both need it (a body's last paragraph
        # can be 1 KB of markup text).
        text = element_text(child)
        kind = _closing_kind(child, text or "")
        if kind == "follow":
            weak.append(child)
            continue
        if kind is not None:
            drop(child)
            continue
        if text and parse_signature(text) is not None:
            for el in weak:
                drop(el)
            weak.clear()
            continue
        if not text or is_clutter_line(text):
            continue  # an empty block, a copyright notice: look further up
        break


def block_lines(el: Element) -> list[str]:
    """The prose lines of one block element: a paragraph/heading is one line, a list one
    line per item. Captions, credits and ads inside the block are dropped first."""
    links = _drop_non_prose(el)
    tag = el.tag
    if tag in ("ul", "ol"):
        lines = [clean_line(raw_text(li)) for li in el.iterchildren("li")]
        return [line for line in lines if line]
    if tag == "blockquote" and not (raw_text(el) or "").strip():
        return []
    if tag == "p" and _has_double_br(el):
        # Two paragraphs (often the agency line) joined with <br><br> inside one <p>.
        return [line for line in container_blocks(el) if not _is_read_more_line(line)]
    text = element_text(el)
    if not text:
        return []
    if tag == "p" and (is_read_more(el, text, links) or is_promo(el, text, links)):
        return []
    if is_clutter_line(text):
        return []
    return [text]


def _has_double_br(el: Element) -> bool:
    """Two <br> children with nothing but whitespace between them."""
    previous_br = False
    for child in el.iterchildren():
        if child.tag == "br":
            if previous_br:
                return True
            previous_br = not (child.tail or "").strip()
        else:
            previous_br = False
    return False


def _may_read_more(text: str) -> bool:
    """Short, and holding a colon (the label's last char): most paragraphs have none, and this
    scan is cheaper than the case-blind label regex tried at the line's start."""
    return len(text) <= _READ_MORE_MAX and (":" in text or "：" in text)


def _is_read_more_line(line: str) -> bool:
    return _may_read_more(line) and _READ_MORE_RE.match(line) is not None


def _is_embed_container(el: Element) -> bool:
    # The new layout's classes are hashed: its widgets say what they are in
    # data-tracking-name ("newsletter-teaser") and buttons in role.
    if el.get("role") == "button":
        return True
    cls = " ".join((el.get("class") or "", el.get("id") or "", el.get("data-tracking-name") or ""))
    # A C-filtered walk for the first media element: ~3x cheaper than the XPath boolean.
    return (
        bool(_EMBED_CLASS_RE.search(cls))
        or next(el.iterdescendants(*_MEDIA_TAGS), None) is not None
    )


def body_blocks(body: Element) -> list[str]:
    """An article body's prose blocks: its closing lines dropped, then container_blocks."""
    drop_closing_lines(body)
    return container_blocks(body)


def container_blocks(container: Element, depth: int = 0) -> list[str]:
    """Prose blocks of a body container in document order.

    Block children (p, h2, lists, quotes) give their lines; runs of bare text and inline
    elements between blocks form paragraphs (split at <br><br>); divs are descended into
    only when they hold prose and no media or embed (picBox captions, galleries, players
    and ads are divs with an image or an embed class and never reach the text).
    """
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        joined = "".join(run)
        run.clear()
        if joined and not joined.isspace():  # mostly the markup's newlines between blocks
            line = clean_line(joined)
            if line and not is_clutter_line(line):
                out.append(line)

    run.append(container.text or "")
    previous_br = False
    for child in container.iterchildren():
        tag = child.tag
        if not isinstance(tag, str):
            tag = ""
        if tag == "br":
            if previous_br:
                flush()
            else:
                run.append(" ")
            # Only a <br> followed by nothing but whitespace can pair with the next one.
            previous_br = not (child.tail or "").strip()
            run.append(child.tail or "")
            continue
        previous_br = False
        if tag in INLINE_TAGS:
            if not has_class(child, "rich-text-ad"):
                _drop_non_prose(child)
                run.append(raw_text(child))
        elif tag in PROSE_TAGS:
            flush()
            if tag in _PLAIN_BLOCKS and not len(child):
                # A paragraph or heading of bare text (most of a body): block_lines' result
                # without its walks (no children: nothing to drop, no links, no <br>s).
                text = clean_line(child.text)
                if (
                    text
                    and not (tag == "p" and _is_read_more_line(text))
                    and not is_clutter_line(text)
                ):
                    out.append(text)
            elif not _is_embed_block(child):
                out.extend(block_lines(child))
        elif tag in _WRAPPERS and depth < _MAX_DEPTH and not _is_embed_container(child):
            flush()
            out.extend(container_blocks(child, depth + 1))
        elif tag == "table" and depth < _MAX_DEPTH and not _is_embed_container(child):
            flush()
            out.extend(table_lines(child, depth + 1))
        else:
            flush()
        run.append(child.tail or "")
    flush()
    return out


_CELL_SEPARATOR = " | "
_BLOCK_IN_CELL = ("p", "div", "ul", "ol", "h2", "h3", "blockquote", "table")


def table_lines(table: Element, depth: int = 0) -> list[str]:
    """A data table in the body: its caption, then one line per row, cells joined by " | "
    (the form trafilatura's fallback gives tables too). A table whose cells hold paragraphs
    is page layout around prose: its cells are read as containers instead."""
    rows = [tr for tr in table.iter("tr") if _own_table(tr, table)]
    if any(
        next(cell.iterchildren(*_BLOCK_IN_CELL), None) is not None
        for tr in rows
        for cell in tr.iterchildren("td", "th")
    ):
        out: list[str] = []
        for tr in rows:
            for cell in tr.iterchildren("td", "th"):
                out.extend(container_blocks(cell, depth + 1))
        return out
    lines = []
    caption = next(table.iterchildren("caption"), None)
    if caption is not None:
        lines.append(element_text(caption))
    for tr in rows:
        cells = [_cell_text(c) for c in tr.iterchildren("td", "th")]
        if any(cells):
            lines.append(_CELL_SEPARATOR.join(cells).strip())
    return [line for line in lines if line and not is_clutter_line(line)]


def _cell_text(cell: Element) -> str:
    _drop_non_prose(cell)  # credits out, <br> and block edges spaced ("Ja<br>Nein")
    return element_text(cell) or ""


def _own_table(tr: Element, table: Element) -> bool:
    """A row of this table, not of one nested in its cells."""
    return next(tr.iterancestors("table"), None) is table


def _is_embed_block(el: Element) -> bool:
    """Tweets and other embeds DW writes as <blockquote class="tweet embed" data-id=..>."""
    if el.tag != "blockquote":
        return False
    cls = el.get("class") or ""
    return bool(_EMBED_CLASS_RE.search(cls) or "tweet" in cls or "instagram" in cls)


def join_blocks(blocks: list[str]) -> str | None:
    """Paragraphs separated by one blank line; None when nothing is left."""
    out = [b for b in blocks if b]
    return "\n\n".join(out) if out else None


# Bytes that start no char of _CJK_RE's ranges in UTF-8 (U+3040-U+D7AF start with E3-ED,
# U+F900-U+FAFF with EF): text whose UTF-8 holds none of the others has no CJK char.
_NOT_CJK_LEADS = bytes(b for b in range(256) if not (0xE3 <= b <= 0xED or b == 0xEF))


def _no_cjk(text: str) -> bool:
    """True when text has no CJK char. Latin-1 text needs no look; other text (typographic
    quotes, Cyrillic, Arabic) is ruled out by its UTF-8 lead bytes, two C passes 4x cheaper
    than the regex, which only text with such a byte pays for."""
    if _is_latin1(text):
        return True
    leads = text.encode("utf-8", "surrogatepass").translate(None, _NOT_CJK_LEADS)
    return not leads or not _CJK_RE.search(text)


def word_count(text: str | None) -> int:
    """Words for spaced scripts, characters for CJK (which does not separate words)."""
    if not text:
        return 0
    if _no_cjk(text):
        return len(text.split())
    cjk = len(_CJK_RE.findall(text))
    if cjk:
        return cjk + len(_WORD_RE.findall(_CJK_RE.sub(" ", text)))
    return len(text.split())


def block_word_count(text: str | None) -> int:
    """word_count of join_blocks output, without splitting it into a list of words.

    Its lines are clean (clean_line: single spaces, no other whitespace), so the words are
    the spaces plus one per line; about 3x cheaper than str.split on a 10 KB article.
    """
    if not text:
        return 0
    if _no_cjk(text):
        return text.count(" ") + text.count("\n\n") + 1
    return word_count(text)


def clean_fallback_text(text: str | None, drop: tuple[str | None, ...] = ()) -> str | None:
    """Generic-extractor output minus clutter lines and the lines that are other fields."""
    if not text:
        return None
    skip = {clean_line(d) for d in drop if d}
    lines = []
    for raw in re.split(r"\n+", text):
        line = clean_line(raw)
        if not line or line in skip or CLUTTER_LINE_RE.match(line) or _READ_MORE_RE.match(line):
            continue
        lines.append(line)
    return join_blocks(lines)
