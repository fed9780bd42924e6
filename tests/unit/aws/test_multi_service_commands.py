"""deploy/diff/status/logs/rollback with several services (NAME-service-<name> stacks), on
stubbed AWS answers: `--service NAME`, its exit codes and messages, and status per service.

The templates are the hand-written several-services layout of multi_layout.py; the
Stubber checks every request against botocore's model and fails on any call it was not
told to expect (so "the other service's stack was not touched" is checked by omission).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fargate_api.aws.results import DeployResult, StatusResult
from fargate_api.aws.stacks import StackPlan
from unit.aws import multi_layout
from unit.aws.support import (
    ANY,
    Cli,
    Stubs,
    change_set_arn,
    describe_stacks,
    described_change_set,
    not_implemented,
    stubbed,
)

PLAN = multi_layout.plan()
CLUSTER = multi_layout.outputs("cluster")["ClusterName"]
NO_CHANGE = "The submitted information didn't contain changes."


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path, *command: str) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(monkeypatch, capsys, PLAN, (*command, "--stack-name", "shop"))


def _deployed(s: Stubs, role: str, status: str = "UPDATE_COMPLETE") -> None:
    s.cfn.add_response(
        "describe_stacks",
        describe_stacks(f"shop-{role}", status, role=role, outputs=multi_layout.outputs(role)),
        {"StackName": f"shop-{role}"},
    )


def _missing(s: Stubs, role: str) -> None:
    s.cfn.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id shop-{role} does not exist",
        expected_params={"StackName": f"shop-{role}"},
    )


def _all_deployed(s: Stubs, plan: StackPlan = PLAN, *, missing: str | None = None) -> None:
    """Every stack of ``plan`` deployed, in deploy order, but the ``missing`` role's."""
    for spec in plan.stacks:
        if spec.role == missing:
            _missing(s, spec.role)
        else:
            _deployed(s, spec.role)


def _wired(service: str) -> list[dict[str, str]]:
    """The parameters of NAME-service-<service>, from the outputs of the stacks it reads."""
    vpc, cluster = multi_layout.outputs("vpc"), multi_layout.outputs("cluster")
    lb = multi_layout.outputs("load-balancer")
    values = {
        "VpcId": vpc["VpcId"],
        "PrivateSubnetIds": vpc["PrivateSubnetIds"],
        "ClusterName": cluster["ClusterName"],
        "ECSTaskExecutionRole": cluster["ECSTaskExecutionRole"],
        "ListenerArn": lb["ListenerArn"],
        "LoadBalancerFullName": lb["LoadBalancerFullName"],
        "ServiceSecurityGroupId": lb[f"{multi_layout.camel(service)}SecurityGroupId"],
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _no_change_set(s: Stubs, role: str, parameters: list[dict[str, str]]) -> None:
    name = f"shop-{role}"
    s.cfn.add_response(
        "create_change_set",
        {"Id": change_set_arn(name)},
        {
            "StackName": name,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "TemplateBody": ANY,
            "Parameters": parameters,
            "Capabilities": ANY,
            "Tags": ANY,
            "Description": ANY,
        },
    )
    s.cfn.add_response("describe_change_set", described_change_set(name, "FAILED", [], NO_CHANGE))
    s.cfn.add_response("delete_change_set", {}, {"ChangeSetName": change_set_arn(name)})


@pytest.mark.parametrize("service", ["api", "web"])
def test_deploy_service_reads_the_stacks_it_needs_and_deploys_only_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path, service: str
) -> None:
    deploy = _cli(monkeypatch, capsys, tmp_path, "deploy", "--yes", "--json")
    with stubbed() as s:
        for role in ("vpc", "cluster", "load-balancer"):
            _deployed(s, role)
        _deployed(s, f"service-{service}")
        _no_change_set(s, f"service-{service}", _wired(service))
        # nothing is expected for the other service's stack: a call to it fails the test
        code, out, err = deploy.run(s, "--service", service)
    assert code == 0, err
    result = DeployResult.model_validate_json(out)
    assert [(r.name, r.result) for r in result.stacks] == [
        (f"shop-service-{service}", "no changes")
    ]
    assert result.url == multi_layout.outputs("load-balancer")["ServiceUrl"]
    assert result.egress_ips == ["203.0.113.1", "203.0.113.2"]
    assert (result.service, result.cluster) == (service, CLUSTER)
    assert f"(only service-{service})" in err


@pytest.mark.parametrize(
    "case",
    [
        (None, "shop-load-balancer, which does not exist", "deploy everything first"),
        ("ROLLBACK_COMPLETE", "shop-load-balancer, which is ROLLBACK_COMPLETE", "deploy every"),
        ("DELETE_FAILED", "shop-load-balancer, which is DELETE_FAILED", "deploy everything"),
        ("UPDATE_IN_PROGRESS", "shop-load-balancer, which is UPDATE_IN_PROGRESS", "wait until"),
    ],
)
def test_deploy_service_needs_the_stacks_it_reads_deployed_first(
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    tmp_path: Path,
    case: tuple[str | None, str, str],
) -> None:
    state, expected, fix = case
    deploy = _cli(monkeypatch, capsys, tmp_path, "deploy", "--yes")
    with stubbed() as s:
        _deployed(s, "vpc")
        _deployed(s, "cluster")
        if state is None:
            _missing(s, "load-balancer")
        else:
            _deployed(s, "load-balancer", state)
        code, _, err = deploy.run(s, "--service", "api")  # no change set is made
    assert code == 2, err
    assert f"this deploy reads the outputs of {expected}" in err
    assert fix in err
    if state is None:
        assert "deploy everything first: fargate-api deploy" in err
    assert err.count("error:") == 1


def test_deploy_service_refuses_a_read_stack_that_someone_else_owns(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    deploy = _cli(monkeypatch, capsys, tmp_path, "deploy", "--yes")
    with stubbed() as s:
        s.cfn.add_response(
            "describe_stacks", describe_stacks("shop-vpc", "CREATE_COMPLETE", base="other")
        )
        code, _, err = deploy.run(s, "--service", "api")
    assert code == 2
    assert "shop-vpc exists but was not deployed by fargate-api for 'shop'" in err


@pytest.mark.parametrize("command", ["deploy", "diff", "logs", "rollback"])
def test_an_unknown_service_exits_2_listing_the_services_before_any_aws_call(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path, command: str
) -> None:
    cli = _cli(monkeypatch, capsys, tmp_path, command)
    with stubbed() as s:
        code, _, err = cli.run(s, "--service", "admin")
    assert code == 2, err
    assert "--service 'admin': the templates run no service of that name" in err
    assert "pass one of: api, web" in err


@pytest.mark.parametrize("command", ["logs", "rollback"])
def test_logs_and_rollback_need_service_when_there_are_several(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path, command: str
) -> None:
    cli = _cli(monkeypatch, capsys, tmp_path, command)
    with stubbed() as s:
        code, _, err = cli.run(s)
    assert code == 2, err
    assert f"'{command}' needs --service: the templates run 2 services (api, web)" in err
    assert "pass --service NAME, one of: api, web" in err


def test_logs_service_reads_that_service_log_group(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    logs = _cli(monkeypatch, capsys, tmp_path, "logs", "--since", "1m")
    group = multi_layout.outputs("service-web")["LogGroupName"]
    with stubbed() as s:
        _all_deployed(s)
        s.logs.add_response(
            "filter_log_events",
            {
                "events": [
                    {
                        "eventId": "e1",
                        "timestamp": 1,
                        "logStreamName": "web/web/abc",
                        "message": "GET / 200",
                    }
                ]
            },
            {"logGroupName": group, "startTime": ANY},
        )
        code, out, err = logs.run(s, "--service", "web")
    assert code == 0, err
    assert f"log group {group}" in err
    assert "web/web/abc GET / 200" in out


def test_logs_service_of_a_stack_not_deployed_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    logs = _cli(monkeypatch, capsys, tmp_path, "logs")
    with stubbed() as s:
        _all_deployed(s, missing="service-web")
        code, _, err = logs.run(s, "--service", "web")
    assert code == 2
    assert "shop-service-web exports no LogGroupName" in err


def test_rollback_service_acts_on_that_service(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    rollback = _cli(monkeypatch, capsys, tmp_path, "rollback")
    with stubbed() as s:
        _all_deployed(s)
        s.ecs.add_response(
            "list_service_deployments",
            {"serviceDeployments": []},
            {"cluster": CLUSTER, "service": "web", "status": ANY},
        )
        s.ecs.add_response(
            "list_service_deployments",
            {"serviceDeployments": []},
            {"cluster": CLUSTER, "service": "web"},
        )
        code, _, err = rollback.run(s, "--service", "web")
    assert code == 2, err
    assert "no service deployment of web is in progress" in err


def _service_answers(s: Stubs, service: str, running: int, healthy: int) -> None:
    outputs = multi_layout.outputs(f"service-{service}")
    s.ecs.add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": service,
                    "status": "ACTIVE",
                    "runningCount": running,
                    "desiredCount": 2,
                    "pendingCount": 2 - running,
                    "deployments": [
                        {
                            "status": "PRIMARY",
                            "rolloutState": "COMPLETED",
                            "runningCount": running,
                            "desiredCount": 2,
                            "failedTasks": 0,
                        }
                    ],
                }
            ]
        },
        {"cluster": CLUSTER, "services": [service]},
    )
    not_implemented(s.ecs, "list_service_deployments", {"cluster": CLUSTER, "service": service})
    s.elbv2.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": f"10.0.130.{i}", "Port": 80},
                    "TargetHealth": {"State": "healthy"},
                }
                for i in range(healthy)
            ]
        },
        {"TargetGroupArn": outputs["TargetGroupArn"]},
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_status_shows_every_service(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path, as_json: bool
) -> None:
    status = _cli(monkeypatch, capsys, tmp_path, "status")
    with stubbed() as s:
        _all_deployed(s)
        _service_answers(s, "api", running=2, healthy=2)
        _service_answers(s, "web", running=1, healthy=1)
        code, out, err = status.run(s, *(["--json"] if as_json else []))
    assert code == 0, err
    assert err.count("note: service deployments not shown:") == 1, err
    if not as_json:
        assert "service api (shop-service-api, UPDATE_COMPLETE):" in out
        assert "service web (shop-service-web, UPDATE_COMPLETE):" in out
        api, web = out.split("service web (")
        assert "  tasks: 2 running / 2 desired (0 pending)" in api
        assert "  targets: 2 healthy" in api
        assert "  tasks: 1 running / 2 desired (1 pending)" in web
        assert "  targets: 1 healthy" in web
        assert "url: http://shop-lb-1.eu-west-1.elb.amazonaws.com" in out
        return
    data = StatusResult.model_validate_json(out)
    assert [(x.name, x.stack, x.role) for x in data.services] == [
        ("api", "shop-service-api", "service-api"),
        ("web", "shop-service-web", "service-web"),
    ]
    api, web = data.services
    assert api.service_state is not None and api.service_state.running == 2
    assert web.service_state is not None and web.service_state.running == 1
    assert api.targets is not None and api.targets.states == {"healthy": 2}
    assert web.log_group == "shop-service-web-LogGroup-1"
    assert web.service_deployment is None and web.service_deployment_unavailable
    # with several services, no one of them is "the" service at the top level
    assert data.service_state is None and data.targets is None and data.service is None
    assert data.url == "http://shop-lb-1.eu-west-1.elb.amazonaws.com"


def test_status_lists_a_service_whose_stack_is_not_deployed_yet(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    status = _cli(monkeypatch, capsys, tmp_path, "status", "--json")
    with stubbed() as s:
        _all_deployed(s, missing="service-web")
        _service_answers(s, "api", running=2, healthy=2)
        code, out, err = status.run(s)
    assert code == 0, err
    web = StatusResult.model_validate_json(out).services[1]
    assert (web.name, web.stack_status, web.service_state, web.targets) == ("web", None, None, None)


def test_diff_service_compares_only_that_service_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    diff = _cli(monkeypatch, capsys, tmp_path, "diff", "--json")
    with stubbed() as s:
        for role in ("vpc", "cluster", "load-balancer", "service-web"):
            _deployed(s, role)
        _no_change_set(s, "service-web", _wired("web"))
        code, out, err = diff.run(s, "--service", "web")
    assert code == 0, err
    assert [(x["name"], x["changes"]) for x in json.loads(out)["stacks"]] == [
        ("shop-service-web", [])
    ]
