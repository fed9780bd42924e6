"""Target tracking on requests per target, run against HAProxy's counters.

Application Auto Scaling computes ALBRequestCountPerTarget per minute and sets the
desired count to ceil(current * metric / target), within min and max, waiting the
scale-out and scale-in cooldowns. The twin does the same with the target group's
request total from HAProxy, over a window of one minute times the twin's time scale,
and converts the count back to a per-minute rate so the template's target means what
it says.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fargate_api.twin.plan.model import Autoscaling

WINDOW = 60.0  # the metric's period, seconds


@dataclass
class _Track:
    policy: Autoscaling
    last_total: int | None = None
    last_eval: float = 0.0
    last_scale_out: float = -math.inf
    last_scale_in: float = -math.inf
    last_metric: float | None = None


def decide(current: int, metric: float, policy: Autoscaling) -> int:
    """The capacity target tracking asks for (before cooldowns)."""
    if current <= 0:
        return policy.minimum
    wanted = math.ceil(current * metric / policy.requests_per_target)
    return max(policy.minimum, min(policy.maximum, wanted))


class Autoscaler:
    def __init__(
        self,
        policies: tuple[Autoscaling, ...],
        *,
        time_scale: float,
        request_total: Callable[[str], int],
        healthy_targets: Callable[[str], int],
        desired: Callable[[str], int],
        scale: Callable[[str, int, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tracks = [_Track(p) for p in policies]
        self.window = WINDOW * time_scale
        self.time_scale = time_scale
        self.request_total = request_total
        self.healthy_targets = healthy_targets
        self.desired = desired
        self.scale = scale
        self.clock = clock

    def start(self) -> None:
        """Bring the desired count within [min, max], as registering the target does."""
        for track in self.tracks:
            policy = track.policy
            current = self.desired(policy.service)
            bounded = max(policy.minimum, min(policy.maximum, current))
            if bounded != current:
                self.scale(
                    policy.service, bounded, f"within min {policy.minimum}, max {policy.maximum}"
                )
            track.last_eval = self.clock()

    def tick(self) -> None:
        now = self.clock()
        for track in self.tracks:
            if now - track.last_eval < self.window:
                continue
            policy = track.policy
            total = self.request_total(policy.target_group)
            previous, track.last_total = track.last_total, total
            elapsed, track.last_eval = now - track.last_eval, now
            if previous is None:
                continue
            targets = max(self.healthy_targets(policy.service), 1)
            # Per target and per minute of wall-clock time, whatever the window.
            # A counter that went back (a restarted HAProxy, were it not made monotonic
            # by LoadBalancers) counts as no traffic, never as negative traffic.
            metric = max(0, total - previous) / targets * WINDOW / elapsed
            track.last_metric = metric
            current = self.desired(policy.service)
            wanted = decide(current, metric, policy)
            reason = (
                f"requests per target {metric:.0f}/min against a target of "
                f"{policy.requests_per_target:.0f}"
            )
            if (
                wanted > current
                and now - track.last_scale_out >= policy.scale_out_cooldown * self.time_scale
            ):
                track.last_scale_out = now
                self.scale(policy.service, wanted, reason)
            elif (
                wanted < current
                # Scale-in waits its cooldown after any scaling: capacity just added is
                # not taken away by the next quiet window.
                and now - max(track.last_scale_in, track.last_scale_out)
                >= policy.scale_in_cooldown * self.time_scale
            ):
                track.last_scale_in = now
                self.scale(policy.service, wanted, reason)

    def describe(self, service: str) -> dict[str, object] | None:
        for track in self.tracks:
            if track.policy.service == service:
                return {
                    "min": track.policy.minimum,
                    "max": track.policy.maximum,
                    "requests_per_target": track.policy.requests_per_target,
                    "last_metric": track.last_metric,
                }
        return None
