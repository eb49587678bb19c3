"""The record contract: field order, empty values, content hash.

The JSON Schema in dwscraper/record.schema.json describes the same shape; a test keeps
the two in step.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SCHEMA_VERSION = 1

# Keys in output order (../shared/DESIGN.md, plus the fields later issues add).
FIELDS: tuple[str, ...] = (
    "schema_version",
    "id",
    "url",
    "short_url",
    "language",
    "page_type",
    "title",
    "teaser",
    "text",
    "authors",
    "published",
    "modified",
    "published_raw",
    "section",
    "topics",
    "keywords",
    "image",
    "editors",
    "agencies",
    "word_count",
    "extractor",
    "revision",
    "fetched_at",
    "content_hash",
    "warc_file",
    "warc_record_id",
)
LIST_FIELDS = frozenset({"authors", "topics", "keywords", "editors", "agencies"})

# What a reader would call "the article changed": a new revision is written only when these do.
HASHED_FIELDS: tuple[str, ...] = ("title", "teaser", "text", "authors", "image")


def new_record() -> dict[str, Any]:
    """A record with every field present: lists empty, the rest null."""
    rec: dict[str, Any] = {k: ([] if k in LIST_FIELDS else None) for k in FIELDS}
    rec["schema_version"] = SCHEMA_VERSION
    return rec


def ordered(record: dict[str, Any]) -> dict[str, Any]:
    """The record's keys in FIELDS order; unknown keys (private ones start with '_') dropped."""
    base = new_record()
    for k in FIELDS:
        if k in record:
            base[k] = record[k]
    return base


# json.dumps(..., ensure_ascii=False, sort_keys=True), built once instead of per record.
_HASH_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def content_hash(record: dict[str, Any]) -> str:
    """sha256 over the reader-visible content, stable across runs and key order."""
    payload = _HASH_JSON.encode({k: record.get(k) for k in HASHED_FIELDS})
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def json_line(record: dict[str, Any]) -> str:
    """One output line's JSON, without the newline: compact, non-ASCII text kept as is.

    The one JSON form of records: the run's writer, `python -m dwscraper.reextract` and
    `python -m dwscraper.extract` all use it, so their lines compare with the run's. Here,
    not in pipelines, so the Scrapy-free tools need not import Scrapy.
    """
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
