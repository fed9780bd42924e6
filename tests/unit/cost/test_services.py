"""Several services behind one load balancer: each priced under its own ECS service name."""

from __future__ import annotations

import pytest

from fargate_api.config import parse_config
from fargate_api.cost.command import to_report
from fargate_api.cost.estimate import Assumptions, estimate
from fargate_api.cost.inventory import Inventory, from_stack_set
from fargate_api.cost.prices import load_bundled
from fargate_api.cost.variants import cheaper_variants
from unit.cost.support import stack_set_from_text, stack_set_of
from unit.variants import SERVICES_VARIANTS

US = load_bundled("us-east-1")
# api gets its own size, so that a line priced for the wrong service shows.
SERVICES = SERVICES_VARIANTS["services"].replace(
    "desired_count = 2\n", "desired_count = 3\ncpu = 512\nmemory = 1024\n", 1
)


def _inventory(text: str = SERVICES) -> Inventory:
    return from_stack_set(stack_set_of(parse_config(text, source="services.toml")))


def test_each_service_is_counted_under_its_ecs_service_name() -> None:
    inv = _inventory()
    assert [(g.service, g.tasks, g.vcpu, g.memory_gb) for g in inv.tasks] == [
        ("api", 3, 0.5, 1.0),
        ("web", 2, 0.25, 0.5),
    ]
    tasks = sorted((g.name, g.service) for g in inv.log_groups if g.kind == "tasks")
    assert tasks == [("LogGroup (api)", "api"), ("LogGroup (web)", "web")]
    assert [g.service for g in inv.log_groups if g.kind != "tasks"] == [None, None]
    assert inv.notes == ()


def test_fargate_and_log_lines_name_their_service_and_add_up_per_service() -> None:
    result = estimate(_inventory(), US, Assumptions())
    fargate = [line for line in result.lines if line.category == "Fargate x86"]
    assert [(line.service, line.item.split(" x ")[0]) for line in fargate] == [
        ("api", "api: 3 task(s)"),
        ("api", "api: 3 task(s)"),
        ("web", "web: 2 task(s)"),
        ("web", "web: 2 task(s)"),
    ]
    assert len({line.item for line in result.lines}) == len(result.lines)  # no twin lines
    totals = result.by_service()
    assert list(totals) == ["api", "web"]
    for name, amount in totals.items():
        own = [x for x in result.lines if x.service == name]
        assert {x.category for x in own} == {"Fargate x86", "CloudWatch Logs"}
        assert amount == pytest.approx(sum(x.monthly for x in own))
    assert totals["api"] > totals["web"]  # twice the size, one more task
    shared = [x for x in result.lines if x.service is None]
    assert {x.category for x in shared} >= {"NAT gateway", "Load balancer", "Data transfer"}
    assert result.total == pytest.approx(sum(totals.values()) + sum(x.monthly for x in shared))


def test_the_json_report_carries_the_service_of_each_line_and_the_subtotals() -> None:
    inv = _inventory()
    result = estimate(inv, US, Assumptions())
    report = to_report(
        result,
        variants=cheaper_variants(inv, US, Assumptions()),
        assumptions=Assumptions(),
        prices=US,
        origin="test",
    )
    assert [s.service for s in report.by_service] == ["api", "web"]
    assert report.by_service[0].monthly_total == round(result.by_service()["api"], 2)
    assert {line.service for line in report.lines} == {"api", "web", None}
    hints = {v.name: v.config for v in report.variants}
    assert hints["ARM (Graviton) tasks"] == 'platform = "ARM64" in every [[services]] table'


def test_one_service_keeps_its_service_keys_in_the_hints() -> None:
    inv = _inventory("")
    (group,) = inv.tasks
    assert group.service == "web"  # the ServiceName parameter's default
    (task_logs,) = [g for g in inv.log_groups if g.kind == "tasks"]
    assert (task_logs.name, task_logs.service) == ("LogGroup", "web")
    hints = {v.name: v.config for v in cheaper_variants(inv, US, Assumptions())}
    assert hints["ARM (Graviton) tasks"] == 'service.platform = "ARM64"'


NESTED_PARENT = """
Resources:
  One:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yml}
  Two:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yml, Parameters: {Name: orders}}
"""
NESTED_CHILD = """
Parameters:
  Name: {Type: String}
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties: {Cpu: "256", Memory: "512", ContainerDefinitions: []}
  Service:
    Type: AWS::ECS::Service
    Properties: {TaskDefinition: !Ref Task, DesiredCount: 1, ServiceName: !Ref Name}
"""


def test_a_name_not_known_falls_back_to_the_stack_and_logical_id() -> None:
    """One stack passes the name, the other leaves the parameter without a value."""
    stack_set = stack_set_from_text(**{"parent.yml": NESTED_PARENT, "child.yml": NESTED_CHILD})
    inv = from_stack_set(stack_set)
    assert sorted(g.service for g in inv.tasks) == ["One/Service", "orders"]
    alone = stack_set_from_text(**{"t.yml": NESTED_CHILD})
    assert [g.service for g in from_stack_set(alone).tasks] == ["Service"]
