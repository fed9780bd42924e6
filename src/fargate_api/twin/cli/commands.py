"""`fargate-api local ...`: the twin's command line.

Data (the URL, egress IPs, `--json` status, log lines) goes to stdout; progress and
notices to stderr, like every other command of the tool.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fargate_api.cli_options import EnvOption, TemplatesOption
from fargate_api.errors import INTERRUPTED_EXIT_CODE, OperationError, UserError
from fargate_api.images.output_lines import tool_output
from fargate_api.twin.cli.built_images import BuildProgress, read_builds
from fargate_api.twin.cli.change_commands import (
    deploy_command,
    rollback_command,
    scale_command,
)
from fargate_api.twin.cli.common import (
    err_console,
    names_for,
    out_console,
    read_status,
)
from fargate_api.twin.cli.container_setup import (
    RUNTIME_CHOICES,
    choose_runtime,
    local_secret_values,
)
from fargate_api.twin.cli.experiment_command import experiment_command
from fargate_api.twin.cli.fault_command import fault_app, print_faults
from fargate_api.twin.cli.lifecycle import (
    down,
    make_room,
    start,
    wait_ready,
    wait_timeout,
)
from fargate_api.twin.cli.template_source import config_secrets, templates_for
from fargate_api.twin.daemon.contracts import (
    ContainerStatus,
    LoadBalancerState,
    TaskState,
    TwinState,
    TwinStatusReport,
)
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ecs.container_logs import k8s_file_text
from fargate_api.twin.ecs.images import parse_run_options
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.podman import Podman
from fargate_api.twin.host.prerequisites import check_prerequisites
from fargate_api.twin.naming import DEFAULT_NAME, TwinNames

local_app = typer.Typer(
    name="local",
    help="Run the templates on this machine as a real network: namespaces, nftables, "
    "HAProxy, and the tasks' containers run from their images with podman (or as "
    "local processes): the local twin. Needs root.",
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
    env: EnvOption = None,
    template: TemplatesOption = None,
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
    runtime: Annotated[
        str,
        typer.Option(
            "--runtime",
            help="auto | container | process. container: run the images with podman (the "
            "default where podman is installed); process: run local commands (--run, "
            "[local] command, stand-ins).",
        ),
    ] = "auto",
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="NAME=VALUE for a task definition secret. Repeatable."),
    ] = None,
    secrets_file: Annotated[
        list[Path] | None,
        typer.Option("--secrets-file", help="A file of NAME=VALUE lines. Repeatable."),
    ] = None,
    secrets_from_aws: Annotated[
        bool,
        typer.Option(
            "--secrets-from-aws",
            help="Read secrets without a local value from SSM and Secrets Manager "
            "(your AWS credentials).",
        ),
    ] = False,
    assume_task_role: Annotated[
        bool,
        typer.Option(
            "--assume-task-role",
            help="Hand tasks credentials of their task role (STS AssumeRole) instead of your own.",
        ),
    ] = False,
) -> None:
    """Build the twin, wait for healthy targets, print the URL and egress IPs. With --env
    and no --name, the twin is named after the environment."""
    names = names_for(name, env)
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a TCP port", fix="use 1-65535, or 0 for a free one")
    mapping = parse_run_options(run or [])
    if runtime not in RUNTIME_CHOICES:
        raise UserError(
            f"--runtime {runtime!r} is not a runtime", fix="use auto, container or process"
        )
    chosen, notice = choose_runtime(runtime, has_run_options=bool(mapping))
    check_prerequisites()
    err = err_console()
    if notice:
        err.print(escape(notice))
    values = local_secret_values(
        config_secrets(config, template, env), secret or [], secrets_file or []
    )
    make_room(names)
    try:
        stacks = templates_for(config, template, names.state_dir / "templates", env)
        builds = read_builds(stacks)
        if builds and chosen == "process":
            err.print(escape(builds.process_mode_notice()))
        with err.status("checking images…") as checking:

            def build_step(message: str) -> None:
                err.print(escape(message))
                checking.update(escape(message))

            plan, pid = start(
                names,
                stacks,
                mapping,
                port=port,
                time_scale=time_scale,
                runtime=chosen,
                secrets=values,
                secrets_from_aws=secrets_from_aws,
                assume_task_role=assume_task_role,
                on_progress=lambda line: checking.update(escape(line)),
                builds=builds,
                build_progress=BuildProgress(step=build_step, line=tool_output(err)),
            )
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
                desired = sum(s.desired for s in status.services) if status.services else "?"
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
    public = status.domain_urls[0] if status.domain_urls else status.url
    internal = _internal_urls(status)
    if public or not internal:
        reach = f"local exec --name {names.name} --internet -- curl -s {public or ''}"
    else:  # an internal balancer only: from a task, the internet cannot reach it
        reach = f"local exec --name {names.name} TASK_ID -- curl -s {internal[0]}"
    err.print(
        f"try: fargate-api local status --name {names.name} | local logs --name {names.name} | "
        f"{reach} | local down --name {names.name}"
    )


def _print_json(status: TwinState) -> None:
    """The documented `local status --json` shape (TwinStatusReport)."""
    out_console().print_json(TwinStatusReport.of(status).model_dump_json())


def _internal(status: TwinState) -> list[tuple[LoadBalancerState, str]]:
    """Each internal load balancer with its URL: what a task opens (never this machine
    nor the internet host, which cannot reach it)."""
    return [(lb, f"{lb.vpc_url}/") for lb in status.load_balancers if lb.vpc_url]


def _internal_urls(status: TwinState) -> list[str]:
    return [url for _, url in _internal(status)]


def _print_summary(status: TwinState) -> None:
    out = out_console()
    internal = _internal_urls(status)
    if status.url is None and internal:
        out.print("url:        (none: the load balancer is internal, reached inside the VPC)")
    else:
        out.print(f"url:        {status.url}")
    out.print(f"egress IPs: {', '.join(status.egress_ips) or '(none: no NAT gateway)'}")
    public_ips = status.load_balancer.public_ips if status.load_balancer else []
    out.print(f"ALB IPs:    {', '.join(public_ips) or ('(none public)' if internal else '')}")
    for lb, url in _internal(status):
        out.print(
            f"internal:   {url} ({', '.join(lb.private_ips)}), from a task: "
            f"local exec --name {status.name} TASK_ID -- curl -s {url}"
        )
    for url in status.domain_urls:
        out.print(
            f"domain:     {url} (from the internet host: local exec --internet -- curl {url})"
        )
    if status.ca_file:
        out.print(f"twin CA:    {status.ca_file} (signs the HTTPS listeners' certificates)")
        hint = _host_curl(status)
        if hint:
            out.print(f"from here:  {hint}")


def _host_curl(status: TwinState) -> str | None:
    """How to open the first domain from this machine with verification: through the
    forwarder's host port, trusting the twin's CA."""
    if not status.domain_urls or not status.ca_file:
        return None
    url = status.domain_urls[0]
    scheme, _, rest = url.partition("://")
    host, _, port = rest.partition(":")
    port = port or ("443" if scheme == "https" else "80")
    local = status.ports.get(port)
    if local is None:
        return None
    return f"curl --cacert {status.ca_file} --connect-to {host}:{port}:127.0.0.1:{local} {url}/"


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
            shift = ""
            if deployment.lifecycle_stage is not None:
                shift = (
                    f" {deployment.strategy} {deployment.outcome} at {deployment.lifecycle_stage}"
                    f" (production {deployment.production_percent or 0:g}%, test "
                    f"{deployment.test_percent or 0:g}%, in {', '.join(deployment.target_groups)})"
                )
            out.print(
                f"  {deployment.status:<8} revision {deployment.revision}: "
                f"{deployment.rollout_state}, {deployment.healthy}/{deployment.running} "
                f"healthy{shift}{reason}"
            )
        for alarm in service.alarms:
            why = f": {alarm.reason}" if alarm.reason else ""
            out.print(f"  alarm {alarm.name}: {alarm.state}{why}")
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
    several = len(status.services) > 1
    service_names = {service.key: service.name for service in status.services}
    columns = ("id", "private ip", "subnet", "az", "health", "status", "revision")
    for column in ("service", *columns) if several else columns:
        table.add_column(column, overflow="fold")
    for task in status.tasks:
        first = [service_names.get(task.service, task.service)] if several else []
        table.add_row(
            *first,
            task.id,
            task.private_ip,
            task.subnet,
            task.az,
            task.health,
            task.last_status,
            str(task.revision),
        )
    out.print(table)
    containers = Table(title=f"containers ({status.runtime or 'process'} mode)")
    for column in ("task", "container", "image", "status", "health", "exit code", "reason"):
        containers.add_column(column, overflow="fold")
    for task in status.tasks:
        for item in task.containers:
            containers.add_row(
                task.id[:8],
                item.name + ("" if item.essential else " (non-essential)"),
                item.image,
                item.last_status,
                item.health,
                "" if item.exit_code is None else str(item.exit_code),
                item.reason,
            )
    if any(task.containers for task in status.tasks):
        out.print(containers)
    for stopped in status.stopped_tasks[:5]:
        out.print(f"stopped {stopped.id[:8]}: {stopped.reason}")
    _print_parts(status)
    if status.faults:
        print_faults(status.faults)
    if status.error:
        err_console().print(f"[bold red]error:[/bold red] {escape(status.error)}")


def _print_parts(status: TwinState) -> None:
    """The supervised parts (daemon/supervisor.py): health, restarts, the latest reason;
    a part the daemon could not restore is named in red, with why."""
    if not status.parts:
        return
    table = Table(title="parts")
    for column in ("part", "health", "restarts", "reason"):
        table.add_column(column, overflow="fold")
    for part in status.parts:
        health = part.health if part.health != "failed" else "[red]failed[/red]"
        table.add_row(escape(part.name), health, str(part.restarts), escape(part.reason))
    out_console().print(table)
    for part in status.parts:
        if part.health == "failed":
            err_console().print(
                f"[bold red]part {escape(part.name)} failed:[/bold red] {escape(part.reason)} "
                "(the daemon keeps retrying it; the rest of the twin runs)"
            )


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


def _task(status: TwinState, names: TwinNames, task_id: str) -> TaskState:
    ids = [t.id for t in status.tasks]
    matches = [t for t in status.tasks if t.id.startswith(task_id)]
    if len(matches) != 1:
        raise UserError(
            f"{'no' if not matches else 'more than one'} task of twin {names.name!r} "
            f"matches {task_id!r}",
            fix=f"use one of: {', '.join(ids) or '(no tasks running)'}",
        )
    return matches[0]


def _container_of(task: TaskState, container: str | None) -> ContainerStatus:
    """The container `local exec` enters: the one named, or the task's first essential
    container (ECS Exec asks for a name only when the task has several)."""
    running = [c for c in task.containers if c.last_status == "RUNNING"]
    if container is None:
        chosen = next((c for c in running if c.essential), running[0] if running else None)
    else:
        chosen = next((c for c in running if c.name == container), None)
    if chosen is None:
        raise UserError(
            f"task {task.id[:8]} has no running container"
            + (f" named {container!r}" if container else ""),
            fix="running: " + (", ".join(c.name for c in running) or "(none)"),
        )
    return chosen


@local_app.command(
    "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def exec_command(
    ctx: typer.Context,
    internet: Annotated[
        bool, typer.Option("--internet", help="Run on the internet host instead of a task.")
    ] = False,
    container: Annotated[
        str | None,
        typer.Option("--container", help="Which container of the task (container mode)."),
    ] = None,
    name: NameOption = DEFAULT_NAME,
) -> None:
    """Run a command in a task's container, like ECS Exec: `exec TASK_ID [--container NAME]
    -- CMD...` (in process mode: in the task's namespace), or on the internet host:
    `exec --internet -- CMD...`."""
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
    status = read_status(names)
    if internet:
        netns = names.internet
    else:
        assert task is not None
        chosen = _task(status, names, task)
        if status.runtime == "container" and status.containers_conf:
            target = _container_of(chosen, container)
            podman = Podman(Path(status.containers_conf))
            interactive = sys.stdin.isatty() and sys.stdout.isatty()
            argv = podman.exec_argv(target.runtime_id, command, interactive=interactive)
            result = subprocess.run(argv, env=podman.env(), check=False)
            raise typer.Exit(result.returncode)
        netns = names.task(chosen.id)
    if netns not in host.netns_list():
        raise UserError(f"namespace {netns} is gone", fix="check `fargate-api local status`")
    env = internet_tls_env(status) if internet else None
    result = subprocess.run(host.in_netns(netns, command), check=False, env=env)
    raise typer.Exit(result.returncode)


def internet_tls_env(status: TwinState) -> dict[str, str] | None:
    """The environment of a command on the internet host: this one, plus the twin's CA
    trusted by curl (CURL_CA_BUNDLE), OpenSSL (SSL_CERT_FILE), Python's requests
    (REQUESTS_CA_BUNDLE), each the system's CAs plus the twin's, and Node.js
    (NODE_EXTRA_CA_CERTS, the twin's alone: Node adds it to its own). None: no CA."""
    if not status.ca_bundle or not status.ca_file:
        return None
    return {
        **os.environ,
        "CURL_CA_BUNDLE": status.ca_bundle,
        "SSL_CERT_FILE": status.ca_bundle,
        "REQUESTS_CA_BUNDLE": status.ca_bundle,
        "NODE_EXTRA_CA_CERTS": status.ca_file,
    }


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
            for line in k8s_file_text(data.decode(errors="replace").splitlines()):
                print(f"{stream} {line}")
        if not follow:
            return
        sys.stdout.flush()
        time.sleep(0.5)


local_app.command("deploy")(deploy_command)
local_app.command("scale")(scale_command)
local_app.command("rollback")(rollback_command)
local_app.command("experiment")(experiment_command)
local_app.add_typer(fault_app)
