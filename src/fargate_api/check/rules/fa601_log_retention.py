"""FA601: log groups expire their logs.

A log group without RetentionInDays keeps everything forever: cost grows without bound
and personal data in logs outlives any retention policy.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.topology import LOG_GROUP


class LogRetention(Rule):
    meta = RuleMeta(
        id="FA601",
        name="log-group-without-retention",
        severity=Severity.WARNING,
        title="A log group keeps its logs forever",
        why="Without RetentionInDays, CloudWatch Logs never deletes anything: storage cost "
        "grows every day, and logs (often with personal data) outlive any retention policy.",
        fix="Set RetentionInDays (e.g. 30 for application logs, 90-365 for audit-relevant ones).",
        references=References(checkov=("CKV_AWS_66",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for group in ctx.resources(LOG_GROUP):
            if "RetentionInDays" not in group.properties:
                yield self.finding(group, f"log group {group.logical_id} has no RetentionInDays")


RULE = LogRetention()
