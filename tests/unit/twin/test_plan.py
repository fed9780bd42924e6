"""The twin's interpretation of templates: ours, the reference's and CDK's, plus the
templates it must refuse with one clear message before anything is built."""

from __future__ import annotations

import json
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_api.config import Config
from fargate_api.config.loader import parse_config
from fargate_api.metadata_keys import LOCAL, SUPPRESSIONS
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.ec2.addresses import PUBLIC_POOL, usable_hosts
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.load import load_plan
from unit.support import REPO

CDK_TEMPLATE = REPO / "tests/fixtures/check/cdk-synth/FargateApiCdkStack.template.json"


def _synth(tmp_path: Path, config: Config | None = None) -> Path:
    write_templates(synthesize(config or Config()), tmp_path)
    return tmp_path / "parent.yml"


def test_reference_templates_become_a_two_az_plan(reference_dir: Path) -> None:
    plan = load_plan(reference_dir / "parent.yml")
    assert plan.vpc_cidr == IPv4Network("10.0.0.0/16")
    public = [s for s in plan.subnets if s.public]
    private = [s for s in plan.subnets if not s.public]
    assert len(public) == 2 and len(private) == 2
    assert {s.az for s in public} == {s.az for s in private} == {"us-east-1a", "us-east-1b"}
    # Each private subnet routes to the NAT gateway of its own AZ.
    for subnet in private:
        table = plan.route_table(subnet.route_table or "")
        (route,) = table.routes
        nat = next(n for n in plan.nat_gateways if n.key == route.nat_gateway)
        assert plan.subnet(nat.subnet).az == subnet.az and plan.subnet(nat.subnet).public
    (service,) = plan.services
    assert service.desired_count == 2 and set(service.subnets) == {s.key for s in private}
    (group,) = plan.target_groups
    assert group.deregistration_delay == 0  # the reference's own defect, kept
    assert group.health_check.interval == 6 and group.health_check.unhealthy_threshold == 10
    (lb,) = plan.load_balancers
    assert lb.idle_timeout == 30 and {n.subnet for n in lb.nodes} == {s.key for s in public}
    (container,) = plan.task_definitions[0].containers
    assert "standin_server" in (container.command or "") and container.command.endswith("--port 80")
    svc_group = plan.security_group(service.security_groups[0])
    assert [r.group for r in svc_group.ingress] == [lb.security_groups[0]]
    assert any(n.type == "AWS::IAM::Role" for n in plan.notices)


def test_addresses_skip_aws_reserved_ones_and_public_ips_are_documentation_range(
    reference_dir: Path,
) -> None:
    plan = load_plan(reference_dir / "parent.yml")
    statics = [n.private_ip for n in plan.nat_gateways] + [
        node.private_ip for lb in plan.load_balancers for node in lb.nodes
    ]
    for ip in statics:
        subnet = next(s for s in plan.subnets if ip in s.cidr)
        assert ip in set(usable_hosts(subnet.cidr))
        assert int(ip) - int(subnet.cidr.network_address) >= 4
    publics = [n.public_ip for n in plan.nat_gateways] + [
        node.public_ip for lb in plan.load_balancers for node in lb.nodes
    ]
    assert len(set(publics)) == len(publics) and all(ip in PUBLIC_POOL for ip in publics)


def test_default_synth_keeps_our_hardening(tmp_path: Path) -> None:
    plan = load_plan(_synth(tmp_path))
    (service,) = plan.services
    assert service.circuit_breaker and service.rollback and service.health_check_grace_period > 0
    (group,) = plan.target_groups
    assert group.deregistration_delay > 0
    lb_group = plan.security_group(plan.load_balancers[0].security_groups[0])
    # No default allow-all egress: the synth replaces it, and the twin must not add it back.
    assert not any(
        r.protocol == "all" and r.cidr == IPv4Network("0.0.0.0/0") for r in lb_group.egress
    )
    assert any(r.group == service.security_groups[0] for r in lb_group.egress)


def test_config_local_command_reaches_the_twin_through_template_metadata(tmp_path: Path) -> None:
    config = parse_config(
        '[service]\nimage = "example.com/api:1"\n[local]\ncommand = "my-api --port {port}"\n'
    )
    plan = load_plan(_synth(tmp_path, config))
    (container,) = plan.task_definitions[0].containers
    assert container.command == "my-api --port 80"
    parsed = yaml.safe_load((tmp_path / "service.yml").read_text())
    assert parsed["Resources"]["TaskDefinition"]["Metadata"]["fargate-api"]["local"] == {
        "command": "my-api --port {port}"
    }


def test_run_option_wins_over_metadata_and_matches_by_repository_name(tmp_path: Path) -> None:
    # The config's [local] command reaches the task definition's Metadata (as the synth
    # writes it); --run must still win, matched on the image's repository name only.
    config = parse_config(
        '[service]\nimage = "public.ecr.aws/docker/library/nginx:1.27"\n'
        '[local]\ncommand = "from-metadata --port {port}"\n'
    )
    parent = _synth(tmp_path, config)
    parsed = yaml.safe_load((tmp_path / "service.yml").read_text())
    metadata = parsed["Resources"]["TaskDefinition"]["Metadata"][SUPPRESSIONS][LOCAL]
    assert metadata == {"command": "from-metadata --port {port}"}
    assert load_plan(parent).task_definitions[0].containers[0].command == (
        "from-metadata --port 80"
    )
    plan = load_plan(parent, image_commands={"nginx": "serve {port}"})
    assert plan.task_definitions[0].containers[0].command == "serve 80"


def test_cdk_single_template_runs(tmp_path: Path) -> None:
    plan = load_plan(CDK_TEMPLATE)
    (service,) = plan.services
    assert service.desired_count == 2 and service.health_check_grace_period == 60
    (group,) = plan.target_groups
    # CDK leaves health check settings out: the ELB defaults apply.
    assert (group.health_check.interval, group.health_check.healthy_threshold) == (30, 5)
    assert group.deregistration_delay == 300
    assert len(plan.nat_gateways) == 2 and all(
        n.public_ip in PUBLIC_POOL for n in plan.nat_gateways
    )
    assert plan.task_definitions[0].containers[0].log is not None


def test_unknown_image_is_refused_with_the_fix(tmp_path: Path) -> None:
    config = parse_config('[service]\nimage = "example.com/api:1"\n')
    with pytest.raises(PlanError) as caught:
        load_plan(_synth(tmp_path, config))
    assert "example.com/api:1" in caught.value.what
    assert "--run" in (caught.value.fix or "")
    assert "service.yml" in (caught.value.where or "")


def _single(tmp_path: Path, resources: dict[str, object]) -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Resources": resources}))
    return path


def test_no_vpc_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no VPC"):
        load_plan(_single(tmp_path, {"Topic": {"Type": "AWS::SNS::Topic"}}))


def test_two_vpcs_are_refused(tmp_path: Path) -> None:
    vpc = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}
    with pytest.raises(PlanError, match="2 VPCs"):
        load_plan(_single(tmp_path, {"A": vpc, "B": vpc}))


def test_vpc_without_service_is_refused(tmp_path: Path) -> None:
    resources = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Sub": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24"},
        },
    }
    with pytest.raises(PlanError, match="no ECS service"):
        load_plan(_single(tmp_path, resources))


def test_subnet_outside_vpc_is_refused(tmp_path: Path) -> None:
    resources = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Sub": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24"},
        },
    }
    with pytest.raises(PlanError, match="outside its VPC"):
        load_plan(_single(tmp_path, resources))


def test_missing_template_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError):
        load_plan(tmp_path / "absent.yml")


def test_usable_hosts_match_aws_reservations() -> None:
    hosts = list(usable_hosts(IPv4Network("10.0.0.0/28")))
    assert hosts[0] == IPv4Address("10.0.0.4") and hosts[-1] == IPv4Address("10.0.0.14")
    assert len(hosts) == 11  # 16 minus the 5 AWS reserves


def _synth_edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The default synth with service.yml's Resources changed by `edit`."""
    parent = _synth(tmp_path)
    service = tmp_path / "service.yml"
    template = yaml.safe_load(service.read_text())
    edit(template["Resources"])
    service.write_text(yaml.safe_dump(template, sort_keys=False))
    return parent


def test_listener_actions_and_rules_reach_the_plan(tmp_path: Path) -> None:
    def edit(resources: dict[str, Any]) -> None:
        listener = resources["PublicLoadBalancerListener"]["Properties"]
        listener["DefaultActions"] = [
            {"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": "404"}},
            {"Type": "redirect", "Order": 1, "RedirectConfig": {"StatusCode": "HTTP_301"}},
        ]
        forward = {"Type": "forward", "TargetGroupArn": {"Ref": "ServiceTargetGroup"}}
        for name, priority, condition in (
            ("ApiRule", 20, {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}),
            ("HeaderRule", 10, {"Field": "http-header", "Values": ["x"]}),
        ):
            resources[name] = {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": {"Ref": "PublicLoadBalancerListener"},
                    "Priority": priority,
                    "Conditions": [condition],
                    "Actions": [forward],
                },
            }

    plan = load_plan(_synth_edited(tmp_path, edit))
    ((listener,),) = [lb.listeners for lb in plan.load_balancers]
    redirect, fixed = listener.default_actions
    assert (redirect.kind, redirect.status_code, redirect.redirect_host) == (
        "redirect",
        301,
        "#{host}",
    )
    assert (fixed.kind, fixed.status_code, fixed.content_type) == (
        "fixed-response",
        404,
        "text/plain",
    )
    # The twin matches paths and hosts only; a header rule is left out with a notice.
    (rule,) = listener.rules
    assert rule.key.endswith("/ApiRule") and rule.path_patterns == ("/api/*",)
    assert any(
        n.resource.endswith("/HeaderRule") and "http-header" in n.reason for n in plan.notices
    )


def test_a_forward_to_no_target_group_is_refused_naming_the_property(tmp_path: Path) -> None:
    def edit(resources: dict[str, Any]) -> None:
        listener = resources["PublicLoadBalancerListener"]["Properties"]
        listener["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": "arn:aws:tg/x"}]

    with pytest.raises(PlanError) as caught:
        load_plan(_synth_edited(tmp_path, edit))
    assert "PublicLoadBalancerListener.TargetGroupArn" in caught.value.what
    assert "'arn:aws:tg/x'" in caught.value.what


def test_a_target_group_tasks_cannot_register_with_is_refused(tmp_path: Path) -> None:
    def edit(resources: dict[str, Any]) -> None:
        del resources["ServiceTargetGroup"]["Properties"]["TargetType"]

    with pytest.raises(PlanError, match="TargetType instance") as caught:
        load_plan(_synth_edited(tmp_path, edit))
    assert caught.value.fix == "set TargetType: ip"


def test_an_attribute_listed_twice_runs_its_first_value(tmp_path: Path) -> None:
    """check judges the last value; the twin has always run the first one."""

    def edit(resources: dict[str, Any]) -> None:
        key = "deregistration_delay.timeout_seconds"
        resources["ServiceTargetGroup"]["Properties"]["TargetGroupAttributes"] = [
            {"Key": key, "Value": "45"},
            {"Key": key, "Value": "5"},
        ]

    (group,) = load_plan(_synth_edited(tmp_path, edit)).target_groups
    assert group.deregistration_delay == 45
