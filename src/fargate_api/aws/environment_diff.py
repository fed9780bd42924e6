"""`fargate-api diff --env A --env B`: two environments' templates, compared locally.

`diff` with one environment asks CloudFormation what a deploy would change; with two it
compares what the two environments would deploy, which needs no AWS account and no
deployed stack. The comparison itself is the synth's (synth/environment_diff.py): this
module checks the flags and prints it, the diff on stdout and a summary on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from fargate_api.errors import UserError
from fargate_api.synth.environment_diff import compare_environments

MAX_ENVIRONMENTS = 2


def diff_environments(
    config: Path | None, templates: Path | None, envs: list[str], as_json: bool
) -> None:
    if len(envs) > MAX_ENVIRONMENTS:
        raise UserError(
            f"--env is given {len(envs)} times; diff compares two environments",
            fix="pass --env once (what a deploy would change) or twice (two environments)",
        )
    if templates is not None:
        raise UserError(
            "--templates and two --env are alternatives: --env A --env B synthesizes both "
            "environments from the config",
            fix="drop --templates, or pass --env once",
        )
    first, second = envs
    if first == second:
        raise UserError(
            f"--env {first} is given twice", fix="name two different environments to compare"
        )
    result = compare_environments(config, first, second)
    if as_json:
        Console(highlight=False, emoji=False, soft_wrap=True).print_json(result.model_dump_json())
    else:
        # As is: a unified diff that `patch` and `git apply` read.
        sys.stdout.write("".join(item.diff for item in result.changed))
    Console(stderr=True, highlight=False, emoji=False, soft_wrap=True).print(
        escape(result.summary())
    )
