"""deploy / no-change / destroy / outputs->parameters of the REAL synthesized templates on moto.

What moto 5 checks faithfully here: top-level create and delete through change sets, the
outputs, the wiring of outputs into the service stack's parameters, an empty change set
on a second deploy, stack policies and tags, retained resources after a delete. What it
cannot check (so the Stubber tests in tests/unit/aws do): update change sets with
replacements, CREATE_FAILED and rollbacks, ECS tasks, Ctrl-C. moto_launcher.py lists the
harness workarounds for moto's limits.
"""

from __future__ import annotations

import ast
import ipaddress
import time
from pathlib import Path
from typing import Any

import pytest

from functional.aws.cli import run_cli
from functional.aws.conftest import moto_client

ROLES = ("vpc", "cluster", "service")
WIRED = {
    "VpcId": ("vpc", "VpcId"),
    "PublicSubnetIds": ("vpc", "PublicSubnetIds"),
    "PrivateSubnetIds": ("vpc", "PrivateSubnetIds"),
    "ClusterName": ("cluster", "ClusterName"),
    "ECSTaskExecutionRole": ("cluster", "ECSTaskExecutionRole"),
}


def _cfn(url: str) -> Any:
    return moto_client(url, "cloudformation")


def _stack(url: str, name: str) -> dict[str, Any] | None:
    stacks = [s for s in _cfn(url).list_stacks()["StackSummaries"] if s["StackName"] == name]
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    if not live:
        return None
    found: dict[str, Any] = _cfn(url).describe_stacks(StackName=name)["Stacks"][0]
    return found


def _moto_list(value: str) -> str:
    """moto reports a List<...> parameter as a Python list's repr; AWS as the comma list sent."""
    if value.startswith("["):
        return ",".join(ast.literal_eval(value))
    return value


def test_default_config_deploys_then_reports_no_changes_then_destroys(
    moto_url: str, tmp_path: Path
) -> None:
    first = run_cli(tmp_path, "deploy", "--yes", "--json", endpoint=moto_url)
    assert first.code == 0, first.explain()
    data = first.json()
    base = "serverless-api-environment"
    assert data["ok"] is True and data["changed"] is True
    assert data["url"].startswith("http://") and "elb.amazonaws.com" in data["url"]
    assert len(data["egress_ips"]) == 2
    for ip in data["egress_ips"]:
        assert ipaddress.ip_address(ip).version == 4
    assert [s["name"] for s in data["stacks"]] == [f"{base}-{role}" for role in ROLES]
    assert [s["result"] for s in data["stacks"]] == ["created"] * 3
    assert all(s["changes"] for s in data["stacks"])

    # outputs -> parameters: the service stack got the vpc's and cluster's outputs. moto's
    # change sets report no outputs (the tool evaluates them from the resources), so the
    # expected values are built here independently, from the physical resource ids.
    physical = {
        role: {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in _cfn(moto_url).describe_stack_resources(StackName=f"{base}-{role}")[
                "StackResources"
            ]
        }
        for role in ("vpc", "cluster")
    }
    vpc_ids, cluster_ids = physical["vpc"], physical["cluster"]
    outputs = {
        "vpc": {
            "VpcId": vpc_ids["VPC"],
            "PublicSubnetIds": f"{vpc_ids['PublicSubnetOne']},{vpc_ids['PublicSubnetTwo']}",
            "PrivateSubnetIds": f"{vpc_ids['PrivateSubnetOne']},{vpc_ids['PrivateSubnetTwo']}",
        },
        "cluster": {
            "ClusterName": cluster_ids["ECSCluster"],
            "ECSTaskExecutionRole": cluster_ids["ECSTaskExecutionRole"],
        },
    }
    assert sorted(data["egress_ips"]) == sorted(
        [vpc_ids["NatGatewayOneEIP"], vpc_ids["NatGatewayTwoEIP"]]
    )
    service = _stack(moto_url, f"{base}-service")
    assert service is not None
    params = {p["ParameterKey"]: _moto_list(p["ParameterValue"]) for p in service["Parameters"]}
    for param, (role, key) in WIRED.items():
        assert params[param] == outputs[role][key], param
    vpc = _stack(moto_url, f"{base}-vpc")
    assert vpc is not None
    tags = {t["Key"]: t["Value"] for t in vpc["Tags"]}
    assert tags["fargate-api:stack-set"] == base
    policy = _cfn(moto_url).get_stack_policy(StackName=f"{base}-vpc")["StackPolicyBody"]
    assert "AWS::EC2::EIP" in policy and "Update:Replace" in policy

    second = run_cli(tmp_path, "deploy", "--yes", "--json", endpoint=moto_url)
    assert second.code == 0, second.explain()
    again = second.json()
    assert again["changed"] is False
    assert [s["result"] for s in again["stacks"]] == ["no changes"] * 3
    assert again["egress_ips"] == data["egress_ips"]
    assert again["url"] == data["url"]
    # The empty change sets were deleted, not left behind. (moto also keeps executed ones,
    # which AWS removes; those are not ours to delete.)
    for role in ROLES:
        summaries = _cfn(moto_url).list_change_sets(StackName=f"{base}-{role}")["Summaries"]
        assert [s for s in summaries if s["Status"] == "FAILED"] == [], role

    gone = run_cli(tmp_path, "destroy", "--yes", "--json", endpoint=moto_url)
    assert gone.code == 0, gone.explain()
    result = gone.json()
    assert result["deleted"] == [f"{base}-{role}" for role in reversed(ROLES)]
    retained = {r["logical_id"]: r for r in result["retained"]}
    assert {"NatGatewayOneEIP", "NatGatewayTwoEIP", "LogGroup"} <= set(retained)
    assert retained["NatGatewayOneEIP"]["physical_id"] in data["egress_ips"]
    assert "release-address" in retained["NatGatewayOneEIP"]["release"]
    assert "delete-log-group" in retained["LogGroup"]["release"]
    for role in ROLES:
        assert _stack(moto_url, f"{base}-{role}") is None, role


def test_outputs_and_status_read_the_deployed_stacks(moto_url: str, tmp_path: Path) -> None:
    name = "status-check"
    deployed = run_cli(
        tmp_path, "deploy", "--yes", "--json", "--stack-name", name, endpoint=moto_url
    )
    assert deployed.code == 0, deployed.explain()

    outputs = run_cli(tmp_path, "outputs", "--json", "--stack-name", name, endpoint=moto_url)
    assert outputs.code == 0, outputs.explain()
    data = outputs.json()
    assert data["url"] == deployed.json()["url"]
    assert data["egress_ips"] == deployed.json()["egress_ips"]
    assert [s["status"] for s in data["stacks"]] == ["CREATE_COMPLETE"] * 3

    status = run_cli(tmp_path, "status", "--stack-name", name, endpoint=moto_url)
    assert status.code == 0, status.explain()
    assert f"{name}-service: CREATE_COMPLETE" in status.stdout
    assert "2 desired" in status.stdout  # moto runs no tasks, but knows the desired count
    assert "egress IPs:" in status.stdout

    destroyed = run_cli(tmp_path, "destroy", "--yes", "--stack-name", name, endpoint=moto_url)
    assert destroyed.code == 0, destroyed.explain()


def test_diff_of_a_new_environment_lists_every_resource_and_creates_nothing(
    moto_url: str, tmp_path: Path
) -> None:
    name = "diff-only"
    diff = run_cli(tmp_path, "diff", "--json", "--stack-name", name, endpoint=moto_url)
    assert diff.code == 0, diff.explain()
    stacks = diff.json()["stacks"]
    assert [s["new"] for s in stacks] == [True, True, True]
    vpc_changes = {c["logical_id"]: c for c in stacks[0]["changes"]}
    assert vpc_changes["NatGatewayOneEIP"]["action"] == "Add"
    for role in ROLES:
        assert _stack(moto_url, f"{name}-{role}") is None


def test_logs_prints_the_service_log_group(moto_url: str, tmp_path: Path) -> None:
    name = "logs-check"
    deployed = run_cli(
        tmp_path, "deploy", "--yes", "--json", "--stack-name", name, endpoint=moto_url
    )
    assert deployed.code == 0, deployed.explain()
    group = deployed.json()["log_group"]
    logs = moto_client(moto_url, "logs")
    logs.create_log_stream(logGroupName=group, logStreamName="web/web/task1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="web/web/task1",
        logEvents=[{"timestamp": now, "message": "GET /health 200"}],
    )
    printed = run_cli(tmp_path, "logs", "--since", "1h", "--stack-name", name, endpoint=moto_url)
    assert printed.code == 0, printed.explain()
    assert "web/web/task1 GET /health 200" in printed.stdout


def test_a_second_deploy_of_another_name_refuses_foreign_stacks(
    moto_url: str, tmp_path: Path
) -> None:
    """A stack of the same name that fargate-api did not create is not touched."""
    _cfn(moto_url).create_stack(
        StackName="foreign-vpc",
        TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
    )
    run = run_cli(tmp_path, "deploy", "--yes", "--stack-name", "foreign", endpoint=moto_url)
    assert run.code == 2, run.explain()
    assert "was not deployed by fargate-api" in run.stderr


@pytest.mark.parametrize(
    ("region", "expected"),
    [(None, "no AWS region set")],
)
def test_missing_region_is_one_clear_message(
    moto_url: str, tmp_path: Path, region: str | None, expected: str
) -> None:
    run = run_cli(tmp_path, "status", endpoint=moto_url, region=region)
    assert run.code == 2, run.explain()
    assert expected in run.stderr
    assert "Traceback" not in run.stderr


def test_a_service_only_change_touches_only_the_service_stack(
    moto_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a.toml").write_text('name = "svc-only"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text(
        'name = "svc-only"\n[service]\ndesired_count = 3\n'
        'image = "public.ecr.aws/docker/library/nginx:1.27"\n',
        encoding="utf-8",
    )
    first = run_cli(tmp_path, "deploy", "-c", "a.toml", "--yes", "--json", endpoint=moto_url)
    assert first.code == 0, first.explain()
    second = run_cli(tmp_path, "deploy", "-c", "b.toml", "--yes", "--json", endpoint=moto_url)
    assert second.code == 0, second.explain()
    results = {s["role"]: s["result"] for s in second.json()["stacks"]}
    assert results == {"vpc": "no changes", "cluster": "no changes", "service": "updated"}
    # moto cannot say whether a Modify replaces (it reports no Replacement): only the ids.
    changed = {c["logical_id"] for c in second.json()["stacks"][2]["changes"]}
    assert {"TaskDefinition", "Service"} <= changed
    assert second.json()["egress_ips"] == first.json()["egress_ips"]
    destroyed = run_cli(tmp_path, "destroy", "-c", "b.toml", "--yes", endpoint=moto_url)
    assert destroyed.code == 0, destroyed.explain()


def test_deploy_without_yes_and_without_a_terminal_asks_for_yes(
    moto_url: str, tmp_path: Path
) -> None:
    run = run_cli(tmp_path, "deploy", "--stack-name", "no-tty", endpoint=moto_url)
    assert run.code == 2, run.explain()
    assert "pass --yes" in run.stderr
    # The change set nobody could approve was deleted, with the empty new stack.
    assert _stack(moto_url, "no-tty-vpc") is None
