"""FA602: log groups survive the stack: DeletionPolicy and UpdateReplacePolicy.

Logs are evidence. Without the policies, deleting the stack (or a change that replaces
the log group) deletes them at the moment they are most needed.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.topology import LOG_GROUP


class LogGroupDeletionPolicy(Rule):
    meta = RuleMeta(
        id="FA602",
        name="log-group-deleted-with-stack",
        severity=Severity.WARNING,
        title="A log group is deleted with the stack",
        why="Without DeletionPolicy and UpdateReplacePolicy, a stack deletion or a replacing "
        "update deletes the log group and every log in it, including those needed to "
        "investigate why the stack was torn down.",
        fix="Set DeletionPolicy: Retain and UpdateReplacePolicy: Retain on the log group "
        "(its RetentionInDays still expires old logs).",
        references=References(cfn_lint=("I3011",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for group in ctx.resources(LOG_GROUP):
            missing = [
                name
                for name, value in (
                    ("DeletionPolicy", group.deletion_policy),
                    ("UpdateReplacePolicy", group.update_replace_policy),
                )
                if value is None
            ]
            if missing:
                yield self.finding(
                    group,
                    f"log group {group.logical_id} has no {' and no '.join(missing)}: its logs "
                    "are deleted with the stack",
                )


RULE = LogGroupDeletionPolicy()
