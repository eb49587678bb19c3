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
