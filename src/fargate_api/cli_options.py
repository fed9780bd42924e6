"""Options that the commands of several modules share, declared once.

The back-ends declare their own typer commands (the CLI loads them lazily), so an option
they all take lives here, below them: one spelling, one help text. This module imports
typer only; `--help` and `--version` load it with the CLI.
"""

from __future__ import annotations

from typing import Annotated

import typer

ENV_HELP = (
    "Use the config's [env.NAME] table merged over the rest of the file; the stacks and "
    "resources are named NAME-ENV unless the table sets `name`."
)

EnvOption = Annotated[
    str | None,
    typer.Option("--env", help=ENV_HELP, show_default=False, metavar="ENV"),
]

# `diff` compares two environments' templates when given two.
EnvsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env",
        help=f"{ENV_HELP} Twice (--env a --env b): compare the two environments' "
        "templates, locally, without AWS.",
        show_default=False,
        metavar="ENV",
    ),
]

TEMPLATES_HELP = (
    "A template file, or a folder (its parent.yml with the children, or every top-level "
    "template in it). Repeat -t for several top-level stacks linked by Export and "
    "Fn::ImportValue. NAME=PATH names the stack, for AWS::StackName and the export names; "
    "without NAME a stack is named after its file."
)

# check, cost, diagram and `local up`/`local deploy` read the same template inputs.
TemplatesOption = Annotated[
    list[str] | None,
    typer.Option(
        "-t",
        "--template",
        "--templates",
        help=TEMPLATES_HELP,
        show_default=False,
        metavar="[NAME=]PATH",
    ),
]
