"""Cross-checks with independent scanners: checkov and cfn-guard, when installed.

They are not dependencies of the project. When a tool is missing its test is skipped
with a reason starting with NOT_RUN_TAG, which conftest.py repeats in a red banner at the
end of the run: a skipped cross-check must never pass for a green one.

- checkov on the default synth: every check that fails must be justified inline in the
  template Metadata, either natively (checkov: skip: [{id, comment}]) or by a fargate-api
  suppression of a rule that cites that checkov id. On the reference, checkov must fail
  the checkov ids our own findings cite, on the same resources (our references are right).
- cfn-guard with tests/fixtures/check/guard/pattern.guard: the default synth passes, the
  reference's vpc.yml (MapPublicIpOnLaunch: true) fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functional.check.support import FIXTURES, NOT_RUN_TAG, require_reference_dir, run_json

TIMEOUT = 300


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(
            f"{NOT_RUN_TAG}: {name} is not installed, so the cross-check against {name} was "
            f"NOT performed (install {name} to run it)"
        )
    return found


def _synth(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "fargate_api", "synth", "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _checkov_failures(checkov: str, folder: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [checkov, "-d", str(folder), "--framework", "cloudformation", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    return [f for r in reports for f in r.get("results", {}).get("failed_checks", [])]


def _resource_id(failure: dict[str, Any]) -> str:
    return str(failure["resource"]).split(".", 1)[-1]


def test_checkov_failures_on_the_default_synth_are_justified(tmp_path: Path) -> None:
    checkov = _tool("checkov")
    out = _synth(tmp_path / "out")
    _, ours = run_json(out)
    rules = {r["id"]: r for r in ours["rules"]}
    justified = {
        (f["resource"], checkov_id)
        for f in ours["findings"]
        if f["suppressed"]
        for checkov_id in rules[f["rule"]]["references"]["checkov"]
    }
    unjustified = [
        f"{f['check_id']} on {_resource_id(f)} ({f['file_path']}): {f['check_name']}"
        for f in _checkov_failures(checkov, out)
        if (_resource_id(f), f["check_id"]) not in justified
    ]
    assert not unjustified, "checkov failures without an inline justification:\n" + "\n".join(
        unjustified
    )


def test_checkov_agrees_with_our_references_on_the_reference(tmp_path: Path) -> None:
    checkov = _tool("checkov")
    reference = require_reference_dir()
    _, ours = run_json(reference)
    rules = {r["id"]: r for r in ours["rules"]}
    expected = {
        (f["resource"], checkov_id)
        for f in ours["findings"]
        for checkov_id in rules[f["rule"]]["references"]["checkov"]
    }
    failed = {(_resource_id(f), f["check_id"]) for f in _checkov_failures(checkov, reference)}
    assert expected <= failed, f"checkov does not confirm: {sorted(expected - failed)}"


def _guard(guard: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            guard,
            "validate",
            "--data",
            str(data),
            "--rules",
            str(FIXTURES / "guard" / "pattern.guard"),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_cfn_guard_agrees_on_the_pattern(tmp_path: Path) -> None:
    guard = _tool("cfn-guard")
    out = _synth(tmp_path / "out")
    passed = _guard(guard, out)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    reference = require_reference_dir()
    failed = _guard(guard, reference / "vpc.yml")
    assert failed.returncode != 0, failed.stdout
    assert "subnets_assign_no_public_ip" in failed.stdout + failed.stderr
