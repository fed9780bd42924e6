"""FA703: the ECR repository expires old images by itself.

Security Hub control ECR.3, "ECR repositories should have at least one lifecycle policy
configured": with immutable tags every build is a new image, so a repository without a
lifecycle policy only grows (storage is billed per GB-month) and keeps outdated images
around to be deployed by mistake.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.ecr_repository import REPOSITORY, setting
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule

POLICY = "LifecyclePolicy"
TEXT = "LifecyclePolicyText"


class EcrLifecyclePolicy(Rule):
    meta = RuleMeta(
        id="FA703",
        name="ecr-no-lifecycle-policy",
        severity=Severity.WARNING,
        title="The ECR repository has no lifecycle policy",
        why="Without a lifecycle policy ECR keeps every image ever pushed: storage cost grows "
        "with each build, and old images with known vulnerabilities stay available to deploy.",
        fix=f"Set {POLICY}.{TEXT} to a policy that expires all but the newest images (keep "
        "enough of them to roll back to).",
        references=References(
            fsbp=("ECR.3",), aws_config=("ecr-private-lifecycle-policy-configured",)
        ),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for repository in ctx.resources(REPOSITORY):
            value = setting(repository, POLICY, TEXT)
            if value is None:
                has_policy = setting(repository, POLICY) is not None
                path = ("Properties", POLICY) if has_policy else ("Properties",)
                yield self.finding(
                    repository,
                    f"repository {repository.logical_id} has no lifecycle policy",
                    path,
                )
            elif isinstance(value, str) and not value.strip():
                yield self.finding(
                    repository,
                    f"repository {repository.logical_id} has an empty lifecycle policy",
                    ("Properties", POLICY, TEXT),
                )
            # anything else is a policy, or a parameter or condition we cannot see


RULE = EcrLifecyclePolicy()
