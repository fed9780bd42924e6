"""FA702: the ECR repository's tags are immutable.

Security Hub control ECR.2, "ECR private repositories should have tag immutability
configured": with mutable tags a push can silently replace the image that a tag (and
every task definition naming it) stood for, by mistake or by an attacker with push
rights. The control passes only the value IMMUTABLE, so the *_WITH_EXCLUSION settings,
which leave the tags their filters match overwritable, are findings too.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.ecr_repository import REPOSITORY, setting
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule

KEY = "ImageTagMutability"
IMMUTABLE = "IMMUTABLE"


class EcrTagImmutability(Rule):
    meta = RuleMeta(
        id="FA702",
        name="ecr-mutable-tags",
        severity=Severity.WARNING,
        title="The ECR repository lets a push overwrite an existing tag",
        why="With mutable tags, pushing a different image under an existing tag changes what "
        "that tag means: an audit of what ran, a rollback to a tag, and any task that pulls by "
        "tag get the new image. Immutable tags make each tag name one image for good.",
        fix=f"Set {KEY}: {IMMUTABLE} (the default is MUTABLE) and tag every build uniquely, "
        "e.g. with its git commit.",
        references=References(
            fsbp=("ECR.2",),
            checkov=("CKV_AWS_51",),
            aws_config=("ecr-private-tag-immutability-enabled",),
        ),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for repository in ctx.resources(REPOSITORY):
            value = setting(repository, KEY)
            if value is None:
                yield self.finding(
                    repository,
                    f"repository {repository.logical_id} has mutable tags ({KEY} is not set; "
                    "the default is MUTABLE)",
                    ("Properties",),
                )
            elif isinstance(value, str) and value.upper() != IMMUTABLE:
                yield self.finding(
                    repository,
                    f"repository {repository.logical_id} has {KEY} {value}: "
                    f"{_meaning(value.upper())}",
                    ("Properties", KEY),
                )
            # anything else is a parameter or condition we cannot see


def _meaning(value: str) -> str:
    if value == "IMMUTABLE_WITH_EXCLUSION":
        return "the tags its exclusion filters match can still be overwritten"
    if value == "MUTABLE_WITH_EXCLUSION":
        return "every tag its exclusion filters do not match can be overwritten"
    return "a push can overwrite any tag"


RULE = EcrTagImmutability()
