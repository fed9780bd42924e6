"""Live progress of one stack operation: events, resource states, elapsed time, ECS detail.

It polls (through an injectable Clock) instead of using boto3 waiters, because waiters
are silent for the tens of minutes a Fargate deploy can take, and because while the
service stack is in progress ECS knows why tasks fail long before CloudFormation says,
and where its service deployment is (traffic shifted, baking, rolling back by alarm).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from fargate_api.aws.certificate_wait import CertificateWait
from fargate_api.aws.cfn import StackEvent, describe, new_events
from fargate_api.aws.clock import Clock, elapsed
from fargate_api.aws.ecs_diagnostics import (
    ECS_SERVICE_TYPE,
    EcsProbe,
    ServiceRef,
    Signal,
    service_from_arn,
)
from fargate_api.aws.hosted_zone import name_servers
from fargate_api.aws.prompts import Prompter
from fargate_api.aws.results import ServiceDeploymentRecord
from fargate_api.aws.service_deployments import DeploymentFollower
from fargate_api.aws.session import error_message

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_route53 import Route53Client

POLL_SECONDS = 3.0
MAX_ROWS = 14
MAX_SIGNALS = 6


@dataclass
class WatchOptions:
    cancel_on_failure: bool = False
    failure_repeats: int = 3
    poll_seconds: float = POLL_SECONDS
    service_deployments: bool = True
    """Show the ECS service deployment's phases while the service is updated (deploys;
    a delete has none to show)."""


@dataclass
class WatchResult:
    status: str
    events: list[StackEvent]
    signals: list[Signal]
    cancelled: str | None = None
    detached: bool = False
    deployments: list[ServiceDeploymentRecord] = field(default_factory=list)
    """The service deployments followed, in their last known state."""


@dataclass
class _Row:
    resource_type: str
    status: str
    reason: str


@dataclass
class _State:
    status: str = "…"
    rows: dict[str, _Row] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    events: list[StackEvent] = field(default_factory=list)
    cancelled: str | None = None
    phase: str = ""


@dataclass
class _Probes:
    """What the watch asks ECS, once the service is known."""

    ecs: EcsProbe | None = None
    deployments: DeploymentFollower | None = None

    def followed(self) -> list[ServiceDeploymentRecord]:
        return list(self.deployments.records.values()) if self.deployments else []


def status_style(status: str) -> str:
    if status.endswith("_FAILED") or "ROLLBACK" in status:
        return "red"
    if status.endswith("_COMPLETE"):
        return "green"
    return "yellow"


class StackWatcher:
    def __init__(
        self,
        cfn: CloudFormationClient,
        ecs: ECSClient,
        console: Console,
        *,
        clock: Clock,
        prompter: Prompter,
        options: WatchOptions | None = None,
        polling_ecs: ECSClient | None = None,
        route53: Route53Client | None = None,
    ) -> None:
        self.cfn = cfn
        self.route53 = route53
        self.ecs = ecs
        self.polling_ecs = polling_ecs or ecs
        self.console = console
        self.clock = clock
        self.prompter = prompter
        self.options = options or WatchOptions()

    def watch(
        self,
        stack_id: str,
        label: str,
        seen: set[str],
        cluster_hint: str = "",
        hosted_zone: str = "",
    ) -> WatchResult:
        """Follows the stack until its status is no longer *_IN_PROGRESS; `hosted_zone` is
        the zone a custom domain's certificate is validated in, to explain that wait."""
        state = _State()
        lock = threading.Lock()
        start = self.clock.now()
        probes = _Probes()
        certificates = CertificateWait(
            hosted_zone, self._name_servers if self.route53 is not None else None
        )

        def render() -> RenderableType:
            with lock:
                return _render(label, state, self.clock.now() - start)

        live: Live | None = None
        if self.console.is_terminal:
            live = Live(get_renderable=render, console=self.console, refresh_per_second=4)
            live.start()
        else:
            self.console.print(f"{label}: started")
        try:
            while True:
                try:
                    done = self._poll_once(
                        stack_id,
                        label=label,
                        seen=seen,
                        state=state,
                        lock=lock,
                        probes=probes,
                        cluster_hint=cluster_hint,
                        certificates=certificates,
                    )
                    if done:
                        break
                    self.clock.sleep(self.options.poll_seconds)
                except KeyboardInterrupt:
                    if live:
                        live.stop()
                    choice = self.prompter.interrupted(label, state.status)
                    if choice == "leave":
                        self.console.print(
                            f"{label} goes on in AWS ({state.status}); "
                            "'fargate-api status' shows where it is"
                        )
                        return WatchResult(
                            state.status,
                            state.events,
                            state.signals,
                            state.cancelled,
                            True,
                            probes.followed(),
                        )
                    if choice == "cancel":
                        self._cancel(stack_id, label, state, "interrupted by the user")
                    if live:
                        live.start()
        finally:
            if live:
                live.stop()
        if probes.deployments is not None and probes.deployments.following:
            # The stack ended between two polls: the deployment's last phase.
            self._show_phases(probes.deployments, state, lock)
        self.console.print(
            Text.assemble(
                f"{label}: ",
                (state.status, status_style(state.status)),
                f" after {elapsed(self.clock.now() - start)}",
            )
        )
        return WatchResult(
            state.status,
            state.events,
            state.signals,
            state.cancelled,
            deployments=probes.followed(),
        )

    def _poll_once(
        self,
        stack_id: str,
        *,
        label: str,
        seen: set[str],
        state: _State,
        lock: threading.Lock,
        probes: _Probes,
        cluster_hint: str,
        certificates: CertificateWait,
    ) -> bool:
        current = describe(self.cfn, stack_id)
        try:
            events = new_events(self.cfn, stack_id, seen)
        except ClientError as exc:
            if "does not exist" not in error_message(exc):
                raise
            events = []
        with lock:
            for event in events:
                state.events.append(event)
                if not event.is_stack:
                    state.rows[event.logical_id] = _Row(
                        event.resource_type, event.status, event.reason
                    )
            state.status = current.status if current else "DELETE_COMPLETE"
        if not self.console.is_terminal:
            for event in events:
                self._print_event(label, event)
        with lock:
            rows = [(lid, row.resource_type, row.status) for lid, row in state.rows.items()]
        for line in certificates.poll(rows, self.clock.now()):
            self.console.print(f"  [dim]certificate:[/dim] {escape(line)}")
        if current is not None and current.in_progress:
            probes.ecs = probes.ecs or self._find_probe(state, cluster_hint)
            probe = probes.ecs
            if probe is not None:
                signals = probe.poll()
                with lock:
                    state.signals.extend(signals)
                for signal in signals:
                    if not self.console.is_terminal or signal.kind != "event":
                        self.console.print(f"  [dim]ecs:[/dim] {escape(signal.message)}")
                if self.options.service_deployments:
                    probes.deployments = probes.deployments or DeploymentFollower(
                        self.polling_ecs, probe.ref
                    )
                    self._show_phases(probes.deployments, state, lock)
                self._maybe_cancel(stack_id, label, state, probe, signals)
        return current is None or not current.in_progress

    def _show_phases(
        self, follower: DeploymentFollower, state: _State, lock: threading.Lock
    ) -> None:
        """Each phase once, as it changes: the lines stay in the scrollback as a record of
        the deployment, on a terminal and in a CI log alike."""
        lines = follower.poll()
        current = follower.current
        with lock:
            state.phase = current.phase if current is not None else ""
        for line in lines:
            self.console.print(f"  [dim]deployment:[/dim] {escape(line)}")

    def _name_servers(self, zone_id: str) -> tuple[str, list[str]] | None:
        """The zone's name and name servers, for what to check when validation hangs."""
        if self.route53 is None:
            return None
        try:
            return name_servers(self.route53, zone_id)
        except (ClientError, BotoCoreError):  # a hint only: never fails the watch
            return None

    def _print_event(self, label: str, event: StackEvent) -> None:
        reason = f" — {escape(event.reason)}" if event.reason else ""
        self.console.print(
            f"  {escape(event.logical_id)} [{status_style(event.status)}]{event.status}"
            f"[/{status_style(event.status)}]{reason}"
        )

    def _find_probe(self, state: _State, cluster_hint: str) -> EcsProbe | None:
        for event in state.events:
            if event.resource_type == ECS_SERVICE_TYPE and event.physical_id:
                ref: ServiceRef | None = service_from_arn(event.physical_id, cluster_hint)
                if ref is not None:
                    return EcsProbe(self.ecs, ref)
        return None

    def _maybe_cancel(
        self,
        stack_id: str,
        label: str,
        state: _State,
        probe: EcsProbe,
        signals: list[Signal],
    ) -> None:
        if not self.options.cancel_on_failure or state.cancelled:
            return
        if any(s.kind == "circuit-breaker" for s in signals):
            self._cancel(stack_id, label, state, "the ECS deployment circuit breaker fired")
            return
        repeated = probe.repeated_failure(self.options.failure_repeats)
        if repeated:
            self._cancel(
                stack_id,
                label,
                state,
                f"the same task failure {self.options.failure_repeats} times: {repeated}",
            )

    def _cancel(self, stack_id: str, label: str, state: _State, why: str) -> None:
        status = state.status
        try:
            if status == "UPDATE_IN_PROGRESS":
                self.cfn.cancel_update_stack(StackName=stack_id)
                action = "cancelling the update; CloudFormation rolls back"
            elif status == "CREATE_IN_PROGRESS":
                self.cfn.delete_stack(StackName=stack_id)
                action = "cancelling the create: deleting the new stack"
            else:
                self.console.print(f"{label} is {status}: nothing to cancel, watching on")
                return
        except ClientError as exc:
            # The operation may have just ended; watching on shows how.
            self.console.print(f"could not cancel {label}: {escape(error_message(exc))}")
            return
        state.cancelled = why
        self.console.print(f"[bold yellow]{escape(why)}[/bold yellow] — {action}")


def _render(label: str, state: _State, seconds: float) -> RenderableType:
    header = Spinner(
        "dots",
        text=Text.assemble(
            (label, "bold"),
            ": ",
            (state.status, status_style(state.status)),
            f" · {elapsed(seconds)}",
        ),
    )
    table = Table(show_header=True, box=None, pad_edge=False)
    table.add_column("resource")
    table.add_column("type", style="dim")
    table.add_column("status")
    table.add_column("reason", overflow="fold")
    rows = list(state.rows.items())
    for logical_id, row in rows[-MAX_ROWS:]:
        table.add_row(
            logical_id, row.resource_type, Text(row.status, status_style(row.status)), row.reason
        )
    done = sum(1 for _, row in rows if row.status.endswith("_COMPLETE"))
    parts: list[RenderableType] = [
        header,
        table,
        Text(f"{done}/{len(rows)} resources done", style="dim"),
    ]
    for signal in state.signals[-MAX_SIGNALS:]:
        parts.append(Text(f"ecs: {signal.message}", style="red" if signal.failure_key else ""))
    if state.phase:
        parts.append(Text(f"deployment: {state.phase}", style="bold"))
    return Group(*parts)


Renderer = Callable[[], RenderableType]
