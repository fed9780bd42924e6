"""Service deployments against moto, which does not implement them (moto 5 answers
ListServiceDeployments and StopServiceDeployment with an HTML HTTP 500).

What must hold there, as on any endpoint without them: `deploy` and `status` work and
say once why no deployment phase is shown; `rollback` fails with one message, quickly
(one retry, not botocore's ten), and changes nothing. The phases themselves, an alarm
rollback and the rollback command's success are checked with botocore's Stubber
(tests/unit/aws/test_service_deployments.py, test_rollback.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from functional.aws.cli import run_cli

NOT_IMPLEMENTED = "the endpoint does not implement ListServiceDeployments (HTTP 500)"


def test_deploy_status_and_rollback_without_service_deployments(
    moto_url: str, tmp_path: Path
) -> None:
    name = "phases"
    deployed = run_cli(
        tmp_path, "deploy", "--yes", "--json", "--stack-name", name, endpoint=moto_url
    )
    assert deployed.code == 0, deployed.explain()
    assert deployed.json()["ok"] is True
    # moto completes the service stack at once: no poll in progress, so nothing to show.
    assert "Traceback" not in deployed.stderr

    status = run_cli(tmp_path, "status", "--stack-name", name, endpoint=moto_url)
    assert status.code == 0, status.explain()
    assert f"{name}-service: CREATE_COMPLETE" in status.stdout
    assert status.stderr.count(f"note: service deployments not shown: {NOT_IMPLEMENTED}") == 1
    assert "service deployment" not in status.stdout

    as_json = run_cli(tmp_path, "status", "--json", "--stack-name", name, endpoint=moto_url)
    assert as_json.code == 0, as_json.explain()
    data = as_json.json()
    assert data["service_deployment"] is None
    assert data["service_deployment_unavailable"] == NOT_IMPLEMENTED

    started = time.monotonic()
    rollback = run_cli(tmp_path, "rollback", "--stack-name", name, endpoint=moto_url)
    took = time.monotonic() - started
    assert rollback.code == 1, rollback.explain()
    assert rollback.stdout == ""
    assert rollback.stderr.startswith(f"error: {NOT_IMPLEMENTED}"), rollback.explain()
    assert rollback.stderr.count("error:") == 1 and "<!doctype" not in rollback.stderr
    assert took < 10, f"rollback took {took:.1f} s: the full retries were used"

    destroyed = run_cli(tmp_path, "destroy", "--yes", "--stack-name", name, endpoint=moto_url)
    assert destroyed.code == 0, destroyed.explain()
