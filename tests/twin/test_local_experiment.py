"""`local experiment`: both shipped experiments end to end, and Ctrl-C.

The default config (a NAT gateway per AZ) survives an AZ outage: few failed requests,
back at its desired count within the bound, and the surviving AZ's tasks keep their
egress IP. The same outage on `nat = "single"`, failing the NAT's AZ, FAILS on egress:
the surviving AZ's probes fail while the outage lasts. Each experiment brings up its own
twin (named with the test's prefix, so the leak check covers it) and removes it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from twin.conftest import require_container_mode
from twin.twin_support import REPO, cli

EXPERIMENTS = REPO / "examples" / "experiments"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATE_ROOT = Path("/run/fargate-api")
FAILED_AZ = "us-east-1a"
SURVIVING_AZ = "us-east-1b"


def _experiment_args(file: Path, name: str, out: Path, *extra: str) -> list[str]:
    """`local experiment` on a twin of the test's own name, its report in ``out``."""
    return ["local", "experiment", str(file), "--name", name, "--out", str(out), *extra]


def _experiment(
    file: Path, name: str, out: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = cli(*_experiment_args(file, name, out, "--json", *extra), timeout=600, check=False)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{proc.stderr}"
    report: dict[str, Any] = json.loads(proc.stdout)
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == report
    assert (out / "report.png").read_bytes()[:8] == PNG_MAGIC
    return proc, report


def _conditions(report: dict[str, Any]) -> dict[str, bool]:
    return {c["name"]: c["passed"] for c in report["conditions"]}


def _zones(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {zone["az"]: zone for zone in report["egress"]}


def _check_outage_and_recovery(report: dict[str, Any], name: str) -> None:
    """What both experiments share: the service itself survives the outage."""
    assert report["twin"] == name and not report["interrupted"]
    (fault,) = report["faults"]
    assert (fault["action"], fault["az"]) == ("az-outage", FAILED_AZ)
    assert 9.5 <= fault["start"] <= 12 and fault["end"] == pytest.approx(fault["in_force"] + 20)
    assert fault["start"] <= fault["in_force"] <= fault["start"] + 3  # applying it took < 3 s
    rows = report["rows"]
    assert len(rows) == 45 and sum(row["requests"] for row in rows) == 900
    # The outage stopped the failed AZ's task: the healthy count dipped while it was in
    # force, and ECS brought it back with a task in the other AZ.
    assert any(row["healthy"] < row["desired"] for row in rows if "f1" in row["faults"])
    assert rows[-1]["healthy"] == rows[-1]["desired"] == 2
    recovery = report["recovery"]
    assert recovery["outcome"] == "recovered" and recovery["seconds"] <= 20
    totals = report["totals"]
    assert totals["requests"] == 900 and totals["failed_ratio"] <= 0.05
    # Failures only around the moment the AZ went: not before it, and not after a few s.
    start = int(fault["start"])
    assert all(row["failed"] == 0 for row in rows[:start])
    assert all(row["failed"] == 0 for row in rows[start + 5 :])
    zones = _zones(report)
    assert zones[FAILED_AZ]["exempt"] and not zones[SURVIVING_AZ]["exempt"]
    assert _conditions(report)["max_failed_ratio"] and _conditions(report)["recover_within"]
    assert _conditions(report)["max_p99_ms"]


@pytest.mark.parametrize(
    "runtime", ["process", pytest.param("container", marks=pytest.mark.twin_container)]
)
def test_az_outage_on_the_default_config_passes(
    runtime: str, twin_name: tuple[str, str], tmp_path: Path
) -> None:
    if runtime == "container":
        require_container_mode()
    name, _ = twin_name
    out = tmp_path / "report"
    proc, report = _experiment(EXPERIMENTS / "az-outage.toml", name, out, "--runtime", runtime)
    assert proc.returncode == 0, proc.stderr
    assert report["passed"] and all(_conditions(report).values())
    _check_outage_and_recovery(report, name)
    surviving = _zones(report)[SURVIVING_AZ]
    # Its own NAT gateway: one egress IP before, during and after, no probe failed.
    assert surviving["continuous"] and surviving["failed"] == 0
    assert surviving["before"] == surviving["during"] == surviving["after"]
    assert len(surviving["before"]) == 1
    assert _zones(report)[FAILED_AZ]["before"] != surviving["before"]  # a NAT per AZ
    # The own twin is gone (the fixture checks every namespace, process and table).
    assert not (STATE_ROOT / f"fa-{name}-twin").exists()


def test_az_outage_on_a_single_nat_fails_on_egress(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, _ = twin_name
    out = tmp_path / "report"
    proc, report = _experiment(
        EXPERIMENTS / "az-outage-single-nat.toml", name, out, "--runtime", "process"
    )
    assert proc.returncode == 1, proc.stderr
    assert "experiment FAILED: egress" in proc.stderr
    assert not report["passed"]
    assert _conditions(report) == {
        "max_failed_ratio": True,
        "max_p99_ms": True,
        "recover_within": True,
        "egress": False,
    }
    _check_outage_and_recovery(report, name)
    zones = _zones(report)
    surviving = zones[SURVIVING_AZ]
    # Both AZs left through the one NAT gateway before the outage; during it, the
    # surviving AZ's probes fail (its way out is in the failed AZ), after it they answer.
    assert zones[FAILED_AZ]["before"] == surviving["before"]
    assert not surviving["continuous"] and surviving["during"] == []
    assert surviving["failed"] >= 15  # ~20 s of outage, one probe a second at least
    fault = report["faults"][0]
    assert fault["start"] <= surviving["first_failure"] <= fault["start"] + 3
    assert surviving["after"] == surviving["before"]
    failing = [row for row in report["rows"] if row["egress_failed"].get(SURVIVING_AZ)]
    assert all("f1" in row["faults"] or row["t"] <= fault["end"] + 1 for row in failing)
    egress = next(c for c in report["conditions"] if c["name"] == "egress")
    assert egress["measured"].startswith(f"{SURVIVING_AZ}: ")


LONG_EXPERIMENT = """\
description = "interrupted on purpose"
{twin}
[load]
rate = 10
duration = 60

[[faults]]
action = "az-outage"
at = 2
duration = 50
az = "us-east-1a"

[stop]
max_failed_ratio = 0.05
"""


def _interrupt(file: Path, name: str, out: Path) -> tuple[int, str]:
    """Runs the experiment, SIGINTs it once its fault is in force; (exit code, stderr)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fargate_api",
            *_experiment_args(file, name, out, "--runtime", "process"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 300
    for line in process.stderr:
        seen.append(line)
        if "fault f1 az-outage" in line or time.monotonic() > deadline:
            break
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    try:
        _, rest = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, "".join(seen) + rest


def _check_partial_report(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert (out / "report.png").read_bytes()[:8] == PNG_MAGIC
    assert report["interrupted"] and not report["passed"]
    assert 2 <= len(report["rows"]) < 20  # cut short, not the 60 s planned
    (fault,) = report["faults"]
    assert fault["end"] < fault["start"] + 50  # ended by the clear, not its duration
    return report


def test_ctrl_c_on_a_running_twin_clears_the_faults(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    config = tmp_path / "fargate-api.toml"
    config.write_text("# defaults\n")
    cli(
        "local",
        "up",
        "-c",
        str(config),
        "--name",
        name,
        "--runtime",
        "process",
        "--time-scale",
        "0.1",
    )
    file = tmp_path / "interrupted.toml"
    file.write_text(LONG_EXPERIMENT.format(twin=""))
    out = tmp_path / "report"
    code, stderr = _interrupt(file, name, out)
    assert code == 130, stderr
    _check_partial_report(out)
    status = json.loads(cli("local", "status", "--name", name, "--json").stdout)
    assert status["faults"] == [] and status["phase"] == "running"
    # The AZ is whole again: no fault table in the router, the ALB node answers again.
    tables = subprocess.run(
        ["ip", "netns", "exec", f"{prefix}vpc", "nft", "list", "tables"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "fis" not in tables, tables


def test_ctrl_c_removes_the_experiments_own_twin(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, _ = twin_name
    file = tmp_path / "interrupted.toml"
    file.write_text(LONG_EXPERIMENT.format(twin="[twin]\ntime_scale = 0.1\n"))
    out = tmp_path / "report"
    code, stderr = _interrupt(file, name, out)
    assert code == 130, stderr
    _check_partial_report(out)
    assert not (STATE_ROOT / f"fa-{name}-twin").exists()


def test_bad_input_exits_2_before_anything_runs(twin_name: tuple[str, str], tmp_path: Path) -> None:
    name, _ = twin_name
    file = tmp_path / "bad.toml"
    file.write_text(
        '[twin]\n[load]\nrate = 5\nduration = 10\n[[faults]]\naction = "az-outage"\n'
        'at = 20\nduration = 5\naz = "us-east-1a"\n'
    )
    proc = cli(*_experiment_args(file, name, tmp_path / "o"), check=False)
    assert proc.returncode == 2
    assert f"{file}:7: faults[0].at (20) is not before the load ends" in proc.stderr
    assert not (STATE_ROOT / f"fa-{name}-twin").exists()
    # An AZ the twin does not have: refused once the twin is up, which is then removed.
    file.write_text(LONG_EXPERIMENT.format(twin="[twin]\n").replace("us-east-1a", "eu-west-9z"))
    proc = cli(*_experiment_args(file, name, tmp_path / "o", "--runtime", "process"), check=False)
    assert proc.returncode == 2, proc.stderr
    assert "faults[0].az = 'eu-west-9z'" in proc.stderr and "us-east-1a, us-east-1b" in proc.stderr
    assert not (STATE_ROOT / f"fa-{name}-twin").exists()
