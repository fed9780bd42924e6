"""FA408: a canary phase or linear step shorter than the target groups' drain window.

The issue asks for "a drain window shorter than the shift interval"; this is how the rule
reads it. A weight change on the production rule deregisters nothing: the load balancer
routes new requests by the new weights and lets requests in flight finish where they are.
What the deregistration delay does state is how long the service lets a request or a
connection run on a target (FA401 asks for a delay longer than the slowest request). When
a canary phase or a linear step is shorter than that, requests routed under one split are
still running when ECS shifts again: their errors and response times reach CloudWatch
(which records a request when it completes) after the next shift, so each split is judged
on part of its traffic, and connections held open for that long (WebSockets, streams)
still sit on the share ECS has moved on from.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.deployment_timing import longest, shift_interval, shifting_deployments
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.deployments import DeploymentView
from fargate_api.templates.load_balancing import read_target_group
from fargate_api.templates.model import Resource
from fargate_api.templates.props import as_list, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import TARGET_GROUP


class ShiftIntervalShorterThanDrain(Rule):
    meta = RuleMeta(
        id="FA408",
        name="shift-interval-shorter-than-drain",
        severity=Severity.WARNING,
        title="A canary phase or linear step is shorter than the target groups' drain window",
        why="The deregistration delay says how long a request or connection may run on a "
        "target. When ECS shifts traffic again sooner than that, requests of the previous "
        "split are still running: their errors and response times reach the alarms only "
        "after the next shift, and long-lived connections stay on the share ECS has moved "
        "on from.",
        fix="Make CanaryBakeTimeInMinutes or StepBakeTimeInMinutes (fargate-api: "
        "[deployment] canary_interval, linear_interval) at least as long as the target "
        "groups' deregistration_delay.timeout_seconds, or lower the delay to what the "
        "slowest request needs.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in shifting_deployments(ctx):
            interval = shift_interval(view)
            if interval is None:
                continue
            drain = longest(_target_groups(ctx, view), _deregistration_delay)
            if drain is None:
                continue
            delay, group = drain
            seconds = interval.minutes * 60
            if seconds >= delay:
                continue
            yield self.finding(
                view.service,
                f"service {view.service.logical_id}'s {interval.lasts} {interval.describe()} "
                f"({seconds} s), less than target group {group.logical_id}'s "
                f"deregistration delay of {delay} s: requests of one split are still running "
                "when ECS shifts again, and their errors reach the alarms after the shift",
                interval.path,
            )


def _deregistration_delay(group: Resource) -> int | None:
    return read_target_group(group).deregistration_delay


def _target_groups(query: StackQuery, view: DeploymentView) -> list[Resource]:
    """The groups ECS shifts between, or the service's own when no AdvancedConfiguration
    names them."""
    groups: list[Resource] = []
    for advanced in view.advanced:
        groups += [g for g in (advanced.primary, advanced.alternate) if g is not None]
    if not groups:
        for entry in as_list(get(view.service.properties, "LoadBalancers")):
            found = query.deref(get(entry, "TargetGroupArn"))
            if found is not None and found.type == TARGET_GROUP:
                groups.append(found)
    unique = {(g.stack, g.logical_id): g for g in groups}
    return list(unique.values())


RULE = ShiftIntervalShorterThanDrain()
