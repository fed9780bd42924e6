"""Fixtures of the functional tier.

`synthesized` runs the real CLI once per variant and worker (pytest-xdist) and hands
out the output folder. The reference pattern is reached through
`support.require_reference_dir()`, called inside the tests that need it, so that its
absence makes them FAIL (never skip, never error in setup).
"""

from __future__ import annotations

import pytest

from functional.support import SynthCache


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthCache:
    return SynthCache(tmp_path_factory.mktemp("synth"))
