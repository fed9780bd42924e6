"""FA701: the ECR repository scans images for known vulnerabilities when they are pushed.

Security Hub control ECR.1, "ECR private repositories should have image scanning
configured": without a scan, nothing reports that the image about to be deployed carries
a vulnerable package until someone looks.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.ecr_repository import REPOSITORY, setting
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_bool

CONFIG = "ImageScanningConfiguration"


class EcrImageScanning(Rule):
    meta = RuleMeta(
        id="FA701",
        name="ecr-image-scanning-not-configured",
        severity=Severity.WARNING,
        title="The ECR repository does not scan images on push",
        why="A scan on push reports the known vulnerabilities (CVEs) of every image as it "
        "is pushed; without one, a vulnerable base image ships unnoticed. Registry-level "
        "enhanced (continuous) scanning with Amazon Inspector also satisfies FSBP ECR.1, but "
        "it is an account setting that a template cannot show: suppress this finding with "
        "that reason if the registry has it.",
        fix=f"Set {CONFIG}: {{ScanOnPush: true}} on the repository, or turn on enhanced "
        "scanning for the registry (aws ecr put-registry-scanning-configuration).",
        references=References(
            fsbp=("ECR.1",),
            checkov=("CKV_AWS_163",),
            aws_config=("ecr-private-image-scanning-enabled",),
        ),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for repository in ctx.resources(REPOSITORY):
            value = setting(repository, CONFIG, "ScanOnPush")
            if value is not None and as_bool(value) is None:
                continue  # UNKNOWN: a parameter or condition we cannot see
            if as_bool(value) is True:
                continue
            if value is not None:
                path: tuple[str, ...] = ("Properties", CONFIG, "ScanOnPush")
                why = "ScanOnPush is false"
            else:
                has_config = setting(repository, CONFIG) is not None
                path = ("Properties", CONFIG) if has_config else ("Properties",)
                why = "ScanOnPush is not set"
            yield self.finding(
                repository,
                f"repository {repository.logical_id} does not scan images on push ({why})",
                path,
            )


RULE = EcrImageScanning()
