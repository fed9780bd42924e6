"""Templates in, TwinPlan out: the twin's interpretation of a stack set.

Everything the twin will build is decided here, before anything is touched, so that a
template the twin cannot run fails with one message and leaves no half-built network.
Resource types the pattern does not need locally (IAM, Lambda, custom resources, alarms
no deployment watches) are listed as notices instead of silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from fargate_api.templates import (
    DiskReader,
    ResolveOptions,
    StackInput,
    StackSet,
    TemplateError,
    load_stacks,
)
from fargate_api.templates.props import as_str, get
from fargate_api.templates.stack_inputs import as_stack_inputs
from fargate_api.templates.topology import SERVICE
from fargate_api.twin.plan.autoscaling import read_autoscaling
from fargate_api.twin.plan.deployments import read_alarms, read_deployment_plan
from fargate_api.twin.plan.dns import read_dns_records
from fargate_api.twin.plan.ec2 import read_network
from fargate_api.twin.plan.ecs import read_services
from fargate_api.twin.plan.elbv2 import read_load_balancers
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.model import (
    AlarmRule,
    DeploymentPlan,
    Notice,
    Runtime,
    Service,
    TwinPlan,
)
from fargate_api.twin.plan.reads import Index, key_of

BUILT = frozenset(
    {
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::RouteTable",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::EIP",
        "AWS::EC2::NatGateway",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::ECS::Cluster",
        "AWS::ECS::TaskDefinition",
        "AWS::ECS::Service",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "AWS::Logs::LogGroup",
        "AWS::CloudFormation::Stack",
        "AWS::Serverless::Application",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "AWS::Route53::RecordSet",
        "AWS::Route53::RecordSetGroup",
    }
)
WHY_IGNORED = {
    "AWS::IAM::": "IAM is not enforced locally",
    "AWS::Lambda::": "Lambda functions do not run in the twin",
    "Custom::": "custom resources do not run in the twin",
    "AWS::CloudFormation::CustomResource": "custom resources do not run in the twin",
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::CloudWatch::": "no deployment of these templates watches it",
    "AWS::KMS::": "no KMS locally",
    "AWS::EC2::VPCEndpoint": "the twin has no AWS service endpoints",
    "AWS::EC2::FlowLog": "flow logs are not recorded",
    "AWS::ECR::Repository": "images are built into the local store; nothing is pushed",
    "AWS::CertificateManager::": "the twin's own CA issues the HTTPS listeners' certificates "
    "for these names",
    "AWS::Route53::HostedZone": "the twin's resolvers answer the records themselves",
}


def load_plan(
    stacks: Path | Sequence[StackInput],
    *,
    image_commands: Mapping[str, str] | None = None,
    runtime: Runtime = "process",
    parameters: Mapping[str, str] | None = None,
) -> TwinPlan:
    """Reads the top-level templates (each a parent with nested children, or a single
    template; several linked by exports) and interprets them; `parameters` are values
    for the top-level templates' parameters (the digest of an image the twin built,
    say), as a deploy would pass them. An import no given stack exports is bad input:
    the twin cannot run a value it does not have."""
    options = ResolveOptions(parameters=dict(parameters or {}))
    try:
        stack_set = load_stacks(
            as_stack_inputs(stacks), reader=DiskReader(), options=options, missing_exports="error"
        )
    except TemplateError as exc:
        raise PlanError(exc.what, where=exc.where, fix=exc.fix) from None
    return interpret(stack_set, image_commands=image_commands or {}, runtime=runtime)


def interpret(
    stack_set: StackSet, *, image_commands: Mapping[str, str], runtime: Runtime = "process"
) -> TwinPlan:
    index = Index(stack_set)
    network = read_network(index)
    balancers, target_groups, lb_notices = read_load_balancers(index, network)
    dns_records, dns_notices = read_dns_records(index, balancers)
    services, definitions, ecs_notices = read_services(index, image_commands, runtime=runtime)
    services, alarms, alarm_notices = _deployments(index, services)
    _check_bindings(services, target_groups, network.subnets)
    scaling, scaling_notices = read_autoscaling(index, services, {g.key for g in target_groups})
    log_groups = sorted(
        as_str(get(r.properties, "LogGroupName")) or r.logical_id
        for r in index.of_type("AWS::Logs::LogGroup")
    )
    return TwinPlan(
        vpc=network.vpc,
        vpc_cidr=network.vpc_cidr,
        subnets=tuple(network.subnets),
        route_tables=tuple(network.route_tables),
        internet_gateway=network.internet_gateway,
        nat_gateways=tuple(network.nat_gateways),
        security_groups=tuple(network.security_groups),
        load_balancers=tuple(balancers),
        target_groups=tuple(target_groups),
        task_definitions=tuple(definitions),
        services=tuple(services),
        log_groups=tuple(log_groups),
        notices=tuple(
            network.notices
            + lb_notices
            + ecs_notices
            + scaling_notices
            + alarm_notices
            + dns_notices
            + _ignored(index, {a.key for a in alarms} | {n.resource for n in alarm_notices})
        ),
        autoscaling=tuple(scaling),
        alarms=tuple(alarms),
        dns_records=tuple(dns_records),
    )


def _deployments(
    index: Index, services: list[Service]
) -> tuple[list[Service], list[AlarmRule], list[Notice]]:
    """Each service with its deployment settings; the alarms they watch, those the twin
    cannot evaluate left out of the deployments (and named in a notice)."""
    resources = {key_of(r): r for r in index.of_type(SERVICE)}
    planned: list[tuple[Service, DeploymentPlan]] = []
    wanted = []
    unknown: list[Notice] = []
    for service in services:
        deployment, alarm_resources, notices = read_deployment_plan(index, resources[service.key])
        planned.append((service, deployment))
        wanted += alarm_resources
        unknown += notices
    alarms, notices = read_alarms(index, wanted)
    runnable = {a.key for a in alarms}
    result = []
    for service, deployment in planned:
        kept = tuple(k for k in deployment.alarms if k in runnable)
        result.append(replace(service, deployment=replace(deployment, alarms=kept)))
    return result, alarms, unknown + notices


def _check_bindings(services: list, target_groups: list, subnets: list) -> None:  # type: ignore[type-arg]
    known_groups = {g.key for g in target_groups}
    known_subnets = {s.key for s in subnets}
    for service in services:
        for binding in service.load_balancers:
            if binding.target_group not in known_groups:
                raise PlanError(
                    f"service {service.key} registers with target group {binding.target_group}, "
                    "which no listener of an internet-facing ALB forwards to",
                    fix="forward a listener (or listener rule) to the target group",
                )
        for shift in service.deployment.shifts:
            for group in (shift.target_group, shift.alternate_target_group):
                if group not in known_groups:
                    raise PlanError(
                        f"service {service.key} shifts traffic to target group {group}, which "
                        "no listener rule of an internet-facing ALB forwards to",
                        fix="forward the production listener rule to both target groups",
                    )
        for subnet in service.subnets:
            if subnet not in known_subnets:
                raise PlanError(f"service {service.key} uses subnet {subnet} outside the VPC")


def _ignored(index: Index, accounted: set[str]) -> list[Notice]:
    """A notice for every resource the twin neither builds nor already spoke about."""
    notices = []
    for resource in sorted(index.stack_set.resources(), key=key_of):
        if resource.type in BUILT or key_of(resource) in accounted:
            continue
        reason = next(
            (why for prefix, why in WHY_IGNORED.items() if resource.type.startswith(prefix)),
            "not modelled by the twin",
        )
        notices.append(Notice(key_of(resource), resource.type, reason))
    return notices
