"""`fargate-api local ...`: the twin's command line.

Data (the URL, egress IPs, `--json` status, log lines) goes to stdout; progress and
notices to stderr, like every other command of the tool.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fargate_api.errors import INTERRUPTED_EXIT_CODE, OperationError, UserError
from fargate_api.twin.cli.change_commands import deploy_command, scale_command
from fargate_api.twin.cli.common import err_console, names_for, out_console, read_status
from fargate_api.twin.cli.lifecycle import (
    down,
    make_room,
    start,
    wait_ready,
    wait_timeout,
)
from fargate_api.twin.cli.template_source import templates_for
from fargate_api.twin.daemon.contracts import TwinState, TwinStatusReport
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ecs.images import parse_run_options
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.prerequisites import check_prerequisites
from fargate_api.twin.naming import DEFAULT_NAME, TwinNames

local_app = typer.Typer(
    name="local",
    help="Run the templates on this machine as a real network: namespaces, nftables, "
    "HAProxy and processes (the local twin). Needs root.",
    no_args_is_help=True,
)

NameOption = Annotated[
    str, typer.Option("--name", "-n", help="Which twin; several can run side by side.")
]


@local_app.command("up")
def up_command(
    *,
    config: Annotated[
        Path | None, typer.Option("-c", "--config", help="Synthesize this config and run it.")
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "-t",
            "--template",
            help="Run these templates instead: a parent, a single template, or a folder.",
        ),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            help="IMAGE=COMMAND: how to run an image locally ({port} is the container "
            "port). Repeatable.",
        ),
    ] = None,
    name: NameOption = DEFAULT_NAME,
    port: Annotated[int, typer.Option(help="Host port for the URL (default: a free one).")] = 0,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            help="Multiply health check, grace, drain and stop timers (e.g. 0.1); twin only.",
            min=0.01,
            max=1.0,
        ),
    ] = 1.0,
    timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for healthy targets (default: from the health checks)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Build the twin, wait for healthy targets, print the URL and egress IPs."""
    names = names_for(name)
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a TCP port", fix="use 1-65535, or 0 for a free one")
    mapping = parse_run_options(run or [])
    check_prerequisites()
    err = err_console()
    make_room(names)
    try:
        root = templates_for(config, template, names.state_dir / "templates")
        plan, pid = start(names, root, mapping, port=port, time_scale=time_scale)
    except BaseException:
        down(names)  # bad templates or config: leave nothing behind, not even state
        raise
    if plan.notices:
        err.print(
            f"[dim]{len(plan.notices)} resources are not built locally (IAM, Lambda, ...); "
            "`local status --json` lists them[/dim]"
        )
    limit = timeout if timeout is not None else wait_timeout(plan, time_scale)
    started = time.monotonic()
    try:
        with err.status("building the twin…") as spinner:

            def progress(status: TwinState) -> None:
                healthy = sum(t.health == "healthy" for t in status.tasks)
                desired = status.service.desired if status.service else "?"
                spinner.update(
                    f"{status.phase}: {healthy}/{desired} targets healthy "
                    f"({time.monotonic() - started:.0f} s)"
                )

            status = wait_ready(names, pid, limit, progress)
    except OperationError:
        # cli.main prints the reason once, after the clean-up.
        err.print("the twin did not start: removing what was built…")
        down(names)
        raise
    except KeyboardInterrupt:
        err.print("interrupted: removing what was built…")
        down(names)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    err.print(f"twin {names.name!r} is up in {time.monotonic() - started:.1f} s")
    if as_json:
        _print_json(status)
    else:
        _print_summary(status)
    err.print(
        f"try: fargate-api local status --name {names.name} | local logs --name {names.name} | "
        f"local exec --name {names.name} --internet -- curl -s {status.url or ''} | "
        f"local down --name {names.name}"
    )


def _print_json(status: TwinState) -> None:
    """The documented `local status --json` shape (TwinStatusReport)."""
    out_console().print_json(TwinStatusReport.of(status).model_dump_json())


def _print_summary(status: TwinState) -> None:
    out = out_console()
    out.print(f"url:        {status.url}")
    out.print(f"egress IPs: {', '.join(status.egress_ips) or '(none: no NAT gateway)'}")
    public_ips = status.load_balancer.public_ips if status.load_balancer else []
    out.print(f"ALB IPs:    {', '.join(public_ips)}")


@local_app.command("status")
def status_command(
    name: NameOption = DEFAULT_NAME,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stable JSON shape.")] = False,
) -> None:
    """Show the twin's URL, egress IPs, service and tasks with their target health."""
    names = names_for(name)
    status = read_status(names)
    if as_json:
        _print_json(status)
        return
    _print_summary(status)
    out = out_console()
    for service in status.services:
        out.print(
            f"service {service.name}: {service.running}/{service.desired} running, "
            f"revision {service.revision} ({status.phase})"
        )
        for deployment in service.deployments:
            reason = f" - {deployment.reason}" if deployment.reason else ""
            out.print(
                f"  {deployment.status:<8} revision {deployment.revision}: "
                f"{deployment.rollout_state}, {deployment.healthy}/{deployment.running} "
                f"healthy{reason}"
            )
        scaling = service.autoscaling
        if scaling:
            metric = scaling.last_metric
            shown = "not measured yet" if metric is None else f"{metric:.0f}/min"
            out.print(
                f"  autoscaling {scaling.min}-{scaling.max} tasks, target "
                f"{scaling.requests_per_target:.0f} requests per target per minute "
                f"(last: {shown})"
            )
    table = Table(title="tasks")
    for column in ("id", "private ip", "subnet", "az", "health", "status", "revision"):
        table.add_column(column, overflow="fold")
    for task in status.tasks:
        table.add_row(
            task.id,
            task.private_ip,
            task.subnet,
            task.az,
            task.health,
            task.last_status,
            str(task.revision),
        )
    out.print(table)
    if status.error:
        err_console().print(f"[bold red]error:[/bold red] {escape(status.error)}")


@local_app.command("down")
def down_command(name: NameOption = DEFAULT_NAME) -> None:
    """Stop the tasks, HAProxy and helpers, and remove every namespace (idempotent)."""
    names = names_for(name)
    check_prerequisites()
    err = err_console()
    with err.status(f"removing twin {names.name!r}…") as spinner:
        removed = down(names, on_progress=spinner.update)
    if removed:
        err.print(f"removed twin {names.name!r} ({len(removed)} items)")
    else:
        err.print(f"no twin named {names.name!r}: nothing to remove")


def _task_netns(names: TwinNames, task_id: str) -> str:
    status = read_status(names)
    ids = [t.id for t in status.tasks]
    matches = [i for i in ids if i.startswith(task_id)]
    if len(matches) != 1:
        raise UserError(
            f"{'no' if not matches else 'more than one'} task of twin {names.name!r} "
            f"matches {task_id!r}",
            fix=f"use one of: {', '.join(ids) or '(no tasks running)'}",
        )
    return names.task(matches[0])


@local_app.command(
    "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def exec_command(
    ctx: typer.Context,
    internet: Annotated[
        bool, typer.Option("--internet", help="Run on the internet host instead of a task.")
    ] = False,
    name: NameOption = DEFAULT_NAME,
) -> None:
    """Run a command in a task's namespace, like ECS Exec: `exec TASK_ID -- CMD...`, or on
    the internet host: `exec --internet -- CMD...`."""
    names = names_for(name)
    args = list(ctx.args)
    task = None if internet or not args else args.pop(0)
    command = args
    if (task is None) == (not internet):
        raise UserError(
            "say where to run: a TASK id or --internet (one of them)",
            fix="e.g. `local exec --internet -- curl -s URL`",
        )
    if not command:
        raise UserError(
            "no command given", fix="put it after `--`, e.g. `local exec --internet -- curl -s URL`"
        )
    check_prerequisites()
    if internet:
        read_status(names)
        netns = names.internet
    else:
        assert task is not None
        netns = _task_netns(names, task)
    if netns not in host.netns_list():
        raise UserError(f"namespace {netns} is gone", fix="check `fargate-api local status`")
    result = subprocess.run(host.in_netns(netns, command), check=False)
    raise typer.Exit(result.returncode)


@local_app.command("logs")
def logs_command(
    name: NameOption = DEFAULT_NAME,
    task: Annotated[str | None, typer.Option("--task", help="Only this task (id prefix).")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
) -> None:
    """Print the containers' stdout/stderr, one file per awslogs stream."""
    names = names_for(name)
    read_status(names)
    logs_dir = StateDir(names).logs
    offsets: dict[Path, int] = {}
    while True:
        files = sorted(p for p in logs_dir.rglob("*") if p.is_file()) if logs_dir.is_dir() else []
        if task:
            files = [p for p in files if p.name.startswith(task)]
        for path in files:
            stream = str(path.relative_to(logs_dir))
            with path.open("rb") as handle:
                handle.seek(offsets.get(path, 0))
                data = handle.read()
                offsets[path] = handle.tell()
            for line in data.decode(errors="replace").splitlines():
                print(f"{stream} {line}")
        if not follow:
            return
        sys.stdout.flush()
        time.sleep(0.5)


local_app.command("deploy")(deploy_command)
local_app.command("scale")(scale_command)
