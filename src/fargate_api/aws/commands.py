"""The typer commands of the AWS back-end: flags in, data to stdout, progress to stderr.

Each command builds the plan from the templates (synthesized from -c, or a --templates
folder), connects with the boto3 session conventions, and runs one job module. A deploy
that fails exits 1 after naming the root cause; a user-fixable problem exits 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from fargate_api.aws import changeset, guard
from fargate_api.aws.cfn import describe
from fargate_api.aws.clock import SystemClock
from fargate_api.aws.deploy import (
    Deployer,
    DeployFailedError,
    DeployOptions,
    DeployStoppedError,
    deployed_outputs,
    describe_failure,
    supplying,
)
from fargate_api.aws.derived_outputs import outputs_of
from fargate_api.aws.destroy import Destroyer
from fargate_api.aws.diff_view import change_table
from fargate_api.aws.environment_diff import diff_environments
from fargate_api.aws.hosted_zone import hosted_zone_values
from fargate_api.aws.image_publish import ImagePublisher
from fargate_api.aws.logs import parse_since, read_logs
from fargate_api.aws.prompts import ConsolePrompter
from fargate_api.aws.rollback import RollBacker, RollbackFailedError, RollbackOptions
from fargate_api.aws.service_deployments import short_id
from fargate_api.aws.service_stacks import for_service
from fargate_api.aws.session import Clients, Target, aws_errors, connect
from fargate_api.aws.stacks import StackPlan, StackSpec, load_plan, wire_parameters
from fargate_api.aws.status import log_group_of, read_outputs, read_status
from fargate_api.aws.status_view import print_services, unavailable_notes
from fargate_api.aws.watch import WatchOptions
from fargate_api.cli_options import EnvOption, EnvsOption
from fargate_api.errors import OperationError, UserError
from fargate_api.images.builders import find_builder
from fargate_api.images.from_templates import build_all
from fargate_api.images.output_lines import tool_output
from fargate_api.images.registry import RegistryEndpoint, parse_registry_url

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "-c",
        "--config",
        help="The config whose templates to deploy (and whose name is the default stack name).",
        show_default=False,
    ),
]
TemplatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="A folder written by 'fargate-api synth' to use instead of synthesizing.",
        show_default=False,
    ),
]
StackNameOpt = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        help="Base name of the stacks (NAME-vpc, NAME-cluster, NAME-service). "
        "Default: the config's name.",
        show_default=False,
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region", help="AWS region. Default: AWS_REGION or the profile's.", show_default=False
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", help="AWS profile. Default: AWS_PROFILE or 'default'.", show_default=False
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="An AWS-compatible endpoint for every service (e.g. a local emulator).",
        show_default=False,
    ),
]
RegistryUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--registry-url",
        envvar="FARGATE_API_REGISTRY_URL",
        help="Push and read images at this registry endpoint (http://127.0.0.1:5000, a "
        "pull-through mirror, LocalStack) instead of the repository's ECR host; the task "
        "definition still names the ECR repository.",
        show_default=False,
    ),
]
ServiceOpt = Annotated[
    str | None,
    typer.Option(
        "--service",
        help="Act on this service only, by its name (deploy/diff: only its stack, "
        "NAME-service-<name>); logs and rollback need it when the templates run several.",
        show_default=False,
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to every question.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def _stdout() -> Console:
    return Console(highlight=False, emoji=False, soft_wrap=True)


def _prepare(
    *,
    config: Path | None,
    env: str | None = None,
    templates: Path | None,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> tuple[StackPlan, Clients]:
    plan = load_plan(config, templates, stack_name, env)
    clients = connect(Target(region=region, profile=profile, endpoint_url=endpoint_url))
    return plan, clients


def _emit_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        _stdout().print_json(data.model_dump_json())
    else:
        _stdout().print_json(json.dumps(data, default=str))


@contextmanager
def _operation(name: str, as_json: bool) -> Iterator[None]:
    """A deploy, destroy or rollback that fails exits 1 with one message; with --json the
    result that says how far it got is still printed, for scripts that read stdout."""
    try:
        with aws_errors():
            yield
    except DeployFailedError as failure:
        if as_json:
            _emit_json(failure.result())
        raise OperationError(describe_failure(failure, name)) from None
    except DeployStoppedError as stopped:
        raise OperationError(f"stopped: {stopped}") from None
    except RollbackFailedError as failed:
        if as_json:
            _emit_json(failed.result)
        raise OperationError(str(failed), fix=failed.fix) from None


def deploy_command(
    *,
    config: ConfigOpt = None,
    env: EnvOption = None,
    templates: TemplatesOpt = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    allow_replace: Annotated[
        list[guard.Protected] | None,
        typer.Option(
            "--allow-replace",
            help="Allow a change that replaces or removes the egress IPs (EIPs) or replaces "
            "the load balancer (new DNS name). Repeat for both.",
            show_default=False,
        ),
    ] = None,
    cancel_on_failure: Annotated[
        bool,
        typer.Option(
            "--cancel-on-failure",
            help="Cancel the update when the ECS circuit breaker fires or the same task "
            "failure repeats --failure-repeats times.",
        ),
    ] = False,
    failure_repeats: Annotated[
        int, typer.Option("--failure-repeats", min=1, help="See --cancel-on-failure.")
    ] = 3,
    registry_url: RegistryUrlOpt = None,
    service: ServiceOpt = None,
) -> None:
    """Deploy the templates as NAME-vpc, NAME-cluster, NAME-service (change sets, live progress)."""
    err = _stderr()
    registry = parse_registry_url(registry_url) if registry_url else None
    plan, clients = _prepare(
        config=config,
        env=env,
        templates=templates,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    options = DeployOptions(
        allow_replace=frozenset(allow_replace or []),
        watch=WatchOptions(cancel_on_failure=cancel_on_failure, failure_repeats=failure_repeats),
    )
    if service is not None:
        plan = for_service(plan, service)
    deployer = Deployer(clients, err, SystemClock(), ConsolePrompter(err, yes), options)
    publisher = _publisher(plan, clients, err, registry)
    only = f" (only {', '.join(sorted(plan.only))})" if plan.only is not None else ""
    err.print(f"deploying '{escape(plan.base)}'{escape(only)} to {clients.region}")
    with _operation("deploy", as_json):
        zones = hosted_zone_values(plan, clients.route53, err)
        result = deployer.deploy(plan, supplying(zones, publisher))
        if publisher is not None:
            result = result.model_copy(update={"images": publisher.published})
    if as_json:
        _emit_json(result)
        return
    if not result.changed:
        err.print("no changes: every stack is up to date")
    _print_endpoint(result.url, result.egress_ips)
    for image in result.images:
        _stdout().print(f"image: {image.image}")


def _image_digests(
    spec: StackSpec,
    deployed: Mapping[str, str],
    publisher: ImagePublisher | None,
    outputs_by_role: Mapping[str, Mapping[str, str]],
) -> tuple[dict[str, str], list[dict[str, str | None]]]:
    """For `diff`: the digest each image parameter would get, and old -> new records.
    A build not pushed yet has no digest until deploy pushes it: the change set is made
    with the deployed digest, and the record says the image will change."""
    if not spec.passed or publisher is None:
        return {}, []
    pushed = publisher.pushed_digest(outputs_by_role)
    tag = next((i.image.tag for i in publisher.built), None)
    values: dict[str, str] = {}
    records: list[dict[str, str | None]] = []
    for param, parent_param in spec.passed.items():
        if parent_param not in pushed:
            continue  # not an image's digest (a custom domain's hosted zone, say)
        old = deployed.get(param)
        new = pushed.get(parent_param)
        records.append({"parameter": param, "deployed": old, "new": new, "tag": tag})
        value = new or old
        if value is not None:
            values[parent_param] = value
    return values, records


def _describe_image(stack: str, record: Mapping[str, str | None]) -> str:
    old, new, tag = record["deployed"] or "(none)", record["new"], record["tag"]
    if new is None:
        return (
            f"{stack}: image {record['parameter']}: {old} -> build {tag}, not pushed yet "
            "(deploy pushes it; its digest is known then)"
        )
    if new == old:
        return f"{stack}: image {record['parameter']}: {new} (unchanged)"
    return f"{stack}: image {record['parameter']}: {old} -> {new} (build {tag})"


def _publisher(
    plan: StackPlan, clients: Clients, err: Console, registry: RegistryEndpoint | None
) -> ImagePublisher | None:
    """Builds the images the templates build from source, before any stack is touched
    (a failed build or a wrong architecture changes nothing in AWS)."""
    if not plan.build_specs:
        return None
    builder = find_builder()
    built = build_all(
        plan.build_specs,
        plan.base,
        builder,
        on_line=tool_output(err),
        on_start=lambda spec, request: err.print(
            f"building {escape(str(spec.context))} for {spec.platform} with {builder.name}"
        ),
    )
    for item in built:
        err.print(f"built {escape(item.image.reference)} ({item.image.architecture})")
    return ImagePublisher(plan, built, builder, clients, err, registry)


def _print_endpoint(url: str | None, egress_ips: list[str]) -> None:
    out = _stdout()
    if url:
        out.print(f"url: {url}")
    if egress_ips:
        out.print(f"egress IPs: {', '.join(egress_ips)}")


def diff_command(
    *,
    config: ConfigOpt = None,
    env: EnvsOption = None,
    templates: TemplatesOpt = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    as_json: JsonOpt = False,
    registry_url: RegistryUrlOpt = None,
    service: ServiceOpt = None,
) -> None:
    """Show what a deploy would change, per stack, from CloudFormation change sets."""
    if env and len(env) > 1:  # two environments: compared locally, no AWS call
        diff_environments(config, templates, env, as_json)
        return
    err = _stderr()
    registry = parse_registry_url(registry_url) if registry_url else None
    plan, clients = _prepare(
        config=config,
        env=env[0] if env else None,
        templates=templates,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    if service is not None:
        plan = for_service(plan, service)
    cfn = clients.cloudformation
    clock = SystemClock()
    report: list[dict[str, Any]] = []
    outputs_by_role: dict[str, dict[str, str]] = {}
    publisher = _publisher(plan, clients, err, registry)
    read_only = plan.read_only_roles()
    with aws_errors():
        zones = hosted_zone_values(plan, clients.route53, err)
        for spec in plan.stacks:
            if not plan.deploys(spec.role):
                if spec.role in read_only:
                    outputs_by_role[spec.role] = deployed_outputs(clients, plan.base, spec)
                continue
            state = describe(cfn, spec.name)
            images: list[dict[str, str | None]] = []
            if state is None or state.status in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
                changes = changeset.planned_from_template(spec)
                note = "new stack"
            else:
                outputs_by_role[spec.role] = outputs_of(clients, spec, state)
                if state.in_progress:
                    raise UserError(f"{spec.name} is {state.status}; diff again when it ends")
                supplied, images = _image_digests(
                    spec, state.parameters, publisher, outputs_by_role
                )
                params = wire_parameters(spec, outputs_by_role, {**zones, **supplied})
                with err.status(f"{spec.name}: preparing the change set…"):
                    cs = changeset.create(
                        cfn, spec, base=plan.base, parameters=params, kind="UPDATE", clock=clock
                    )
                if not cs.empty:
                    cfn.delete_change_set(ChangeSetName=cs.arn)
                changes, note = cs.changes, ""
            found = guard.violations(spec.name, changes, ())
            report.append(
                {
                    "name": spec.name,
                    "role": spec.role,
                    "new": note == "new stack",
                    "changes": [c.to_json() for c in changes],
                    "guarded": [v.describe() for v in found],
                    "images": images,
                }
            )
            if not as_json:
                out = _stdout()
                if changes:
                    out.print(change_table(spec.name, changes, note))
                else:
                    out.print(f"{spec.name}: no changes")
                for record in images:
                    out.print(escape(_describe_image(spec.name, record)))
                for violation in found:
                    err.print(
                        f"[bold yellow]guard:[/bold yellow] {escape(violation.describe())}; "
                        f"deploy needs --allow-replace {violation.protected.value}"
                    )
    if as_json:
        _emit_json({"stack_name": plan.base, "stacks": report})


def outputs_command(
    *,
    config: ConfigOpt = None,
    env: EnvOption = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the URL, the egress IPs and every stack output."""
    plan, clients = _prepare(
        config=config,
        env=env,
        templates=None,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    with aws_errors(), _stderr().status("reading the stacks' outputs…"):
        data = read_outputs(clients, plan)
    if as_json:
        _emit_json(data)
        return
    out = _stdout()
    _print_endpoint(data.url, data.egress_ips)
    for stack in data.stacks:
        out.print(f"[bold]{stack.name}[/bold] {stack.status or 'not deployed'}")
        for key, value in stack.outputs.items():
            out.print(f"  {key} = {value}")


def status_command(
    *,
    config: ConfigOpt = None,
    env: EnvOption = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the stacks' states, URL, egress IPs, running/desired tasks and target health."""
    plan, clients = _prepare(
        config=config,
        env=env,
        templates=None,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    with aws_errors(), _stderr().status("reading the stacks, the service and its targets…"):
        data = read_status(clients, plan)
    for note in unavailable_notes(data):
        _stderr().print(escape(note))
    if as_json:
        _emit_json(data)
        return
    out = _stdout()
    for stack in data.stacks:
        reason = f" ({stack.reason})" if stack.reason else ""
        out.print(f"{stack.name}: {stack.status or 'not deployed'}{escape(reason)}")
    _print_endpoint(data.url, data.egress_ips)
    print_services(out, data)


def rollback_command(
    *,
    config: ConfigOpt = None,
    env: EnvOption = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="Ask ECS to roll back and exit; 'fargate-api status' shows how it goes.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    service: ServiceOpt = None,
) -> None:
    """Roll back the ECS service deployment in progress to the revision that ran before."""
    # StopServiceDeployment(ROLLBACK), then its phases until ROLLBACK_SUCCESSFUL (exit 0)
    # or ROLLBACK_FAILED (exit 1); nothing in progress changes nothing (exit 2): a
    # finished deployment is undone by deploying the earlier version (aws/rollback.py).
    err = _stderr()
    plan, clients = _prepare(
        config=config,
        env=env,
        templates=None,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    roller = RollBacker(clients, err, SystemClock(), RollbackOptions(wait=not no_wait))
    with _operation("rollback", as_json):
        result = roller.roll_back(plan, service)
    if as_json:
        _emit_json(result)
        return
    verb = "rolled back" if result.waited else "rollback requested"
    _stdout().print(
        f"{verb}: {result.service} service deployment "
        f"{short_id(result.service_deployment_arn)} {result.status}"
    )


def logs_command(
    *,
    config: ConfigOpt = None,
    env: EnvOption = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    since: Annotated[
        str, typer.Option("--since", help="How far back to start: 30s, 10m, 2h, 1d.")
    ] = "10m",
    as_json: JsonOpt = False,
    service: ServiceOpt = None,
) -> None:
    """Print the service's CloudWatch logs; --follow tails them."""
    seconds = parse_since(since)
    plan, clients = _prepare(
        config=config,
        env=env,
        templates=None,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    with aws_errors():
        group = log_group_of(clients, plan, service)
        _stderr().print(
            f"log group {escape(group)}, since {since}" + (" (Ctrl-C to stop)" if follow else "")
        )
        out = _stdout()
        try:
            for line in read_logs(
                clients.logs, group, since_seconds=seconds, clock=SystemClock(), follow=follow
            ):
                if as_json:
                    out.print(json.dumps(line.to_json()), markup=False, highlight=False)
                else:
                    out.print(line.render(), markup=False, highlight=False)
        except KeyboardInterrupt:
            return


def destroy_command(
    *,
    config: ConfigOpt = None,
    env: EnvOption = None,
    templates: TemplatesOpt = None,
    stack_name: StackNameOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete NAME-service, NAME-cluster, NAME-vpc in that order; list what is retained."""
    err = _stderr()
    plan, clients = _prepare(
        config=config,
        env=env,
        templates=templates,
        stack_name=stack_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
    destroyer = Destroyer(clients, err, SystemClock(), ConsolePrompter(err, yes))
    with _operation("destroy", as_json):
        result = destroyer.destroy(plan)
    if as_json:
        _emit_json(result)
    else:
        for name in result["deleted"]:
            _stdout().print(f"deleted {name}")
