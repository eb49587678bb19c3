"""Issue 4 targets on the real DW pages in ../shared/dw (skipped when that folder is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dwscraper.evaluate import PageResult, evaluate_dir, render

SHARED = Path(os.environ.get("DW_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
DW_DIR = SHARED / "dw" if (SHARED / "dw").is_dir() else SHARED


@pytest.fixture(scope="module")
def results() -> list[PageResult]:
    if not (DW_DIR / "pages").is_dir() or not (DW_DIR / "truth").is_dir():
        pytest.skip(f"no real DW pages with truth at {DW_DIR}")
    found = evaluate_dir(DW_DIR, repeat=1, with_trafilatura=False)
    if not found:
        pytest.skip(f"no pages with truth in {DW_DIR}")
    print("\n" + render(found))
    return found


def test_text_f1_on_pages_with_full_body(results):
    f1s = {r.name: r.ours.text_f1 for r in results if r.has_body}
    assert f1s, "expected pages with a full truth body"
    assert all(v is not None for v in f1s.values())
    assert sum(f1s.values()) / len(f1s) >= 0.995, f1s
    assert min(f1s.values()) >= 0.99, f1s


@pytest.mark.parametrize("field", ["title", "authors", "published", "topics", "teaser_exact"])
def test_every_known_field_is_exact(results, field):
    wrong = [r.name for r in results if getattr(r.ours, field) is False]
    known = [r.name for r in results if getattr(r.ours, field) is not None]
    assert known, f"no truth knows {field}"
    assert not wrong, f"{field} wrong on {wrong}"


def test_every_snippet_check_passes(results):
    failures = {r.name: r.ours.snippet_failures for r in results if r.ours.snippet_failures}
    assert sum(r.ours.snippets_total for r in results) > 0
    assert not failures


def test_no_clutter_lines(results):
    clutter = {r.name: r.ours.clutter for r in results if r.ours.clutter}
    assert not clutter


def test_every_page_is_read_by_a_dw_reader(results):
    # The real pages are all DW layouts: none may need the generic fallback.
    assert {r.extractor for r in results} <= {"dw-new", "dw-old"}
