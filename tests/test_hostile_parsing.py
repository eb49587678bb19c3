"""Hostile pages against parse_article: it never raises, never leaks hidden text, stays bounded."""

from __future__ import annotations

import random

import pytest
from dwsite import make_article

from dwscraper.parsing import parse_article
from dwscraper.parsing.guard import MAX_ATTRIBUTES, guard, looks_binary
from dwscraper.record import FIELDS

URL = "https://www.dw.com/en/some-story/a-68117411"
GOOD_P = "The harbor council approved a new ferry line on Tuesday after a long debate."


def page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>"
        f"<article><h1>Invented headline</h1><div class='rich-text'>{body}</div></article>"
        "</body></html>"
    )


def complete(rec):
    assert isinstance(rec, dict)
    assert all(k in rec for k in FIELDS)
    return rec


def test_200000_deep_nesting_does_not_raise():
    deep = "<div>" * 200_000 + "<p>deep</p>" + "</div>" * 200_000
    rec = complete(parse_article(page(f"<p>{GOOD_P}</p>" + deep), URL))
    assert rec["text"] is None or GOOD_P in rec["text"]


def test_200000_deep_unclosed_nesting_does_not_raise():
    complete(parse_article("<html><body>" + "<span><b>" * 100_000, URL))


def test_50mb_text_node_does_not_raise():
    big = "word " * (10 * 1024 * 1024)  # 50 MB
    rec = complete(parse_article(page(f"<p>{GOOD_P}</p><p>{big}</p>"), URL))
    assert rec["text"] is None or rec["text"].startswith(GOOD_P)


def test_attribute_bomb_is_defused():
    attrs = " ".join(f"a{i}=x" for i in range(100_000))
    hostile = page(f"<p>{GOOD_P}</p><p {attrs}>tail</p>")
    data, refused = guard(hostile)
    assert refused is None
    assert len(data) < len(hostile) // 10  # the bomb's attributes are gone
    rec = complete(parse_article(hostile, URL))
    assert rec["text"] and GOOD_P in rec["text"]


def test_real_sized_tags_are_untouched():
    attrs = " ".join(f"a{i}=x" for i in range(MAX_ATTRIBUTES // 2))
    ok = page(f'<p {attrs} d="{"M1,2 " * 2000}">{GOOD_P}</p>')
    assert guard(ok) == (ok, None)


def test_misleading_json_ld():
    ld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": 5, '
        '"author": 42, "datePublished": "31.02.2024 25:61", "dateModified": {"a": 1}, '
        '"image": {"url": 7}, "keywords": [1, null, "ok"]}</script>'
        "<title>Real title – DW – 01.02.2024</title>"
    )
    rec = complete(parse_article(page(f"<p>{GOOD_P}</p>", ld), URL))
    assert rec["title"] != "5"
    assert "42" not in rec["authors"]
    assert rec["published"] is None  # an impossible date is no date, never a guess
    assert rec["modified"] is None
    assert rec["text"] == GOOD_P


@pytest.mark.parametrize(
    "ld",
    [
        "{not json",
        "[" * 50_000,
        '{"@graph": [null, 1, "x", {"@type": ["NewsArticle"], "author": [{"name": null}]}]}',
        '{"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Deutsche Welle"}}',
        '{"headline": "' + "x" * 100_000 + '"}',
    ],
)
def test_broken_json_ld_keeps_the_text(ld):
    head = f'<script type="application/ld+json">{ld}</script>'
    rec = complete(parse_article(page(f"<p>{GOOD_P}</p>", head), URL))
    assert rec["text"] == GOOD_P
    assert "Deutsche Welle" not in rec["authors"]


def test_script_style_comments_never_reach_text():
    body = (
        f"<p>{GOOD_P}</p>"
        "<script>document.write('<p>INJECTED BY SCRIPT</p>')</script>"
        "<style>p::after { content: 'STYLE TEXT' }</style>"
        "<!-- <p>COMMENTED OUT</p> -->"
        "<noscript><p>NOSCRIPT TEXT</p></noscript>"
        "<template><p>TEMPLATE TEXT</p></template>"
        "<p>Second paragraph stays.</p>"
    )
    rec = complete(parse_article(page(body), URL))
    assert rec["text"] == f"{GOOD_P}\n\nSecond paragraph stays."


def test_truncated_page_parses_as_far_as_it_goes():
    full = page(f"<p>{GOOD_P}</p><p>Second paragraph is cut here and never ends")
    rec = complete(parse_article(full[: full.index("never")], URL))
    assert rec["text"].startswith(GOOD_P)
    assert "Second paragraph is cut here" in rec["text"]


@pytest.mark.parametrize(
    ("encoding", "prefix", "declare"),
    [
        ("latin-1", b"", ""),
        ("cp1252", b"", ""),
        ("utf-8", b"\xef\xbb\xbf", ""),
        ("utf-8", b"", "<meta charset='utf-8'>"),
        ("cp1252", b"", "<meta charset='iso-8859-1'>"),
    ],
)
def test_charsets(encoding, prefix, declare):
    words = "Grüße aus Köln, ça va" + (" – „Zitat“ €" if encoding != "latin-1" else "")
    html = (
        f"<html><head>{declare}</head><body><article><div class='rich-text'>"
        f"<p>{words} und noch ein paar Wörter.</p></div></article></body></html>"
    )
    rec = complete(parse_article(prefix + html.encode(encoding), URL))
    assert rec["text"] == f"{words} und noch ein paar Wörter."


def test_xml_bomb_and_xxe_in_html_are_inert():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    )
    rec = complete(parse_article(bomb + page(f"<p>{GOOD_P}</p><p>&lol2; &xxe;</p>"), URL))
    dumped = repr(rec)
    assert "root:" not in dumped  # /etc/passwd never read
    assert "lollol" not in dumped  # entities never expanded


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40,
        b"\xff\xd8\xff\xe0" + bytes(500),
        b"PK\x03\x04" + bytes(200),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        random.Random(5).randbytes(50_000),
    ],
)
def test_binary_is_not_an_article(data):
    assert looks_binary(data)
    rec = complete(parse_article(data, URL))
    assert rec["text"] is None
    assert rec.get("_not_article") is True


@pytest.mark.parametrize("data", [b"", b"   ", "", "\x00", b"<", "<html>", 12345, None])
def test_degenerate_inputs(data):
    rec = complete(parse_article(data, URL))
    assert rec["text"] is None


def test_real_pages_are_not_binary():
    for layout in ("new", "old"):
        for lang in ("en", "de", "ar"):
            html = make_article(5, lang, layout, "Ein Titel").html()
            assert not looks_binary(html)
            assert not looks_binary(html.encode("utf-8"))
            assert not looks_binary(html.encode("utf-16"))


def test_a_tiny_page_ending_in_a_cut_character_is_judged_as_its_text():
    # The bytes fast path may forgive a char cut by its own 8 KB slice, never one the
    # page itself ends in: then the str path decides, as for the decoded text.
    data = b"<p>x\xe2\x82"
    url = "https://www.dw.com/en/x/a-1"
    as_bytes = parse_article(data, url, "utf-8")
    as_text = parse_article(data.decode("utf-8", "replace"), url)
    assert as_bytes.get("_skip_reason") == as_text.get("_skip_reason") == "not_html"


def test_replacement_characters_up_front_are_judged_as_text_with_bytes_too():
    # Mostly U+FFFD (a page decoded wrongly once already): not a page, whether it comes as
    # bytes (the fast path looks for U+FFFD's UTF-8) or as text.
    data = b"<html><body><p>" + "\ufffd".encode() * 400 + b"</p></body></html>"
    url = "https://www.dw.com/en/x/a-1"
    as_bytes = parse_article(data, url, "utf-8")
    as_text = parse_article(data.decode("utf-8"), url)
    assert as_bytes.get("_skip_reason") == as_text.get("_skip_reason") == "not_html"
