"""The findings a config accepts on purpose, written into the templates as suppressions.

`fargate-api check` reads `Metadata.fargate-api.suppress` on a resource; every entry needs
a reason. The synth emits one only where the config itself made the choice (the demo
image, HTTP without a certificate, no access-log bucket, …), with a reason that names the
key that changes it. Anything else stays a finding. Each entry is emitted only while its
condition holds, because check reports a suppression that matches nothing (FA002).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fargate_api.config import Config

# The reference pattern's demo image, which the defaults keep.
DEMO_IMAGE = "public.ecr.aws/docker/library/nginx:latest"


@dataclass(frozen=True)
class AcceptedRisk:
    file: str
    logical_id: str
    rule_id: str
    reason: str


def accepted_risks(config: Config) -> list[AcceptedRisk]:
    svc, lb, net = config.service, config.load_balancer, config.network
    risks: list[AcceptedRisk] = []

    def accept(file: str, logical_id: str, rule_id: str, reason: str) -> None:
        risks.append(AcceptedRisk(file, logical_id, rule_id, reason))

    if svc.image == DEMO_IMAGE:
        accept(
            "service.yml",
            "TaskDefinition",
            "FA501",
            f"service.image is the reference pattern's demo image {DEMO_IMAGE}; set "
            "service.image to a version tag or digest of your API's image.",
        )
    if svc.image_needs_root() and svc.user is None:
        accept(
            "service.yml",
            "TaskDefinition",
            "FA502",
            f"{svc.image_repository()} binds its port and starts its workers as root, so "
            "service.user is left unset for it; set service.user with an image that runs "
            "unprivileged.",
        )
    if svc.image_needs_root() and svc.read_only_root_filesystem == "auto":
        accept(
            "service.yml",
            "TaskDefinition",
            "FA503",
            f"{svc.image_repository()} writes its pid and cache files under /var, so "
            'read_only_root_filesystem = "auto" leaves the root filesystem writable for this '
            "image only; other images get a read-only root filesystem.",
        )
    if lb.access_logs is None:
        accept(
            "service.yml",
            "PublicLoadBalancer",
            "FA207",
            "No access-log bucket is configured and the stack creates no buckets; set "
            "load_balancer.access_logs to a bucket the regional ELB account may write to.",
        )
    if not lb.deletion_protection:
        accept(
            "service.yml",
            "PublicLoadBalancer",
            "FA208",
            "load_balancer.deletion_protection is false so that deleting the stack removes "
            "the load balancer in one step; set it to true for production.",
        )
    if not lb.https:
        accept(
            "service.yml",
            "PublicLoadBalancerListener",
            "FA204",
            "No ACM certificate is configured, so the API is served over HTTP; setting "
            "load_balancer.certificate_arn adds the HTTPS listener and turns this listener "
            "into a redirect.",
        )
    desired = svc.desired_count
    if desired and math.ceil(desired / net.az_count) / desired >= 0.5:
        accept(
            "service.yml",
            "Service",
            "FA405",
            f"network.az_count = {net.az_count} and service.desired_count = {desired}: an "
            "AZ loss removes half the tasks until ECS replaces them; raise both to 3 or more, "
            "or size autoscaling.min for N-1 AZs.",
        )
    if not net.vpc_endpoints:
        accept(
            "vpc.yml",
            "VPC",
            "FA105",
            f'With network.nat = "{net.nat.value}" the tasks reach ECR, S3 and CloudWatch '
            "Logs through NAT; interface endpoints are opt-in (network.vpc_endpoints = true) "
            "because for a small service they cost more than the NAT traffic they save.",
        )
    return risks
