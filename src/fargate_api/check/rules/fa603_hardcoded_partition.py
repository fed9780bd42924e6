"""FA603: ARNs use ${AWS::Partition}, not a literal "arn:aws:".

Read on the template as written (raw properties): after resolution every partition looks
hard-coded. A literal partition breaks deployment to GovCloud and China regions.

Only generic ARNs count: ones built from ${AWS::AccountId} or ${AWS::Region}, or AWS-owned
ones such as managed policies (account "aws"). A literal account and region name one
existing resource (a certificate, a secret) that lives in one partition anyway, as
cfn-lint's I3042 also judges. A literal region of the aws partition is enough on its own
("arn:aws:ec2:us-east-1:" then ${AWS::AccountId}, as CDK writes ARNs in a stack with a
fixed region): the ARN is tied to that region, whose partition is aws, and
${AWS::Partition} would not make it right anywhere else. A literal region of another
partition (cn-north-1, us-gov-west-1) under arn:aws: is wrong outright and still counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import walk

LITERAL_PARTITION = re.compile(r"\barn:aws:[^:]*:(?P<region>[^:]*):(?P<account>[^:]*)")
ACCOUNT_SPECIFIC = re.compile(r"^\d{12}$")
# A region name of the aws partition: not cn-*, nor us-gov-*/us-iso*-* (one more part).
AWS_PARTITION_REGION = re.compile(r"^(?!cn-)[a-z]{2}-[a-z]+-\d+$")


class HardcodedPartition(Rule):
    meta = RuleMeta(
        id="FA603",
        name="hard-coded-partition",
        severity=Severity.WARNING,
        title="An ARN hard-codes the aws partition",
        why="arn:aws: is wrong in the aws-cn and aws-us-gov partitions, so the template fails "
        "(or grants the wrong thing) there; ${AWS::Partition} works everywhere.",
        fix="Write the ARN with Fn::Sub and ${AWS::Partition}, e.g. "
        "!Sub arn:${AWS::Partition}:iam::aws:policy/...",
        references=References(cfn_lint=("I3042",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for resource in ctx.resources():
            for path, value in walk(resource.raw_properties, ("Properties",)):
                if isinstance(value, str) and _generic_arn(value):
                    yield self.finding(
                        resource,
                        f"{resource.logical_id} has a hard-coded partition in "
                        f"{_show(path)}: {value[:80]}",
                        path,
                    )


def _generic_arn(value: str) -> bool:
    for match in LITERAL_PARTITION.finditer(value):
        if AWS_PARTITION_REGION.match(match["region"]):
            continue  # tied to an aws-partition region: the partition is right
        if not ACCOUNT_SPECIFIC.match(match["account"]) or "${" in match["region"]:
            return True
    return False


def _show(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path if not str(p).startswith("Fn::"))


RULE = HardcodedPartition()
