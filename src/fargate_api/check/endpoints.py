"""The VPC endpoints a Fargate task needs when its subnet has no NAT route.

Which endpoints exist is read by the reading layer; which ones are *needed* is the
pattern's knowledge, so it stays with the rules that judge it.
"""

from __future__ import annotations

from fargate_api.templates import Resource
from fargate_api.templates.network import endpoint_services
from fargate_api.templates.query import StackQuery

# What a Fargate task needs from AWS when it has no NAT: image pulls (ECR API, the
# Docker registry endpoint, and S3 where the layers live) and log delivery.
REQUIRED_ENDPOINTS = ("ecr.api", "ecr.dkr", "s3", "logs")


def missing_endpoints(query: StackQuery, vpc: Resource) -> list[str]:
    present = endpoint_services(query, vpc)
    return [name for name in REQUIRED_ENDPOINTS if name not in present]
