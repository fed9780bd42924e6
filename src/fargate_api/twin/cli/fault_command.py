"""`local fault ...`: inject into a running twin the faults AWS Fault Injection Service
injects into an account, each named after the FIS action it imitates and healing by
itself after its duration; `local fault --list` shows those in force, `--clear` ends them.

The daemon does the work between two ticks (twin/fis/manager.py) and checks the request
against the twin as it runs (twin/fis/requests.py): a refusal is exit 2 with the valid
values, like every bad input. What the fault did and how it heals go to stdout; progress
to stderr.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from fargate_api.errors import UserError
from fargate_api.twin.cli.common import err_console, names_for, out_console, read_status
from fargate_api.twin.daemon import change_requests
from fargate_api.twin.daemon.contracts import (
    ActiveFault,
    ClearFaultsRequest,
    FaultAction,
    FaultRequest,
    TwinAnswer,
    TwinState,
)
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.fis.requests import MAX_DURATION, MIN_DURATION
from fargate_api.twin.host.prerequisites import check_prerequisites
from fargate_api.twin.naming import DEFAULT_NAME, TwinNames

# Phases in which the daemon takes requests and has tasks to hit.
_LIVE = ("starting-tasks", "running")

fault_app = typer.Typer(
    name="fault",
    help="Inject the faults AWS Fault Injection Service (FIS) injects, into a running twin: "
    "an AZ outage, lost NAT gateway, stopped tasks, network latency or blackhole, CPU "
    "stress. Each heals by itself after --duration; --list shows the faults in force, "
    "--clear ends them.",
    no_args_is_help=True,
)

NameOption = Annotated[str | None, typer.Option("--name", "-n", help="Which twin.")]
DurationOption = Annotated[
    float | None,
    typer.Option(
        "--duration",
        help=f"Seconds until it heals by itself ({MIN_DURATION:g}-{MAX_DURATION:g}; FIS's "
        "longest action is 12 hours). Wall-clock seconds, whatever --time-scale says.",
    ),
]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", help="Every running task of this service (name or key)."),
]
TaskArgument = Annotated[
    str | None, typer.Argument(help="A task id, or a unique prefix of one (`local status`).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the fault as JSON.")]


@fault_app.callback(invoke_without_command=True)
def fault_group(
    ctx: typer.Context,
    show: Annotated[
        bool, typer.Option("--list", help="Show the faults in force, and when each heals.")
    ] = False,
    clear: Annotated[bool, typer.Option("--clear", help="End every fault in force now.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --list/--clear: JSON.")] = False,
    name: Annotated[str, typer.Option("--name", "-n", help="Which twin.")] = DEFAULT_NAME,
) -> None:
    """Inject a fault (an action below), list the faults in force, or clear them."""
    ctx.obj = name
    if ctx.invoked_subcommand is not None:
        if show or clear:
            raise UserError(
                "--list and --clear go without an action",
                fix="e.g. `local fault --list`, or `local fault az-outage AZ --duration 60`",
            )
        return
    if show and clear:
        raise UserError(
            "--list or --clear, not both", fix="`local fault --clear` lists what it ends"
        )
    if not show and not clear:
        raise UserError(
            "say what to do: an action, --list or --clear",
            fix="`fargate-api local fault --help` lists the actions",
        )
    names = names_for(name)
    if show:
        _print_list(_live_status(names).faults, as_json=as_json)
        return
    _live_status(names)
    answer = _send(names, ClearFaultsRequest(kind="clear-faults", id=change_requests.new_id()))
    cleared = answer.cleared or []
    if as_json:
        _print_json(cleared)
        return
    out = out_console()
    if not cleared:
        out.print("no fault was in force: nothing to clear")
    for fault in cleared:
        out.print(f"cleared {fault.id}: {fault.action} on {escape(fault.target)}")


@fault_app.command("az-outage")
def az_outage_command(
    ctx: typer.Context,
    az: Annotated[str, typer.Argument(help="The AZ, e.g. us-east-1a (`local status --json`).")],
    *,
    duration: DurationOption = None,
    name: NameOption = None,
    as_json: JsonOption = False,
) -> None:
    """FIS's "AZ Availability: Power Interruption" scenario: the AZ's subnets are
    black-holed at the router, its tasks stopped (no drain), its NAT gateway and load
    balancer node go down; ECS places replacements in the healthy AZs."""
    _inject(ctx, name, as_json, action="az-outage", az=az, duration=duration)


@fault_app.command("task-kill")
def task_kill_command(
    ctx: typer.Context,
    task: TaskArgument = None,
    *,
    service: ServiceOption = None,
    percent: Annotated[
        int | None,
        typer.Option(
            "--percent",
            help="This share of the service's running tasks, rounded up, at least one (FIS's "
            "selectionMode PERCENT); default: one task.",
        ),
    ] = None,
    name: NameOption = None,
    as_json: JsonOption = False,
) -> None:
    """FIS's aws:ecs:stop-task: ECS's StopTask (targets deregistered, then SIGTERM); the
    service replaces the tasks to keep its desired count. Nothing to heal."""
    _inject(ctx, name, as_json, action="task-kill", task=task, service=service, percent=percent)


@fault_app.command("network-latency")
def network_latency_command(
    ctx: typer.Context,
    task: TaskArgument = None,
    *,
    service: ServiceOption = None,
    ms: Annotated[
        int | None, typer.Option("--ms", help="Delay added to what the task sends (1-60000).")
    ] = None,
    jitter: Annotated[
        int, typer.Option("--jitter", help="Plus or minus this many ms (at most --ms).")
    ] = 0,
    duration: DurationOption = None,
    name: NameOption = None,
    as_json: JsonOption = False,
) -> None:
    """FIS's aws:ecs:task-network-latency: tc netem on the task's interface where the
    kernel has it, else a delaying TCP proxy in the task's namespace (it says which)."""
    _inject(
        ctx,
        name,
        as_json,
        action="network-latency",
        task=task,
        service=service,
        ms=ms,
        jitter_ms=jitter,
        duration=duration,
    )


@fault_app.command("network-blackhole")
def network_blackhole_command(
    ctx: typer.Context,
    task: TaskArgument = None,
    *,
    service: ServiceOption = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Only this port (default: every port).")
    ] = None,
    protocol: Annotated[str, typer.Option("--protocol", help="tcp or udp.")] = "tcp",
    traffic: Annotated[str, typer.Option("--traffic", help="ingress, egress or both.")] = "both",
    duration: DurationOption = None,
    name: NameOption = None,
    as_json: JsonOption = False,
) -> None:
    """FIS's aws:ecs:task-network-blackhole-port: nftables in the task's namespace drop
    the port's packets, coming in, going out or both."""
    if protocol not in ("tcp", "udp"):
        raise UserError(f"--protocol {protocol!r} is not a protocol", fix="use tcp or udp")
    if traffic not in ("ingress", "egress", "both"):
        raise UserError(
            f"--traffic {traffic!r} is not a direction", fix="use ingress, egress or both"
        )
    _inject(
        ctx,
        name,
        as_json,
        action="network-blackhole",
        task=task,
        service=service,
        port=port,
        protocol=protocol,
        traffic=traffic,
        duration=duration,
    )


@fault_app.command("cpu-stress")
def cpu_stress_command(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="A task id, or a unique prefix of one.")],
    *,
    percent: Annotated[
        int, typer.Option("--percent", help="CPU load to add, in % of the task's vCPUs (1-100).")
    ],
    duration: DurationOption = None,
    name: NameOption = None,
    as_json: JsonOption = False,
) -> None:
    """FIS's aws:ecs:task-cpu-stress: a burner in the task's cgroup, competing with its
    containers for the task's CPU. Container runtime only (`local up --runtime container`)."""
    _inject(ctx, name, as_json, action="cpu-stress", task=task, percent=percent, duration=duration)


@fault_app.command("nat-gateway-loss")
def nat_gateway_loss_command(
    ctx: typer.Context,
    az: Annotated[str, typer.Argument(help="The AZ whose NAT gateway fails.")],
    *,
    duration: DurationOption = None,
    name: NameOption = None,
    as_json: JsonOption = False,
) -> None:
    """FIS has no NAT gateway action: an experiment uses aws:network:disrupt-connectivity
    on the NAT gateway's subnet. The twin makes the NAT gateway alone forward nothing:
    the tasks routed through it lose their egress (and its IP)."""
    _inject(ctx, name, as_json, action="nat-gateway-loss", az=az, duration=duration)


# ---------------------------------------------------------------- helpers


def _inject(
    ctx: typer.Context,
    name: str | None,
    as_json: bool,
    *,
    action: FaultAction,
    duration: float | None = None,
    az: str | None = None,
    task: str | None = None,
    service: str | None = None,
    percent: int | None = None,
    ms: int | None = None,
    jitter_ms: int = 0,
    port: int | None = None,
    protocol: str = "tcp",
    traffic: str = "both",
) -> None:
    names = names_for(name or (ctx.obj if isinstance(ctx.obj, str) else DEFAULT_NAME))
    status = _live_status(names)
    if az is not None and status.availability_zones and az not in status.availability_zones:
        raise UserError(
            f"twin {names.name!r} has no subnet in AZ {az!r}",
            fix="use one of: " + ", ".join(status.availability_zones),
        )
    request = FaultRequest(
        kind="fault",
        id=change_requests.new_id(),
        action=action,
        duration=duration,
        az=az,
        task=task,
        service=service,
        percent=percent,
        ms=ms,
        jitter_ms=jitter_ms,
        port=port,
        protocol=_protocol(protocol),
        traffic=_traffic(traffic),
    )
    with err_console().status(f"injecting {action}…"):
        answer = _send(names, request)
    fault = answer.fault
    if fault is None:
        raise UserError("the twin's daemon answered without the fault it injected")
    if as_json:
        print(fault.model_dump_json(indent=2))
        return
    out = out_console()
    out.print(f"{fault.id} {fault.action} on {escape(fault.target)} ({fault.fis_action})")
    out.print(f"  did:   {escape(fault.did)}")
    out.print(f"  heals: {escape(fault.heals)}")


def _protocol(value: str) -> Literal["tcp", "udp"]:
    return "udp" if value == "udp" else "tcp"


def _traffic(value: str) -> Literal["ingress", "egress", "both"]:
    if value == "ingress":
        return "ingress"
    return "egress" if value == "egress" else "both"


def _live_status(names: TwinNames) -> TwinState:
    """The twin's state, when its daemon takes requests; exit 2 otherwise (there is
    nothing to inject a fault into)."""
    status = read_status(names)
    if status.phase not in _LIVE:
        why = status.error or f"it is {status.phase}"
        raise UserError(
            f"twin {names.name!r} is not running: {why}",
            fix=f"`fargate-api local up --name {names.name}` first"
            if status.phase != "building"
            else "wait for `local up` to finish",
        )
    return status


def _send(names: TwinNames, request: FaultRequest | ClearFaultsRequest) -> TwinAnswer:
    check_prerequisites()
    answer = change_requests.send(StateDir(names), request)
    if not answer.ok:
        raise UserError(answer.error or "the twin refused the fault")
    return answer


def _print_list(faults: list[ActiveFault], *, as_json: bool) -> None:
    if as_json:
        _print_json(faults)
        return
    if not faults:
        out_console().print("no fault in force")
        return
    print_faults(faults)


def print_faults(faults: list[ActiveFault]) -> None:
    """The faults in force, as `local fault --list` and `local status` show them."""
    out = out_console()
    table = Table(title="faults in force")
    for column in ("id", "action", "FIS action", "target", "heals in"):
        table.add_column(column, overflow="fold")
    now = time.time()
    for fault in faults:
        left = "" if fault.ends_at is None else f"{max(fault.ends_at - now, 0):.0f} s"
        table.add_row(fault.id, fault.action, fault.fis_action, fault.target, left)
    out.print(table)
    for fault in faults:
        out.print(f"{fault.id}: {escape(fault.did)}")


def _print_json(faults: list[ActiveFault]) -> None:
    """The same JSON for --list and --clear, so that a script reads either alike."""
    print(json.dumps([fault.model_dump(mode="json") for fault in faults], indent=2))
