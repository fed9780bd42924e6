"""ECS's traffic-shifting deployments (BLUE_GREEN, CANARY, LINEAR) as pure arithmetic.

ECS runs the new revision ("green") beside the old one ("blue") at full size, in the
other target group, then moves the listener rules' forward weights: the test rule all at
once, the production rule in the strategy's steps, then waits the bake time before it
removes the old revision. Which steps and how long each waits is all that differs
between the strategies, so it is kept here, apart from the state machine that acts on it
(service_scheduler.py), and tested on its own.
"""

from __future__ import annotations

import math
from typing import Literal

from fargate_api.twin.plan.model import DeploymentPlan

# ECS's lifecycleStage values of a service deployment, in the order they occur.
LifecycleStage = Literal[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
]
# Stages in which a deployment can still go back: the old revision still runs.
REVERSIBLE: tuple[LifecycleStage, ...] = (
    "SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
)
# ELB weights are integers 0..999; a share is expressed in tenths of a percent.
WEIGHT_SCALE = 1000
_PERCENT_TENTHS = 10


def production_steps(plan: DeploymentPlan) -> tuple[float, ...]:
    """The new revision's share of production traffic after each shift, ending at 100.

    LINEAR moves StepPercent at a time (the last step may be smaller); CANARY moves
    CanaryPercent, then the rest; BLUE_GREEN everything at once.
    """
    if plan.strategy == "CANARY" and plan.canary_percent < 100:
        return (plan.canary_percent, 100.0)
    if plan.strategy == "LINEAR" and plan.linear_percent < 100:
        count = math.ceil(100 / plan.linear_percent - 1e-9)
        shares = [round(min(plan.linear_percent * (i + 1), 100.0), 1) for i in range(count)]
        return (*shares[:-1], 100.0)
    return (100.0,)


def wait_after_step(plan: DeploymentPlan, step: int) -> int:
    """Seconds (unscaled) the deployment stays at production step `step` before the next;
    0 after the last, where the bake time takes over."""
    if step >= len(production_steps(plan)) - 1:
        return 0
    if plan.strategy == "CANARY":
        return plan.canary_interval
    if plan.strategy == "LINEAR":
        return plan.linear_interval
    return 0


def weights(new_share: float) -> tuple[int, int]:
    """(old group's weight, new group's weight) for the new revision's share in percent.

    In thousandths, so a canary of 0.1 % is representable; 0 and 100 % become 1/0 and
    0/1 since an ELB weight may not exceed 999.
    """
    new = round(new_share * _PERCENT_TENTHS)
    if new <= 0:
        return (1, 0)
    if new >= WEIGHT_SCALE:
        return (0, 1)
    return (WEIGHT_SCALE - new, new)
