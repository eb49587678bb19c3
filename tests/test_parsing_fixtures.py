"""Fixture pages in DW markup (tests/fixtures/pages) against their expected records.

Regenerate expected files with tests/fixtures/regenerate.py after a deliberate change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dwscraper.parsing import parse_article
from dwscraper.record import FIELDS, ordered

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGES = FIXTURES / "pages"
sys.path.insert(0, str(FIXTURES))
from regenerate import NOT_FROM_PARSER, is_empty  # noqa: E402

NAMES = sorted(p.stem for p in PAGES.glob("*.html"))


def load(name: str) -> tuple[dict, dict]:
    expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    record = ordered(parse_article((PAGES / f"{name}.html").read_bytes(), expected["url"]))
    return record, expected


@pytest.mark.parametrize("name", NAMES)
def test_record_matches_expected_field_by_field(name):
    record, expected = load(name)
    assert list(record) == list(FIELDS)
    for field in FIELDS:
        assert record[field] == expected[field], f"{name}: {field}"


@pytest.mark.parametrize("name", NAMES)
def test_expected_values_are_not_empty_where_the_page_has_them(name):
    _, expected = load(name)
    allowed = set(expected["_allow_empty"])
    assert allowed <= set(FIELDS)
    empty = [
        f for f in FIELDS if f not in NOT_FROM_PARSER and f not in allowed and is_empty(expected[f])
    ]
    assert not empty, f"{name}: empty expected values {empty}"
    # Core fields can never be allowed empty on a fixture article.
    assert not allowed & {"id", "url", "title", "text", "language", "page_type", "extractor"}


def test_fixtures_cover_layouts_editions_and_page_types():
    records = [load(name)[0] for name in NAMES]
    assert {r["extractor"] for r in records} == {"dw-new", "dw-old", "dw-state", "fallback"}
    assert {r["page_type"] for r in records} >= {"article", "video", "audio", "gallery", "liveblog"}
    langs = {r["language"] for r in records}
    assert {"en", "de", "zh"} <= langs
    assert langs & {"ar", "fa-ir", "fa-af", "ps", "ur"}
    for layout in ("dw-new", "dw-old"):
        assert {"en", "de"} <= {r["language"] for r in records if r["extractor"] == layout}
    assert any(r["agencies"] and r["editors"] for r in records)
    assert any(r["teaser"] is None and r["text"] for r in records if r["extractor"] == "dw-old")


@pytest.mark.parametrize("name", NAMES)
def test_no_clutter_in_fixture_text(name):
    from dwscraper.evaluate import clutter_lines

    record, _ = load(name)
    assert clutter_lines(record["text"]) == []
    for junk in ("Skip to", "springen", "Advertisement", "Anzeige", "Read more", "Image:", "Bild:"):
        assert junk not in (record["text"] or ""), f"{name}: {junk!r} in text"
    if record["teaser"]:
        assert record["teaser"] not in record["text"]
    if record["title"]:
        assert not record["text"].startswith(record["title"])


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("new_")])
def test_hashed_class_names_do_not_matter(name):
    # sc-* classes are styled-components build hashes: a redeploy renames them all.
    import re

    html = (PAGES / f"{name}.html").read_text(encoding="utf-8")
    counter = iter(range(10**6))
    renamed = re.sub(r"\bsc-[A-Za-z0-9]+", lambda m: f"sc-q{next(counter)}x", html)
    assert renamed != html
    expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    assert ordered(parse_article(renamed, expected["url"])) == ordered(
        parse_article(html, expected["url"])
    )


@pytest.mark.parametrize("name", NAMES)
def test_utf8_bytes_and_decoded_text_give_one_record(name):
    # The crawl hands UTF-8 pages over as raw bytes (pages.parser_input), tools and older
    # callers as str: a record must not depend on which.
    raw = (PAGES / f"{name}.html").read_bytes()
    url = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))["url"]
    as_bytes = parse_article(raw, url, "utf-8")
    assert as_bytes == parse_article(raw.decode("utf-8", "replace"), url)
    assert as_bytes["text"]
