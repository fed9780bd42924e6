"""FA405: losing one availability zone must not take away half of the service.

With two AZs and two tasks, an AZ outage halves capacity exactly when the survivors get
all the traffic; ECS replaces the lost tasks only after the outage is detected.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates import defaults
from fargate_api.templates.props import as_int, as_str, get
from fargate_api.templates.topology import SUBNETS_PATH, services

MAX_LOST_SHARE = 0.5


class AzLossCapacity(Rule):
    meta = RuleMeta(
        id="FA405",
        name="half-capacity-on-az-loss",
        severity=Severity.WARNING,
        title="Losing one availability zone removes half or more of the service's tasks",
        why="An AZ failure then overloads the remaining tasks at the moment they receive all "
        "the traffic, until ECS has started replacements elsewhere; with one task per AZ the "
        "service runs on a single task, or none.",
        fix="Spread the service over three or more AZs (subnets in three AZs) with at least one "
        "task per AZ, or run enough tasks that the survivors carry the load (autoscaling "
        "minimum sized for N-1 AZs).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in services(ctx):
            zones = {as_str(get(s.properties, "AvailabilityZone")) for s in view.subnets}
            if not view.subnets or None in zones:
                continue
            count = len(zones)
            props = view.service.properties
            raw = get(props, "DesiredCount")
            desired = defaults.DESIRED_COUNT if "DesiredCount" not in props else as_int(raw)
            if desired == 0:
                continue
            if desired is None:
                if count > 2:
                    continue
                share_text = f"{math.ceil(100 / count)}% of the tasks"
            else:
                lost = math.ceil(desired / count)
                if lost / desired < MAX_LOST_SHARE:
                    continue
                share_text = f"{lost} of {desired} tasks"
            yield self.finding(
                view.service,
                f"service {view.service.logical_id} spreads {desired if desired else 'its'} "
                f"task(s) over {count} AZ(s): losing one AZ takes away {share_text}",
                SUBNETS_PATH,
            )


RULE = AzLossCapacity()
