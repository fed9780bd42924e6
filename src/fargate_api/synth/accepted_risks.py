"""The findings a config accepts on purpose, written into the templates as suppressions.

One accepted risk is one deliberate choice on one resource, with ONE reason that names the
config key that changes it (or says that none does yet). Three scanners may report the same
choice, each under its own id, and each reads its own Metadata key on the resource:

- `fargate-api check`: `Metadata.fargate-api.suppress: [{id, reason}]` (`rule_id`);
- checkov: `Metadata.checkov.skip: [{id, comment}]` (`checkov`, CKV_AWS_... ids);
- cfn-guard with the AWS Control Tower proactive rules: `Metadata.guard.SuppressedRules`,
  the rule names as cfn-guard reports them (`guard`), plus `Metadata.guard.Reasons` with the
  reason of each (see Template.accept for why).

The synth emits a risk only while its condition holds, because a suppression that matches
nothing is stale: check reports ours as FA002, and the scanner tests reject stale checkov
and guard entries. With [[services]] the load balancer's risks go to load-balancer.yml and
each service's to its service-<name>.yml, its reasons naming its keys (services[0].image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from ipaddress import IPv4Network

from fargate_api.config import Config
from fargate_api.config.model import ServiceConfig
from fargate_api.synth.default_sg import lockdown_log_retention
from fargate_api.synth.deployment import TEST_LISTENER
from fargate_api.synth.deployment_alarms import alarm_ids
from fargate_api.synth.load_balancer import allow_from_rule
from fargate_api.synth.naming import LOAD_BALANCER_FILE, service_file

# The reference pattern's demo image, which the defaults keep.
DEMO_IMAGE = "public.ecr.aws/docker/library/nginx:latest"
OPEN_TO_ALL = IPv4Network("0.0.0.0/0")
# AWS Control Tower CT.CLOUDWATCH.PR.2 asks for at least a year of log retention.
ONE_YEAR_DAYS = 365
# Ports that checkov's "no ingress from 0.0.0.0/0 to port N" checks cover for a listener.
CHECKOV_OPEN_PORT_CHECKS = {80: "CKV_AWS_260"}
# AWS Control Tower: CT.EC2.PR.3 lets only 80 and 443 be open to 0.0.0.0/0, CT.EC2.PR.4
# names these "high-risk" ports besides.
GUARD_AUTHORIZED_OPEN_PORTS = (80, 443)
GUARD_HIGH_RISK_PORTS = (
    3389, 20, 23, 110, 143, 3306, 8080, 1433, 9200, 9300, 25, 445, 135, 21, 1434, 4333, 5432,
    5500, 5601, 22, 3000, 5000, 8088, 8888,
)  # fmt: skip


@dataclass(frozen=True)
class AcceptedRisk:
    file: str
    logical_id: str
    reason: str
    rule_id: str | None = None  # fargate-api check
    checkov: tuple[str, ...] = ()  # checkov check ids
    guard: tuple[str, ...] = ()  # cfn-guard rule names (AWS Control Tower proactive controls)


@dataclass(frozen=True)
class _ServiceStack:
    """One service's template, and how the config names its keys."""

    file: str
    key: str  # "service", or "services[0]" in [[services]]
    scaling_key: str  # "autoscaling", or "services[0].autoscaling"
    svc: ServiceConfig


def _service_stacks(config: Config) -> list[_ServiceStack]:
    if not config.services:
        return [_ServiceStack("service.yml", "service", "autoscaling", config.service)]
    return [
        _ServiceStack(
            service_file(svc.name),
            config.service_key(index),
            f"{config.service_key(index)}.autoscaling",
            svc,
        )
        for index, svc in enumerate(config.services)
    ]


def _load_balancer_file(config: Config) -> str:
    return LOAD_BALANCER_FILE if config.services else "service.yml"


def accepted_risks(config: Config) -> list[AcceptedRisk]:
    risks: list[AcceptedRisk] = []
    for stack in _service_stacks(config):
        risks += _task_definition_risks(stack)
    risks += _log_group_risks(config)
    risks += _default_security_group_function_risks()
    risks += _load_balancer_risks(config)
    risks += _allow_from_risks(config)
    risks += _service_and_network_risks(config)
    risks += _deployment_risks(config)
    return risks


def _task_definition_risks(stack: _ServiceStack) -> list[AcceptedRisk]:
    svc, key = stack.svc, stack.key
    risks: list[AcceptedRisk] = []

    def accept(reason: str, rule_id: str | None = None, guard: tuple[str, ...] = ()) -> None:
        risks.append(AcceptedRisk(stack.file, "TaskDefinition", reason, rule_id, guard=guard))

    if svc.build is None and svc.image == DEMO_IMAGE:
        accept(
            f"{key}.image is the reference pattern's demo image {DEMO_IMAGE}; set "
            f"{key}.image to a version tag or digest of your API's image.",
            rule_id="FA501",
        )
    if svc.image_needs_root() and svc.user is None:
        accept(
            f"{svc.image_repository()} binds its port and starts its workers as root, so "
            f"{key}.user is left unset for it; set {key}.user with an image that runs "
            "unprivileged.",
            rule_id="FA502",
            guard=("ecs_task_definition_nonroot_user_check",),  # CT.ECS.PR.3
        )
    if svc.image_needs_root() and svc.read_only_root_filesystem == "auto":
        accept(
            f"{svc.image_repository()} writes its pid and cache files under /var, so "
            f'{key}.read_only_root_filesystem = "auto" leaves the root filesystem writable for '
            "this image only; other images get a read-only root filesystem.",
            rule_id="FA503",
            guard=("ecs_containers_readonly_access_check",),  # CT.ECS.PR.6
        )
    accept(
        f"On Fargate the task-level Memory (the ContainerMemory parameter, from {key}.memory) "
        "is already the hard memory limit of the task's only container. A container-level "
        "Memory that cfn-guard can read would have to be a literal copy, since it does not "
        "resolve Ref, and would stop following ContainerMemory when a deployment overrides "
        "that parameter. No config key changes this.",
        guard=("ecs_task_definition_memory_hard_limit_check",),  # CT.ECS.PR.7
    )
    return risks


def _log_group_risks(config: Config) -> list[AcceptedRisk]:
    net = config.network
    groups = [
        (stack.file, "LogGroup", f"{stack.key}.log_retention_days", stack.svc.log_retention_days)
        for stack in _service_stacks(config)
    ]
    if net.flow_logs:
        groups.append(
            (
                "vpc.yml",
                "FlowLogGroup",
                "network.flow_logs_retention_days",
                net.flow_logs_retention_days,
            )
        )
    # The custom resource's log group keeps its logs as long as the service's (the longest).
    groups.append(
        ("vpc.yml", "RestrictDefaultSecurityGroupLogGroup", *lockdown_log_retention(config))
    )
    risks: list[AcceptedRisk] = []
    for file, logical_id, key, days in groups:
        risks.append(
            AcceptedRisk(
                file,
                logical_id,
                "CloudWatch Logs encrypts this log group at rest with keys it manages. A "
                "customer-managed KMS key (KmsKeyId) would add a key at about 1 USD a month "
                "with a key policy for the Logs service; no config key sets one yet.",
                checkov=("CKV_AWS_158",),
                guard=("cloudwatch_log_group_encrypted_check",),  # CT.CLOUDWATCH.PR.3
            )
        )
        if days < ONE_YEAR_DAYS:
            risks.append(
                AcceptedRisk(
                    file,
                    logical_id,
                    f"{key} = {days} keeps these logs {days} days, to bound their storage "
                    f"cost; set {key} to {ONE_YEAR_DAYS} or more where a policy requires a "
                    "year of logs.",
                    guard=("cloudwatch_log_group_retention_period_check",),  # CT.CLOUDWATCH.PR.2
                )
            )
    return risks


def _default_security_group_function_risks() -> list[AcceptedRisk]:
    """The custom resource that empties the VPC's default security group (default_sg.py)."""
    file, logical_id = "vpc.yml", "RestrictDefaultSecurityGroupFunction"
    return [
        AcceptedRisk(
            file,
            logical_id,
            "This function only calls the EC2 API to empty the default security group and "
            "answers CloudFormation's pre-signed S3 URL. Inside the VPC it would need a NAT "
            'route or EC2 and S3 endpoints (there is no NAT with network.nat = "none"), and '
            "its network interfaces would hold up deleting the stack. No config key changes "
            "this.",
            checkov=("CKV_AWS_117",),
            guard=("lambda_inside_vpc_check",),  # CT.LAMBDA.PR.3
        ),
        AcceptedRisk(
            file,
            logical_id,
            "CloudFormation invokes this custom-resource function only when it creates, "
            "updates or deletes the stack. The handler reports its errors to CloudFormation "
            "(cfnresponse FAILED) and an invocation that never answers times the stack "
            "operation out, so every failure shows on the stack; a dead-letter queue would "
            "only hold events nobody replays. No config key changes this.",
            checkov=("CKV_AWS_116",),
        ),
        AcceptedRisk(
            file,
            logical_id,
            "CloudFormation invokes this custom-resource function only when it creates, "
            "updates or deletes the stack, so its concurrency is bounded already. Reserved "
            "concurrency would come out of the account's unreserved pool, which Lambda keeps "
            "above a minimum, and would make the deployment fail in accounts with a low "
            "concurrency quota. No config key changes this.",
            checkov=("CKV_AWS_115",),
        ),
    ]


def _load_balancer_risks(config: Config) -> list[AcceptedRisk]:
    lb, file = config.load_balancer, _load_balancer_file(config)
    risks: list[AcceptedRisk] = []
    if OPEN_TO_ALL in lb.ingress_cidrs:
        for port in lb.listener_ports():
            check_id = CHECKOV_OPEN_PORT_CHECKS.get(port)
            if check_id is None:
                continue
            role = (
                "the HTTP listener, which only redirects to HTTPS"
                if lb.https and port == lb.http_port
                else "where the API is served"
            )
            risks.append(
                AcceptedRisk(
                    file,
                    "PublicLoadBalancerSG",
                    f"The load balancer is the API's public entry: port {port} is {role}, "
                    "open to 0.0.0.0/0 because load_balancer.ingress_cidrs includes it (the "
                    "default). List only your clients' ranges in load_balancer.ingress_cidrs "
                    "to restrict it.",
                    checkov=(check_id,),
                )
            )
    if lb.access_logs is None:
        risks.append(
            AcceptedRisk(
                file,
                "PublicLoadBalancer",
                "No access-log bucket is configured and the stack creates no buckets; set "
                "load_balancer.access_logs to a bucket the regional ELB account may write to.",
                rule_id="FA207",
                checkov=("CKV_AWS_91",),
                guard=("elbv2_logging_enabled_check",),  # CT.ELASTICLOADBALANCING.PR.6
            )
        )
    if not lb.deletion_protection:
        risks.append(
            AcceptedRisk(
                file,
                "PublicLoadBalancer",
                "load_balancer.deletion_protection is false so that deleting the stack removes "
                "the load balancer in one step; set it to true for production.",
                rule_id="FA208",
                guard=("elbv2_deletion_protection_enabled_check",),  # CT.ELASTICLOADBALANCING.PR.5
            )
        )
    if not lb.https:
        risks.append(
            AcceptedRisk(
                file,
                "PublicLoadBalancerListener",
                "No ACM certificate is configured, so the API is served over HTTP; setting "
                "load_balancer.certificate_arn adds the HTTPS listener and turns this listener "
                "into a redirect.",
                rule_id="FA204",
                checkov=("CKV_AWS_2", "CKV_AWS_103"),
                guard=("alb_http_to_https_redirection_check",),  # CT.ELASTICLOADBALANCING.PR.1
            )
        )
    return risks


def _allow_from_risks(config: Config) -> list[AcceptedRisk]:
    """[[services]] whose tasks call another's port directly, past the load balancer."""
    risks: list[AcceptedRisk] = []
    for index, svc in enumerate(config.services):
        key = f"{config.service_key(index)}.allow_from"
        for source in svc.allow_from:
            risks.append(
                AcceptedRisk(
                    LOAD_BALANCER_FILE,
                    allow_from_rule(svc.name, source),
                    f"{key} names {source}, so the {source} service's tasks call the "
                    f"{svc.name} service's port {svc.port} directly, inside the VPC and past "
                    f"the load balancer; remove {source} from {key} to let only the load "
                    "balancer reach it.",
                    rule_id="FA301",
                )
            )
    return risks


def _service_and_network_risks(config: Config) -> list[AcceptedRisk]:
    risks: list[AcceptedRisk] = []
    for stack in _service_stacks(config):
        risks += _service_risks(config, stack)
    net = config.network
    if not net.vpc_endpoints:
        risks.append(
            AcceptedRisk(
                "vpc.yml",
                "VPC",
                f'With network.nat = "{net.nat.value}" the tasks reach ECR, S3 and CloudWatch '
                "Logs through NAT; interface endpoints are opt-in (network.vpc_endpoints = "
                "true) because for a small service they cost more than the NAT traffic they "
                "save.",
                rule_id="FA105",
            )
        )
    return risks


def _service_risks(config: Config, stack: _ServiceStack) -> list[AcceptedRisk]:
    net = config.network
    risks: list[AcceptedRisk] = []
    desired = stack.svc.desired_count
    if desired and math.ceil(desired / net.az_count) / desired >= 0.5:
        risks.append(
            AcceptedRisk(
                stack.file,
                "Service",
                f"network.az_count = {net.az_count} and {stack.key}.desired_count = {desired}: "
                "an AZ loss removes half the tasks until ECS replaces them; raise both to 3 or "
                f"more, or size {stack.scaling_key}.min for N-1 AZs.",
                rule_id="FA405",
            )
        )
    deployment = config.deployment
    if not deployment.shifts_traffic and deployment.alarm_settings() is None:
        risks.append(
            AcceptedRisk(
                stack.file,
                "Service",
                "Deployments roll with the circuit breaker and rollback and watch no alarm: "
                "a revision that passes its health "
                "checks but serves errors still completes. Set deployment.alarms = true "
                '(or deployment.strategy = "canary") to roll back on the 5xx rate.',
                rule_id="FA409",
            )
        )
    return risks


def _deployment_risks(config: Config) -> list[AcceptedRisk]:
    """The test listener and the deployment alarms ([deployment])."""
    deployment, lb = config.deployment, config.load_balancer
    file = _load_balancer_file(config)
    risks: list[AcceptedRisk] = []
    port = deployment.test_listener_port
    if port is not None and not lb.https:
        risks.append(
            AcceptedRisk(
                file,
                TEST_LISTENER,
                "No ACM certificate is configured, so the test listener serves the new revision "
                "over HTTP like the production listener; setting load_balancer.certificate_arn "
                "makes both HTTPS.",
                rule_id="FA204",
                checkov=("CKV_AWS_2", "CKV_AWS_103"),
                guard=("alb_http_to_https_redirection_check",),  # CT.ELASTICLOADBALANCING.PR.1
            )
        )
    if port is not None and OPEN_TO_ALL in config.test_listener_cidrs():
        guard = []
        if port not in GUARD_AUTHORIZED_OPEN_PORTS:
            guard.append("vpc_sg_open_only_to_authorized_ports_check")  # CT.EC2.PR.3
        if port in GUARD_HIGH_RISK_PORTS:
            guard.append("vpc_sg_restricted_common_ports_check")  # CT.EC2.PR.4
        if guard:
            risks.append(
                AcceptedRisk(
                    file,
                    "PublicLoadBalancerSG",
                    f"The test listener's port {port} is open to 0.0.0.0/0 because "
                    "deployment.test_listener_cidrs is left to follow "
                    "load_balancer.ingress_cidrs (the default); list only your testers' ranges "
                    "in deployment.test_listener_cidrs to restrict it.",
                    guard=tuple(guard),
                )
            )
    alarms = deployment.alarm_settings()
    if alarms is None:
        return risks
    for stack in _service_stacks(config):
        for name in alarm_ids(alarms):
            risks.append(
                AcceptedRisk(
                    stack.file,
                    name,
                    "ECS watches this alarm during a deployment (DeploymentConfiguration.Alarms) "
                    "and rolls the deployment back when it fires: that is the alarm's action. A "
                    "notification would need an SNS topic and its subscribers, which no config "
                    "key sets yet (deployment.alarms only tunes the thresholds).",
                    guard=("cloudwatch_alarm_action_check",),  # CT.CLOUDWATCH.PR.1
                )
            )
    return risks
