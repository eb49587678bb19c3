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
