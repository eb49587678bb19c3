"""dwscraper.pages: the page checks the spider and the re-extraction share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dwscraper.pages import Skip, is_page_type, record_from_page
from tests.dwsite import make_article

ROOT = Path(__file__).resolve().parents[1]


def _never() -> tuple[str, None]:
    raise AssertionError("text decoded for a page that is not parsed")


@pytest.mark.parametrize(
    ("body", "ctype", "url", "text", "reason"),
    [
        (b"<html>x</html>", "text/html", "https://www.dw.com/en/x/a-1", None, "not_html"),
        (b"%PDF-1.4", "application/pdf", "https://www.dw.com/en/x/a-1", _never, "not_html"),
        (b" \n ", "text/html", "https://www.dw.com/en/x/a-1", _never, "empty_page"),
        (b"<html>x</html>", "text/html", "https://www.dw.com/en/x/s-9", _never, "no_article"),
    ],
)
def test_checks_before_parsing_skip_without_decoding(body, ctype, url, text, reason):
    record, skipped = record_from_page(body, ctype, url, text)
    assert record is None
    assert skipped is not None and skipped.reason == reason


def test_article_page_becomes_record():
    a = make_article(1)
    html = a.html()
    record, skipped = record_from_page(
        html.encode(), "text/html; charset=utf-8", a.url, lambda: (html, None)
    )
    assert skipped is None
    assert record is not None and record["id"] == "a-1" and record["url"] == a.url


def test_parser_exception_is_parse_error():
    def boom() -> tuple[str, None]:
        raise ValueError("cannot decode")

    record, skipped = record_from_page(b"<html/>", "", "https://www.dw.com/en/x/a-1", boom)
    assert record is None and skipped == Skip("parse_error", "ValueError('cannot decode')")


def test_non_article_markup_is_no_article():
    html = "<html><body><p>nothing here</p></body></html>"
    record, skipped = record_from_page(
        html.encode(), "text/html", "https://www.dw.com/en/x/a-1", lambda: (html, None)
    )
    assert record is None and skipped is not None and skipped.reason == "no_article"


def test_page_type_rule():
    assert is_page_type("") and is_page_type("Text/HTML; charset=utf-8")
    assert is_page_type("application/xhtml+xml")
    assert not is_page_type("image/png") and not is_page_type("text/plain")


def test_pages_module_does_not_import_scrapy():
    code = (
        "import sys\nimport dwscraper.pages\n"
        "print(sorted(m for m in sys.modules if m == 'scrapy' or m.startswith('scrapy.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


WORDS = "Grüße aus Köln – „Zitat“ €"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (f"<p>{WORDS}</p>".encode(), "text/html; charset=iso-8859-1"),  # UTF-8 labelled Latin-1
        (f"<p>{WORDS}</p>".encode("cp1252"), "text/html; charset=utf-8"),  # the reverse
        (f"<p>{WORDS}</p>".encode(), "text/html; charset=utf-8"),  # labelled right
    ],
)
def test_reextract_decodes_a_page_as_the_crawl_does(body, ctype):
    # The crawl's AccountingMiddleware decodes by what the bytes are
    # (test_hostile_middlewares.test_pages_are_decoded_with_their_real_charset);
    # re-extraction must read the archived bytes the same way, or its records differ.
    from dwscraper.parsing.document import decode
    from dwscraper.reextract import page_input
    from dwscraper.warc import ArchivedResponse

    url = "https://www.dw.com/de/x/a-1"
    page = ArchivedResponse(
        url, url, "2024-01-30T14:13:12Z", 200, [("Content-Type", ctype)], body, "f", "r"
    )
    read = page_input(page)
    assert read is not None
    data, encoding = read()
    text = decode(data, encoding)
    assert WORDS in text and "Ã" not in text


def test_parser_verdicts_keep_their_reason(monkeypatch):
    # Random bytes served as text/html: the parser's guard says not_html.
    junk = "".join(chr(c) for c in range(1, 32)) * 100
    record, skipped = record_from_page(
        junk.encode(), "text/html", "https://www.dw.com/en/x/a-1", lambda: (junk, None)
    )
    assert record is None and skipped == Skip("not_html", "the parser found no HTML")
    # A crash inside the parser's assembly is an error (parse_error), not a quiet no_article.
    import dwscraper.parsing.article as article

    def crash(*_a, **_k):
        raise RuntimeError("reader bug")

    monkeypatch.setattr(article, "_assemble", crash)
    html = make_article(1).html()
    record, skipped = record_from_page(
        html.encode(), "text/html", "https://www.dw.com/en/x/a-1", lambda: (html, None)
    )
    assert record is None and skipped == Skip("parse_error", "extraction_error")


PAGE = "<html><head>{meta}<title>Überschrift</title></head><body><article><h1>Überschrift</h1>"
PAGE += '<div class="rich-text">{body}</div></article></body></html>'


@pytest.mark.parametrize(
    ("ctype", "body", "given"),
    [
        ("text/html; charset=utf-8", PAGE.format(meta="", body="").encode(), bytes),
        ("text/html", PAGE.format(meta='<meta charset="utf-8">', body="").encode(), bytes),
        ("text/html; charset=windows-1252", PAGE.format(meta="", body="").encode("cp1252"), str),
        ("text/html; charset=koi8-r", "<p>Привет</p>".encode("koi8-r"), str),
    ],
)
def test_parser_input_is_raw_bytes_only_for_utf8(ctype, body, given):
    from scrapy.http import HtmlResponse

    from dwscraper.pages import parser_input

    response = HtmlResponse(
        "https://www.dw.com/de/x/a-1", headers={"Content-Type": ctype}, body=body
    )
    data, encoding = parser_input(response)
    assert isinstance(data, given)
    if given is bytes:
        assert data is response.body and encoding == "utf-8"
    else:
        assert data == response.text and encoding is None


def test_transport_charset_wins_over_the_pages_meta_like_a_browser():
    from dwscraper.parsing import parse_article

    # UTF-8 bytes whose <meta> says Latin-1: the header's (Scrapy's) charset is what counts.
    html = PAGE.format(meta='<meta charset="iso-8859-1">', body=f"<p>{WORDS} Übermut</p>")
    url = "https://www.dw.com/de/x/a-1"
    rec = parse_article(html.encode(), url, "utf-8")
    assert rec["title"] == "Überschrift" and "Übermut" in rec["text"]
    # Without the transport's word too: bytes that are valid UTF-8 are UTF-8, whatever the
    # <meta> says (a saved page that says Latin-1 is mislabelled UTF-8, as the crawl decides).
    assert "Übermut" in parse_article(html.encode(), url)["text"]
    # Bytes that are not UTF-8 follow their <meta> (or Windows-1252 if it claims UTF-8).
    latin = PAGE.format(meta='<meta charset="utf-8">', body=f"<p>{WORDS} Übermut</p>")
    assert "Übermut" in parse_article(latin.encode("cp1252"), url)["text"]
    # A BOM beats both.
    rec = parse_article(b"\xef\xbb\xbf" + html.encode(), url, "cp1252")
    assert "Übermut" in rec["text"]
    # A legacy charset from the transport decodes the bytes, whatever the <meta> says.
    cyr = PAGE.format(meta='<meta charset="utf-8">', body="<p>Привет мир – «цитата»</p>")
    cyr = cyr.replace("Überschrift", "Заголовок")
    rec = parse_article(cyr.encode("cp1251"), url, "windows-1251")
    assert rec["title"] == "Заголовок" and rec["text"] == "Привет мир – «цитата»"


_RICH = PAGE.format(meta="", body=f"<p>{WORDS} Übermut ist ein schönes Wort.</p>")
_BOMB = "".join(f' a{i}="€"' for i in range(513))
_SAME_RECORD_BODIES = {
    "plain": _RICH.encode(),
    "cut 4-byte char at the end": _RICH.encode()[:-30] + b"\xf0\x9f",
    "cut 3-byte char at the end": _RICH.encode()[:-30] + b"\xe2\x82",
    "broken sequence at the end": _RICH.encode()[:-30] + b"\xe2\x82x",
    "invalid byte in the middle": _RICH.encode().replace("Übermut".encode(), b"caf\xe9 ok"),
    "NUL up front": _RICH.replace("<title>", "<title>\x00").encode(),
    "BOM then control characters": b"\xef\xbb\xbf" + ("\x01" * 2400).encode() + _RICH.encode(),
    "magic-number text up front": ("ID3 " + _RICH).encode(),
    "long tag with multi-byte attributes": _RICH.replace(
        '<div class="rich-text">', f'<div class="rich-text"{_BOMB}>'
    ).encode(),
    "XML declaration": b'<?xml version="1.0" encoding="iso-8859-1"?>' + _RICH.encode(),
}


@pytest.mark.parametrize("name", sorted(_SAME_RECORD_BODIES))
@pytest.mark.parametrize("corrected", [True, False], ids=["middleware", "no-middleware"])
def test_bytes_fast_path_gives_the_record_response_text_gives(name, corrected):
    # The crawl hands UTF-8 pages over undecoded (parser_input); whatever the bytes, the
    # record must be the one Scrapy's decoded response.text gave (with or without the
    # crawl's charset correction in front).
    from scrapy.http import HtmlResponse

    from dwscraper.middlewares import real_encoding
    from dwscraper.pages import parser_input
    from dwscraper.parsing import parse_article

    url = "https://www.dw.com/de/x/a-1"
    headers = {"Content-Type": "text/html; charset=utf-8"}
    response = HtmlResponse(url, headers=headers, body=_SAME_RECORD_BODIES[name])
    if corrected and (real := real_encoding(response)):
        response = response.replace(encoding=real)
    data, encoding = parser_input(response)
    assert parse_article(data, url, encoding) == parse_article(response.text, url)
