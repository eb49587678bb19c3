"""The committed JSON Schema is the record contract: it and the code stay in step."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dwsite import default_articles, make_article

from dwscraper import record as rec_mod
from dwscraper.parsing import parse_article
from dwscraper.pipelines import SCHEMA_PATH, normalize_record, schema_errors, schema_validator
from dwscraper.urls import canonical_url

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pages"
_CANONICAL_RE = re.compile(r'<link[^>]+rel="canonical"[^>]+href="([^"]+)"', re.I)


def test_schema_is_valid_draft_2020_12():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema_validator()  # check_schema raises on an invalid schema


def test_schema_properties_are_the_record_fields_in_order():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert list(schema["properties"]) == list(rec_mod.FIELDS)
    assert schema["required"] == list(rec_mod.FIELDS)
    assert schema["additionalProperties"] is False


def test_new_record_shape_matches_schema_types():
    """An empty record differs from a valid one only in the required values."""
    errors = schema_errors(rec_mod.new_record())
    failing = {e.split(":", 1)[0] for e in errors}
    assert failing <= {"id", "url", "word_count", "fetched_at", "content_hash"}


def _mirror_pages():
    arts = [
        *default_articles(),
        make_article(4001, "de", "old", "Kurzmeldung", paragraphs=["Ein Satz."]),
    ]
    return [pytest.param(a.html(), a.url, id=f"dwsite-{a.cid}-{a.layout}") for a in arts]


def _fixture_pages():
    out = []
    for html_path in sorted(FIXTURES.glob("**/*.html")):
        url = None
        meta = html_path.with_suffix(".json")
        if meta.exists():
            try:
                url = json.loads(meta.read_text(encoding="utf-8")).get("url")
            except (ValueError, AttributeError):
                url = None
        html = html_path.read_text(encoding="utf-8", errors="replace")
        if not url:
            m = _CANONICAL_RE.search(html)
            url = m.group(1) if m else None
        if url:
            out.append(pytest.param(html, url, id=f"fixture-{html_path.name}"))
    return out


@pytest.mark.parametrize(("html", "url"), _mirror_pages() + _fixture_pages())
def test_records_from_fixture_pages_validate(html, url):
    record = normalize_record(parse_article(html, url))
    assert record["id"] and record["url"] == canonical_url(url)
    assert schema_errors(record) == []


def _mutations(good):
    bad_values = {
        "schema_version": [2, "1", True],
        "id": ["s-123", "a-", 5, None],
        "url": ["http://www.dw.com/en/x/a-1", "https://www.dw.com/en/x/a-1?maca=1", None],
        "short_url": ["https://p.dw.com/x", ""],
        "language": ["xx", "EN"],
        "page_type": ["section"],
        "title": ["", 3],
        "text": [""],
        "authors": ["Jane", [""], ["a", "a"], [1]],
        "published": ["2024-01-30T14:13:12+01:00", "30.01.2024", "2024-01-30T14:13Z", 20240130],
        "modified": ["2024-1-3"],
        "image": ["x", {"url": "x", "caption": None, "credit": None}, {"url": None}],
        "word_count": [-1, 1.5, None, True],
        "revision": [0, "1"],
        "fetched_at": [None, "2024-01-30"],
        "content_hash": ["sha256:xyz", None],
        "warc_file": [1],
    }
    for field, values in bad_values.items():
        for v in values:
            r = dict(good)
            r[field] = v
            yield field, v, r
    r = dict(good)
    del r["title"]
    yield "title", "missing", r
    r = dict(good)
    r["extra"] = 1
    yield "extra", "unknown key", r


def test_compiled_check_agrees_with_jsonschema():
    from dwscraper.pipelines import fast_schema_check

    check = fast_schema_check()
    validator = schema_validator()
    goods = [normalize_record(parse_article(a.html(), a.url)) for a in default_articles()]
    for good in goods:
        good = rec_mod.ordered(good)
        assert check(good) and validator.is_valid(good)
    for field, value, bad in _mutations(rec_mod.ordered(goods[0])):
        assert not check(bad) and not validator.is_valid(bad), (field, value)
    edge = dict(rec_mod.ordered(goods[0]), published="2024-01-30", revision=3, image=None)
    assert check(edge) and validator.is_valid(edge)
