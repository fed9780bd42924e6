"""`diagram` on templates a fuzzing run found crashing `dot` (a CIDR ending in a backslash,
a 17k-character logical id) or hanging (10,000 NAT gateways)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from functional.support import describe_run, run_cli

VPC = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}


def _subnet(cidr: str) -> dict[str, object]:
    return {
        "Type": "AWS::EC2::Subnet",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": cidr,
            "AvailabilityZone": "eu-west-1a",
        },
    }


def _draw(tmp_path: Path, resources: dict[str, object]) -> tuple[Path, object]:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "parent.yml").write_text(json.dumps({"Resources": {"Vpc": VPC, **resources}}))
    out = tmp_path / "d.svg"
    return out, run_cli("diagram", "-t", folder, "-o", out, cwd=tmp_path)


def test_a_cidr_ending_in_a_backslash_is_drawn(tmp_path: Path) -> None:
    out, result = _draw(tmp_path, {"Subnet": _subnet("bad\\")})
    assert result.returncode == 0, describe_run(result)  # type: ignore[attr-defined]
    assert "bad\\" in out.read_text(encoding="utf-8")


def test_a_logical_id_of_17k_characters_is_drawn(tmp_path: Path) -> None:
    out, result = _draw(tmp_path, {"S" * 17_000: _subnet("10.0.1.0/24"), "T" * 17_000: _subnet("")})
    assert result.returncode == 0, describe_run(result)  # type: ignore[attr-defined]
    svg = out.read_text(encoding="utf-8")
    assert "T" * 60 in svg and "10.0.1.0/24" in svg


def test_10000_nat_gateways_are_refused_by_the_500_resource_limit(tmp_path: Path) -> None:
    nats = {
        f"Nat{i}": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "Subnet"}}}
        for i in range(10_000)
    }
    started = time.monotonic()
    out, result = _draw(tmp_path, {"Subnet": _subnet("10.0.0.0/24"), **nats})
    assert time.monotonic() - started < 30
    assert result.returncode == 2, describe_run(result)  # type: ignore[attr-defined]
    assert "over CloudFormation's limit of 500 per template" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    assert not out.exists()


def test_help_documents_the_exit_code_of_a_dot_failure(tmp_path: Path) -> None:
    result = run_cli("diagram", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "1 Graphviz's dot failed" in " ".join(result.stdout.split())
