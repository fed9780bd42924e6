"""check, cost and diagram take the same inputs: several top-level stacks, linked by
Export / Fn::ImportValue, each `-t [NAME=]PATH`; and each refuses a broken link with one
message naming the file and line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functional.support import describe_run, run_cli

NETWORK = """\
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  SubnetA:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24, AvailabilityZone: us-east-1a}
  Nat:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: !Ref SubnetA, AllocationId: !GetAtt Eip.AllocationId}
  Eip:
    Type: AWS::EC2::EIP
    Properties: {Domain: vpc}
Outputs:
  VpcId:
    Value: !Ref Vpc
    Export:
      Name: !Sub "${AWS::StackName}-VpcId"
  SubnetA:
    Value: !Ref SubnetA
    Export:
      Name: !Sub "${AWS::StackName}-SubnetA"
"""

SERVICE = """\
Parameters:
  Network: {Type: String, Default: shared}
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: the service's tasks
      VpcId:
        Fn::ImportValue: !Sub "${Network}-VpcId"
  Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId:
        Fn::ImportValue: !Sub "${Network}-VpcId"
      ServiceName: com.amazonaws.us-east-1.logs
      VpcEndpointType: Interface
      SubnetIds:
        - Fn::ImportValue: !Sub "${Network}-SubnetA"
"""


@pytest.fixture
def stacks(tmp_path: Path) -> Path:
    (tmp_path / "network.yml").write_text(NETWORK)
    (tmp_path / "service.yml").write_text(SERVICE)
    return tmp_path


def _one_error(result_stderr: str, where: str, what: str) -> None:
    assert "Traceback" not in result_stderr
    (line,) = [line for line in result_stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {where}: {what}"), result_stderr


def test_check_resolves_imports_across_the_stacks(stacks: Path) -> None:
    result = run_cli(
        "check", "shared=network.yml", "-t", "service.yml", "--format", "json", cwd=stacks
    )
    assert result.returncode in (0, 1), describe_run(result)
    report = json.loads(result.stdout)
    assert report["files"] == ["network.yml", "service.yml"]
    # The service stack's endpoint sits in the network stack's subnet: FA105 (the VPC
    # has no endpoint for ECR, S3 and logs) no longer lists logs, which only the
    # service stack's import ties to the VPC.
    fa105 = [f for f in report["findings"] if f["rule"] == "FA105"]
    assert fa105 and all("logs" not in f["message"] for f in fa105), fa105


def test_cost_prices_the_linked_stacks_once(stacks: Path) -> None:
    result = run_cli("cost", "-t", "shared=network.yml", "-t", "service.yml", "--json", cwd=stacks)
    assert result.returncode == 0, describe_run(result)
    lines = {line["item"]: line for line in json.loads(result.stdout)["lines"]}
    assert any("NAT gateway" in item for item in lines), lines


def test_diagram_draws_the_linked_stacks(stacks: Path) -> None:
    result = run_cli(
        "diagram", "-t", "shared=network.yml", "-t", "service.yml", "-o", "d.svg", cwd=stacks
    )
    assert result.returncode == 0, describe_run(result)
    assert (stacks / "d.svg").read_text().startswith("<?xml")


@pytest.mark.parametrize(
    "command",
    [
        ("check", "network.yml", "service.yml"),
        ("cost", "-t", "network.yml", "-t", "service.yml"),
        ("diagram", "-t", "network.yml", "-t", "service.yml", "-o", "d.svg"),
    ],
)
def test_a_missing_export_is_bad_input_at_the_import(
    stacks: Path, command: tuple[str, ...]
) -> None:
    # Without NAME the network stack is named "network": it exports network-VpcId.
    result = run_cli(*command, cwd=stacks)
    assert result.returncode == 2, describe_run(result)
    _one_error(
        result.stderr, "service.yml:9", "Fn::ImportValue 'shared-VpcId': none of the given stacks"
    )
    assert "network-VpcId" in result.stderr and "NAME=PATH" in result.stderr
    assert not (stacks / "d.svg").exists()


def test_two_stacks_exporting_one_name_is_bad_input(stacks: Path) -> None:
    # Another stack that spells the export names out: "shared-VpcId" twice.
    (stacks / "again.yml").write_text(NETWORK.replace("${AWS::StackName}", "shared"))
    result = run_cli("check", "shared=network.yml", "again.yml", "service.yml", cwd=stacks)
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr, "again.yml:18", "export 'shared-VpcId' is exported twice")
    assert "network.yml:18" in result.stderr


def test_one_stack_name_twice_is_bad_input(stacks: Path) -> None:
    result = run_cli("check", "shared=network.yml", "-t", "shared=service.yml", cwd=stacks)
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr, "network.yml and service.yml", "two stacks are named 'shared'")


def test_an_import_cycle_is_bad_input(tmp_path: Path) -> None:
    first = SERVICE.replace("${Network}-VpcId", "second-id").replace("${Network}-SubnetA", "x")
    first += "Outputs:\n  Id:\n    Value: !Ref Group\n    Export: {Name: first-id}\n"
    second = first.replace("second-id", "first-id").replace("Name: first-id", "Name: second-id")
    second = second.replace('- Fn::ImportValue: !Sub "x"', "- subnet-1")
    first = first.replace('- Fn::ImportValue: !Sub "x"', "- subnet-1")
    (tmp_path / "first.yml").write_text(first)
    (tmp_path / "second.yml").write_text(second)
    result = run_cli("check", "first.yml", "second.yml", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr, "second.yml:9", "an import cycle between top-level stacks")
    assert "first.yml:9 imports 'second-id' from second.yml" in result.stderr
