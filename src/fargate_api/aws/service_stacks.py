"""The service stacks of a plan, found in their templates, and `--service NAME` among them.

A template set may run one ECS service or several (one stack each: NAME-service, or
NAME-service-api, NAME-service-web, ...). Which stacks are "the service stacks" is read
from the templates, not guessed from the stack names: a stack whose template holds an
`AWS::ECS::Service`. The service's name is the one the template gives it (its
`ServiceName` property, resolved statically: the ServiceName parameter's default), so
`--service api` means the service ECS calls `api`, whatever its stack is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fargate_api.aws.stacks import StackPlan, StackSpec
from fargate_api.errors import UserError
from fargate_api.templates import MemoryReader, TemplateError, load_stack_set

ECS_SERVICE = "AWS::ECS::Service"
ECR_REPOSITORY = "AWS::ECR::Repository"


@dataclass(frozen=True)
class ServiceStack:
    """A stack that runs an ECS service, and that service's name."""

    spec: StackSpec
    name: str
    """The ECS service's name as the template sets it, or the stack's role when the
    template leaves the name to CloudFormation (or to a value known only once deployed)."""
    named: bool
    """False when `name` is the role, not a name the template gives the service."""


def ecs_service_name(spec: StackSpec) -> str | None:
    """The name the template gives its ECS service: the resolved `ServiceName` property
    (a literal, or a parameter's default); None when it is not statically known."""
    path = Path(spec.file)
    try:
        loaded = load_stack_set(path, reader=MemoryReader({path: spec.body}))
    except TemplateError:
        return None
    for resource in loaded.root.resources.values():
        if resource.type == ECS_SERVICE:
            name = resource.properties.get("ServiceName")
            return name if isinstance(name, str) and name else None
    return None


def service_stacks(plan: StackPlan) -> list[ServiceStack]:
    """The stacks whose template holds an ECS service, in the plan's (deploy) order."""
    found = []
    for spec in plan.stacks:
        if ECS_SERVICE in spec.resource_types.values():
            name = ecs_service_name(spec)
            found.append(ServiceStack(spec, name or spec.role, name is not None))
    return found


def _names(services: Sequence[ServiceStack]) -> str:
    return ", ".join(s.name for s in services) or "(none)"


def select_service(
    plan: StackPlan, name: str | None, *, required: bool, command: str
) -> ServiceStack | None:
    """The service `--service NAME` names (its ECS name, or its stack's role or name).
    Without NAME: the only service, or None when the templates have none; with several,
    `required` makes NAME mandatory (exit 2 listing them), else None means all of them."""
    services = service_stacks(plan)
    if name is None:
        if len(services) == 1:
            return services[0]
        if len(services) > 1 and required:
            raise UserError(
                f"'{command}' needs --service: the templates run {len(services)} services "
                f"({_names(services)})",
                fix=f"pass --service NAME, one of: {_names(services)}",
            )
        return None
    for service in services:
        if name in (service.name, service.spec.role, service.spec.name):
            return service
    raise UserError(
        f"--service {name!r}: the templates run no service of that name",
        fix=f"pass one of: {_names(services)}",
    )


def for_service(plan: StackPlan, name: str) -> StackPlan:
    """The plan of `deploy --service NAME`: that service's stack, and the stack of its
    image repository when it builds its image (the push needs the repository); every
    other stack it reads is read from CloudFormation, and must be deployed already."""
    chosen = select_service(plan, name, required=True, command="deploy")
    assert chosen is not None  # a name is given: select_service found it or raised
    spec = chosen.spec
    builds = [b for b in plan.build_specs if b.file == spec.file]
    roles = {spec.role}
    for build in builds:
        source = spec.inputs.get(build.repository_parameter)
        if source is not None and ECR_REPOSITORY in plan.by_role(source[0]).resource_types.values():
            roles.add(source[0])
    return replace(plan, only=frozenset(roles), build_specs=builds)
