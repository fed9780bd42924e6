"""Target groups whose TargetType Fargate tasks cannot register with: built without
targets when no service registers with them (a placeholder a listener forwards to, as a
widely copied public VPC template has), refused where a service's binding names them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_api.config.loader import parse_config
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import TwinPlan

DUMMY = "ServiceStack/DummyTargetGroupPublic"
BLUE_GREEN = """
[deployment]
strategy = "blue_green"
test_listener_port = 8080
"""


def _synth_edited(tmp_path: Path, text: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The synth of `text` with service.yml's Resources changed by `edit`."""
    write_templates(synthesize(parse_config(text, Path("fargate-api.toml"))), tmp_path)
    path = tmp_path / "service.yml"
    template = yaml.safe_load(path.read_text())
    edit(template["Resources"])
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return tmp_path / "parent.yml"


def _placeholder(resources: dict[str, Any], target_type: str | None = None) -> None:
    """The listener's default action forwards to a target group with the public VPC
    template's settings (no TargetType: instance); a rule keeps the service's own group."""
    service_group = resources["ServiceTargetGroup"]["Properties"]
    props: dict[str, Any] = {
        "HealthCheckIntervalSeconds": 6,
        "HealthCheckPath": "/",
        "HealthCheckProtocol": "HTTP",
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 2,
        "Port": 80,
        "Protocol": "HTTP",
        "UnhealthyThresholdCount": 2,
        "VpcId": service_group["VpcId"],
    }
    if target_type is not None:
        props["TargetType"] = target_type
    resources["DummyTargetGroupPublic"] = {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": props,
    }
    listener = resources["PublicLoadBalancerListener"]["Properties"]
    resources["ApiRule"] = {
        "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
        "Properties": {
            "ListenerArn": {"Ref": "PublicLoadBalancerListener"},
            "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "Values": ["/*"]}],
            "Actions": listener["DefaultActions"],
        },
    }
    listener["DefaultActions"] = [
        {"Type": "forward", "TargetGroupArn": {"Ref": "DummyTargetGroupPublic"}}
    ]


def _default_forwards(plan: TwinPlan) -> list[str]:
    ((listener,),) = [lb.listeners for lb in plan.load_balancers]
    return [w.target_group for a in listener.default_actions for w in a.target_groups]


def test_a_placeholder_instance_group_no_service_uses_is_built_without_targets(
    tmp_path: Path,
) -> None:
    plan = load_plan(_synth_edited(tmp_path, "", _placeholder))
    # Built, and the listener's default action still forwards to it.
    dummy = plan.target_group(DUMMY)
    assert (dummy.port, dummy.health_check.interval) == (80, 6)
    assert _default_forwards(plan) == [DUMMY]
    # No service registers with it: no task will ever be a target there (503).
    (service,) = plan.services
    assert [b.target_group for b in service.load_balancers] == ["ServiceStack/ServiceTargetGroup"]
    (notice,) = [n for n in plan.notices if n.resource == DUMMY]
    assert notice.type == "AWS::ElasticLoadBalancingV2::TargetGroup"
    assert notice.reason.startswith("TargetType instance: no ECS service registers with it")
    assert "503" in notice.reason
    # An ip group is built as before, without a notice.
    assert not [n for n in plan.notices if n.resource.endswith("/ServiceTargetGroup")]


@pytest.mark.parametrize("target_type", ["lambda", "alb"])
def test_any_target_type_is_built_when_no_service_registers(
    tmp_path: Path, target_type: str
) -> None:
    plan = load_plan(_synth_edited(tmp_path, "", lambda r: _placeholder(r, target_type)))
    assert _default_forwards(plan) == [DUMMY]
    (notice,) = [n for n in plan.notices if n.resource == DUMMY]
    assert notice.reason.startswith(f"TargetType {target_type}:")


def test_a_service_registering_with_an_instance_group_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    def edit(resources: dict[str, Any]) -> None:
        _placeholder(resources)
        resources["Service"]["Properties"]["LoadBalancers"][0]["TargetGroupArn"] = {
            "Ref": "DummyTargetGroupPublic"
        }

    with pytest.raises(PlanError) as caught:
        load_plan(_synth_edited(tmp_path, "", edit))
    what = caught.value.what
    assert what.startswith("service Service (") and "service.yml:" in what
    assert "target group DummyTargetGroupPublic, which has TargetType instance" in what
    # `where` points at the target group, where the fix goes.
    assert "service.yml:" in (caught.value.where or "")
    assert caught.value.fix == "set TargetType: ip"


def test_a_blue_green_alternate_instance_group_is_refused_naming_both(tmp_path: Path) -> None:
    def edit(resources: dict[str, Any]) -> None:
        del resources["ServiceTargetGroupAlternate"]["Properties"]["TargetType"]

    with pytest.raises(PlanError) as caught:
        load_plan(_synth_edited(tmp_path, BLUE_GREEN, edit))
    what = caught.value.what
    assert what.startswith("service Service (") and "service.yml:" in what
    assert "target group ServiceTargetGroupAlternate, which has TargetType instance" in what
    assert caught.value.fix == "set TargetType: ip"


def test_a_blue_green_service_with_ip_groups_still_runs(tmp_path: Path) -> None:
    plan = load_plan(_synth_edited(tmp_path, BLUE_GREEN, lambda _: None))
    (shift,) = plan.services[0].deployment.shifts
    assert shift.alternate_target_group == "ServiceStack/ServiceTargetGroupAlternate"
    assert not [n for n in plan.notices if n.type == "AWS::ElasticLoadBalancingV2::TargetGroup"]
