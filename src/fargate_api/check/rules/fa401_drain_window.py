"""FA401: the drain window: deregistration delay vs idle timeout vs stop timeout.

On a deploy or scale-in, the load balancer first drains a task for the deregistration
delay, then ECS sends SIGTERM, then SIGKILL after StopTimeout. A delay of 0 (or shorter
than the keep-alive idle timeout) cuts requests in flight; a StopTimeout not longer than
the delay kills a task mid-drain whenever the stop does not wait for the drain (Fargate
Spot reclaims, StopTask, an essential container exiting).
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates import defaults
from fargate_api.templates.load_balancing import idle_timeout, read_target_group
from fargate_api.templates.props import as_int, get
from fargate_api.templates.topology import ServiceView, containers, services


class DrainWindow(Rule):
    meta = RuleMeta(
        id="FA401",
        name="drain-window",
        severity=Severity.WARNING,
        title="Deployments and scale-in can cut requests in flight",
        why="A deregistration delay of 0, or shorter than the load balancer's idle timeout, "
        "drops requests still running on a task that is being replaced; a StopTimeout not "
        "longer than the delay lets SIGKILL hit before the drain ends. Each deploy then shows "
        "up as a burst of 5xx errors.",
        fix="Set the target group's deregistration_delay.timeout_seconds to at least the idle "
        "timeout (and longer than the slowest request), and the container's StopTimeout "
        "longer than that delay (at most 120 s on Fargate).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in services(ctx):
            idle = self._idle_timeout(view)
            for target in view.targets:
                group = target.target_group
                read = read_target_group(group)
                delay, path = read.deregistration_delay, read.deregistration_delay_path
                if delay is None:
                    continue
                if delay == 0:
                    yield self.finding(
                        group,
                        f"target group {group.logical_id} has a deregistration delay of 0 s: "
                        "requests in flight are cut on every deployment and scale-in",
                        path,
                    )
                    continue
                if idle is not None and delay < idle:
                    yield self.finding(
                        group,
                        f"target group {group.logical_id} drains for {delay} s, less than the "
                        f"load balancer's idle timeout of {idle} s",
                        path,
                    )
                yield from self._stop_timeout(view, target.container_name, delay)

    def _stop_timeout(
        self, view: ServiceView, container_name: str | None, delay: int
    ) -> Iterator[Finding]:
        task = view.task_definition
        if task is None:
            return
        for index, container in containers(task):
            if container_name is not None and get(container, "Name") != container_name:
                continue
            raw = get(container, "StopTimeout")
            stop = defaults.STOP_TIMEOUT if raw is None else as_int(raw)
            if stop is not None and stop <= delay:
                shown = f"{stop} s" + (" (the default)" if raw is None else "")
                yield self.finding(
                    task,
                    f"container {get(container, 'Name')} has StopTimeout {shown}, not longer "
                    f"than the deregistration delay of {delay} s",
                    ("Properties", "ContainerDefinitions", index, "StopTimeout")
                    if raw is not None
                    else ("Properties", "ContainerDefinitions", index),
                )

    @staticmethod
    def _idle_timeout(view: ServiceView) -> int | None:
        known = [t for t in (idle_timeout(lb) for lb in view.load_balancers) if t is not None]
        return max(known) if known else None


RULE = DrainWindow()
