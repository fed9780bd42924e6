"""`local deploy`, `local scale` and `local rollback`: change a running twin the way ECS
changes a service.

Both return only when the service is settled again (the deployment COMPLETED, or FAILED
and rolled back; the new count healthy), showing progress, so that a script can run a
deploy under load and count failed requests afterwards. Exit 0 when the change went
through, 1 when the deployment failed (the reason is the circuit breaker's) or did not
settle in time, 2 when the twin refused the change: the codes of every command.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fargate_api.cli_options import EnvOption, TemplatesOption
from fargate_api.errors import OperationError, UserError
from fargate_api.images.output_lines import tool_output
from fargate_api.twin.cli.built_images import BuildProgress, read_builds
from fargate_api.twin.cli.common import err_console, names_for, read_status
from fargate_api.twin.cli.container_setup import prepare_images, twin_containers_conf
from fargate_api.twin.cli.template_source import templates_for
from fargate_api.twin.daemon import change_requests
from fargate_api.twin.daemon.contracts import (
    DeploymentState,
    DeployRequest,
    RollbackRequest,
    ScaleRequest,
    StackSource,
    TwinAnswer,
    TwinState,
)
from fargate_api.twin.daemon.runtimes import CONTAINERS_CONF
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ecs.images import parse_run_options
from fargate_api.twin.host.prerequisites import check_prerequisites
from fargate_api.twin.naming import DEFAULT_NAME, TwinNames
from fargate_api.twin.plan.load import load_plan

POLL = 0.5
DEFAULT_WAIT = 900.0

ServiceOption = Annotated[
    str | None, typer.Option("--service", help="Which service (when there are several).")
]
TwinOption = Annotated[str, typer.Option("--name", "-n", help="Which twin.")]
WaitOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait.")]


def deploy_command(
    *,
    config: Annotated[
        Path | None, typer.Option("-c", "--config", help="Synthesize this config and deploy it.")
    ] = None,
    env: EnvOption = None,
    template: TemplatesOption = None,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", help="IMAGE=COMMAND, added to the mappings given to `local up`."),
    ] = None,
    name: Annotated[
        str,
        typer.Option("--name", "-n", help="Which twin. Default: the --env name, else 'default'."),
    ] = DEFAULT_NAME,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the rollout.")] = DEFAULT_WAIT,
    only_service: Annotated[
        str | None,
        typer.Option(
            "--service",
            help="Deploy this service only; the others keep their revisions and counts.",
        ),
    ] = None,
) -> None:
    """Register a new task definition revision and roll the service like ECS does."""
    names = names_for(name, env)
    mapping = parse_run_options(run or [])
    check_prerequisites()
    status = read_status(names)
    state = StateDir(names)
    revision_dir = state.path / f"templates-{int(time.time() * 1000)}"
    stacks = templates_for(config, template, revision_dir, env)
    runtime = status.runtime or "process"
    err = err_console()
    # Bad input (templates, a missing image) is exit 2 before the twin is asked; the
    # templates are read before a build, which takes longer.
    builds = read_builds(stacks)
    parameters = builds.placeholders()
    # The daemon runs images with `local up`'s --run mappings plus these: check with both.
    known = {**_launch_commands(state), **mapping}
    plan = load_plan(stacks, image_commands=known or None, runtime=runtime, parameters=parameters)
    if builds and runtime == "process":
        err.print(escape(builds.process_mode_notice()))
    if runtime == "container":
        conf = Path(status.containers_conf or state.file(CONTAINERS_CONF))
        if builds:
            # A changed build has a new digest, so a new task definition; podman's layer
            # cache makes an unchanged one quick, and it changes nothing.
            progress = BuildProgress(lambda message: err.print(escape(message)), tool_output(err))
            parameters = builds.build(twin_containers_conf(conf), progress)
            plan = load_plan(
                stacks, image_commands=known or None, runtime=runtime, parameters=parameters
            )
        with err.status("checking images…") as checking:
            prepare_images(plan, conf, lambda line: checking.update(escape(line)))
    answer = change_requests.send(
        state,
        DeployRequest(
            kind="deploy",
            id=change_requests.new_id(),
            stacks=[StackSource.of(stack) for stack in stacks],
            image_commands=mapping,
            parameters=parameters,
            service=only_service,
        ),
    )
    if not answer.ok:
        raise UserError(answer.error or "the twin refused the deploy")
    revisions = answer.revisions or {}
    if not revisions:
        err.print("no task definition changed: nothing to deploy")
        _wait_settled(names, timeout)
        return
    for key, revision in revisions.items():
        err.print(f"{key}: deploying revision {revision}")
    final = _wait_settled(names, timeout)
    failed = []
    for service in final.services:
        if service.key not in revisions:
            continue
        mine = next(d for d in service.deployments if d.revision == revisions[service.key])
        if mine.rollout_state == "FAILED":
            failed.append(
                f"deployment of revision {mine.revision} failed: {mine.reason}; "
                f"the service runs revision {service.revision}"
            )
    if failed:
        raise OperationError("\n".join(failed))
    err.print(
        "deployment completed: " + ", ".join(f"{k} revision {v}" for k, v in revisions.items())
    )


def _launch_commands(state: StateDir) -> dict[str, str]:
    """The --run mappings `local up` gave the daemon (none if its launch file is unreadable)."""
    try:
        return dict(state.read_launch().image_commands)
    except (OSError, ValueError):
        return {}


def scale_command(
    count: Annotated[int, typer.Argument(help="The new desired count.", min=0, max=500)],
    *,
    service: ServiceOption = None,
    name: TwinOption = DEFAULT_NAME,
    timeout: WaitOption = DEFAULT_WAIT,
) -> None:
    """Set the desired count; scale-in drains like a deploy does."""
    names = names_for(name)
    answer = _ask(
        names,
        ScaleRequest(kind="scale", id=change_requests.new_id(), service=service, desired=count),
        refused="the twin refused to scale",
    )
    _wait_settled(names, timeout)
    err_console().print(f"{answer.service}: {count} tasks running and healthy")


def rollback_command(
    *,
    service: ServiceOption = None,
    name: TwinOption = DEFAULT_NAME,
    timeout: WaitOption = DEFAULT_WAIT,
) -> None:
    """Stop the deployment in progress and go back to the last completed revision, as
    ECS's StopServiceDeployment (ROLLBACK) does."""
    names = names_for(name)
    answer = _ask(
        names,
        RollbackRequest(kind="rollback", id=change_requests.new_id(), service=service),
        refused="the twin refused the rollback",
        fix="`fargate-api local status` shows the deployments",
    )
    stopped = (answer.revisions or {}).get(answer.service or "", 0)
    final = _wait_settled(names, timeout)
    current = next(s for s in final.services if s.key == answer.service)
    err_console().print(
        f"{current.name}: revision {stopped} rolled back; revision {current.revision} serves"
    )


def _ask(
    names: TwinNames,
    request: ScaleRequest | RollbackRequest,
    *,
    refused: str,
    fix: str | None = None,
) -> TwinAnswer:
    """Sends a change to a running twin; a refusal is bad input (exit 2), nothing changed."""
    check_prerequisites()
    read_status(names)
    answer = change_requests.send(StateDir(names), request)
    if not answer.ok:
        raise UserError(answer.error or refused, fix=fix)
    return answer


def _phase(deployment: DeploymentState) -> str:
    """One deployment as the spinner and `local status` show it."""
    text = f"{deployment.status.lower()} r{deployment.revision} {deployment.outcome.lower()}"
    if deployment.lifecycle_stage and deployment.outcome == "IN_PROGRESS":
        text += f" {deployment.lifecycle_stage}"
        if deployment.production_percent is not None:
            text += f" prod {deployment.production_percent:g}%"
        if deployment.test_percent:
            text += f" test {deployment.test_percent:g}%"
    return f"{text}: {deployment.healthy}/{deployment.running} healthy"


def _settled(status: TwinState) -> bool:
    for service in status.services:
        primary = service.deployments[0]
        if primary.rollout_state == "IN_PROGRESS":
            return False  # a deployment, or the rollback of a failed one, is under way
        tasks = [t for t in status.tasks if t.service == service.key]
        live = [t for t in tasks if t.last_status == "RUNNING"]
        if len(tasks) != service.desired or len(live) != service.desired:
            return False
        if service.load_balanced and any(t.health != "healthy" for t in live):
            return False
    return True


def _wait_settled(names: TwinNames, timeout: float) -> TwinState:
    err = err_console()
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    with err.status("rolling…") as spinner:
        while True:
            status = read_status(names)
            if status.phase == "dead":
                raise OperationError("the twin's daemon died", fix="`local down`, then `local up`")
            lines = []
            for service in status.services:
                parts = [_phase(d) for d in service.deployments if d.status != "INACTIVE"]
                lines.append(f"{service.name} (desired {service.desired}): " + "; ".join(parts))
            spinner.update(" | ".join(lines) + f" ({time.monotonic() - started:.0f} s)")
            if _settled(status):
                return status
            if time.monotonic() > deadline:
                raise OperationError(
                    f"the service did not settle within {timeout:.0f} s",
                    fix="see `local status`; the twin keeps trying",
                )
            time.sleep(POLL)
