"""Shared pytest fixtures: the local DW mirror (tests/dwsite.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dwsite import DWSite


@pytest.fixture
def dwsite() -> Iterator[DWSite]:
    """A started local DW mirror with the default articles; mutate it freely."""
    site = DWSite.default().start()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def empty_dwsite() -> Iterator[DWSite]:
    """A started local DW mirror with no articles (add your own, or generate())."""
    site = DWSite().start()
    try:
        yield site
    finally:
        site.stop()


_REPO_OUTPUT = Path(__file__).resolve().parents[1] / "output"


def _listing() -> set[str]:
    return {str(p.relative_to(_REPO_OUTPUT)) for p in _REPO_OUTPUT.rglob("*")}


@pytest.fixture(autouse=True, scope="session")
def _repository_output_untouched() -> Iterator[None]:
    """Tests write under tmp_path only: a crawl falling back to the default output/ (say, a
    WARC directory derived from a blanked DW_OUTPUT_DIR) fails the run here."""
    before = _listing() if _REPO_OUTPUT.is_dir() else set()
    yield
    after = _listing() if _REPO_OUTPUT.is_dir() else set()
    new = sorted(after - before)
    assert not new, f"tests wrote into the repository's output/: {new[:5]}"
