"""Rendered HAProxy configurations as haproxy itself reads them: `haproxy -c`.

tests/unit/twin/test_haproxy_config.py asserts on the text of every configuration in
haproxy_scenarios.CONFIGS; here the real haproxy must accept each of them, without a
warning, since text that looks right but that haproxy rejects or reads differently is
the failure that matters. `haproxy -c` needs no root, but it needs haproxy: this tier's
gate reports the tests as not run when it is missing (and fails them with CI=true).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from unit.twin.haproxy_scenarios import CONFIGS


def haproxy_check(config: str, scratch: Path) -> subprocess.CompletedProcess[str]:
    haproxy = shutil.which("haproxy")
    assert haproxy is not None, "the twin tier's gate let the tests run without haproxy"
    path = scratch / "haproxy.cfg"
    path.write_text(config)
    return subprocess.run(
        [haproxy, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
    )


def test_haproxy_check_rejects_a_broken_configuration(tmp_path: Path) -> None:
    """The validator itself can say no: otherwise every check below would prove nothing."""
    broken = CONFIGS["idle timeout 120"](tmp_path).replace("mode http", "mode maybe", 1)
    assert haproxy_check(broken, tmp_path).returncode != 0


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_haproxy_accepts_the_rendered_configuration(name: str, tmp_path: Path) -> None:
    config = CONFIGS[name](tmp_path)
    proc = haproxy_check(config, tmp_path)
    assert proc.returncode == 0, f"haproxy rejected the config:\n{proc.stderr}\n{config}"
    assert "[WARNING]" not in proc.stderr + proc.stdout, proc.stderr
