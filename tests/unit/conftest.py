"""Fixtures of the unit tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from unit.support import REFERENCE_DIR


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The read-only reference pattern beside the repository; absent, the test fails."""
    if not (REFERENCE_DIR / "parent.yml").is_file():
        pytest.fail(
            f"the reference templates are missing: expected {REFERENCE_DIR} (the repository's "
            "sibling folder shared/reference/public-facing-api-ecs-fargate). Put a copy of "
            "shared/ next to the repository; do not copy the reference into the repository.",
            pytrace=False,
        )
    return REFERENCE_DIR
