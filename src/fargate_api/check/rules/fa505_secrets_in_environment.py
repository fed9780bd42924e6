"""FA505: secrets come from Secrets Manager or SSM, not from plain environment variables.

Environment values are stored in the task definition: readable by anyone who may
describe it, shown in the console and kept in every revision forever.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_list, as_str, get
from fargate_api.templates.topology import TASK_DEFINITION, containers

SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE
)
# Names that hold a pointer to a secret, not the secret itself.
REFERENCE_SUFFIX = re.compile(r"_(ARN|NAME|ID|PATH|FILE|URI|REGION|ENDPOINT)$", re.IGNORECASE)
AWS_ACCESS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")


class SecretsInEnvironment(Rule):
    meta = RuleMeta(
        id="FA505",
        name="secret-in-environment",
        severity=Severity.ERROR,
        title="A secret is passed as a plain environment variable",
        why="Plain environment values are part of the task definition: visible to anyone who "
        "can describe it, in the console, in CloudFormation, and in every old revision.",
        fix="Store the value in Secrets Manager or SSM Parameter Store (SecureString) and pass "
        "it through the container's Secrets (ValueFrom) instead of Environment.",
        references=References(fsbp=("ECS.8",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for task in ctx.resources(TASK_DEFINITION):
            for index, container in containers(task):
                for j, item in enumerate(as_list(get(container, "Environment"))):
                    name = as_str(get(item, "Name")) or ""
                    value = get(item, "Value")
                    if not _looks_secret(name, value):
                        continue
                    yield self.finding(
                        task,
                        f"container {get(container, 'Name')} gets {name or 'a value'} as a plain "
                        "environment variable",
                        ("Properties", "ContainerDefinitions", index, "Environment", j, "Value"),
                    )


def _looks_secret(name: str, value: object) -> bool:
    if isinstance(value, str) and AWS_ACCESS_KEY.search(value):
        return True
    if value in (None, "") or REFERENCE_SUFFIX.search(name):
        return False
    return bool(SECRET_NAME.search(name))


RULE = SecretsInEnvironment()
