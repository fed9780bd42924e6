"""Fixtures for the reading layer's tests: the shared template fixtures, and text loading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fargate_api.templates import StackSet
from unit.templates.support import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"

LoadText = Callable[..., StackSet]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def load_text() -> LoadText:
    """Loads templates given as text: load_text(template) or load_text(root, files={...})."""
    return load
