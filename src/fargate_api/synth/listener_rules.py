"""Which requests a service's listener rules match, on which listener, at which priority.

A stack with a load balancer of its own (service.yml) sends every path to its one service,
so a rule exists only where ECS needs one to shift traffic, and it matches all paths. A
service on the shared load balancer (service-<name>.yml) is reached only through a rule:
the listeners' ARNs come in as parameters, the rule matches the service's paths and hosts
at the service's priority, and the listeners' default action answers 404 to the rest.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from fargate_api.config.model import ServiceConfig
from fargate_api.synth.intrinsics import Json, ref
from fargate_api.synth.template import Template

SERVICE_RULE = "ServiceListenerRule"
# The shared load balancer's listeners, as parameters of each service stack.
LISTENER_PARAMETER = "ListenerArn"
TEST_LISTENER_PARAMETER = "TestListenerArn"
# Every path: on a stack's own load balancer the rule decides for the whole listener.
ALL_PATHS = "/*"
# The lowest priority number wins; nothing else on a stack's own listeners has a rule.
RULE_PRIORITY = 1


@dataclass(frozen=True)
class Routing:
    """Where the rules go and what they match.

    `listener` and `test_listener` are ARN values (a Ref of a listener resource or of a
    parameter). Without `test_listener`, a stack that has a test listener port adds its own
    TestListener, a copy of `own_listener` (the logical id of its production listener)."""

    listener: Json
    conditions: tuple[Json, ...]
    priority: int
    test_listener: Json | None = None
    own_listener: str | None = None


def own_routing(listener_id: str) -> Routing:
    """service.yml: every path of the stack's own production listener."""
    every_path = {"Field": "path-pattern", "PathPatternConfig": {"Values": [ALL_PATHS]}}
    return Routing(ref(listener_id), (every_path,), RULE_PRIORITY, own_listener=listener_id)


def shared_routing(svc: ServiceConfig, priority: int, *, test_listener: bool) -> Routing:
    """service-<name>.yml: the service's own paths and hosts on the shared listeners."""
    return Routing(
        ref(LISTENER_PARAMETER),
        rule_conditions(svc),
        priority,
        test_listener=ref(TEST_LISTENER_PARAMETER) if test_listener else None,
    )


def rule_conditions(svc: ServiceConfig) -> tuple[Json, ...]:
    """A path-pattern and a host-header condition, each only when the service sets it: the
    values of one condition are alternatives, the two conditions must both match."""
    conditions: list[Json] = []
    if svc.paths:
        conditions.append(
            {"Field": "path-pattern", "PathPatternConfig": {"Values": list(svc.paths)}}
        )
    if svc.hosts:
        conditions.append({"Field": "host-header", "HostHeaderConfig": {"Values": list(svc.hosts)}})
    return tuple(conditions)


def listener_rule(listener: Json, routing: Routing, actions: list[Json]) -> Json:
    """A ListenerRule's properties: `routing`'s conditions and priority on `listener`."""
    return {
        "ListenerArn": listener,
        "Priority": routing.priority,
        "Conditions": [copy.deepcopy(condition) for condition in routing.conditions],
        "Actions": actions,
    }


def add_service_rule(t: Template, routing: Routing, target_group: str) -> str:
    """The rule of a rolling service on the shared load balancer: forward to its group."""
    forward = {"Type": "forward", "TargetGroupArn": ref(target_group)}
    return t.add(
        SERVICE_RULE,
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        listener_rule(routing.listener, routing, [forward]),
    )
