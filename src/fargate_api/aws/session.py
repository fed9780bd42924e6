"""boto3 clients for one target (region, profile, endpoint) and AWS errors in user terms.

Every command builds its clients here so that retries (botocore's standard mode), the
endpoint override and the translation of the common failures (no credentials, no
region, throttling) are the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import NoRegionError

from fargate_api import __version__

# In a neutral module so that `cost` can use it without importing this back-end;
# re-exported for the AWS back-end's modules.
from fargate_api.aws_errors import MAX_ATTEMPTS, aws_errors, error_code, error_message, translate

__all__ = [
    "MAX_ATTEMPTS",
    "POLLING_ATTEMPTS",
    "Clients",
    "Target",
    "aws_errors",
    "connect",
    "error_code",
    "error_message",
    "translate",
]

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_route53 import Route53Client


@dataclass(frozen=True)
class Target:
    """Where to deploy: the boto3 session conventions, plus an AWS-compatible endpoint."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


# For reads that a poll repeats anyway (service deployment phases): one retry, not
# MAX_ATTEMPTS with backoff, so that a throttled poll is skipped instead of stalling the
# watch, and an endpoint that does not implement the operation (moto 5 answers HTTP 500)
# costs a second, not a quarter of a minute.
POLLING_ATTEMPTS = 2


@dataclass(frozen=True)
class Clients:
    cloudformation: CloudFormationClient
    ecs: ECSClient
    elbv2: ElasticLoadBalancingv2Client
    logs: CloudWatchLogsClient
    ec2: EC2Client
    ecr: ECRClient
    region: str
    ecs_polling: ECSClient | None = None
    """ECS with POLLING_ATTEMPTS attempts; None: `ecs` serves (tests stub one client)."""
    route53: Route53Client | None = None
    """For a custom domain's hosted zone (found by name, its name servers); None where a
    command needs none (tests that stub the others)."""

    @property
    def polling_ecs(self) -> ECSClient:
        return self.ecs_polling or self.ecs


def connect(target: Target) -> Clients:
    """Clients for every service the back-end uses; fails early on a bad profile or region."""
    # boto3 and botocore.config take about 0.2 s to import: only the commands that talk to
    # AWS pay for them, not synth, check or --help.
    import boto3  # noqa: PLC0415
    from botocore.config import Config as BotoConfig  # noqa: PLC0415

    with aws_errors():
        session = boto3.Session(profile_name=target.profile, region_name=target.region)
        region = session.region_name
        if not region:
            raise NoRegionError()
        config = BotoConfig(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            user_agent_extra=f"fargate-api/{__version__}",
        )
        url = target.endpoint_url
        return Clients(
            cloudformation=session.client("cloudformation", endpoint_url=url, config=config),
            ecs=session.client("ecs", endpoint_url=url, config=config),
            elbv2=session.client("elbv2", endpoint_url=url, config=config),
            logs=session.client("logs", endpoint_url=url, config=config),
            ec2=session.client("ec2", endpoint_url=url, config=config),
            ecr=session.client("ecr", endpoint_url=url, config=config),
            region=region,
            route53=session.client("route53", endpoint_url=url, config=config),
            ecs_polling=session.client(
                "ecs",
                endpoint_url=url,
                config=config.merge(
                    BotoConfig(retries={"mode": "standard", "total_max_attempts": POLLING_ATTEMPTS})
                ),
            ),
        )
