"""The `fargate-api diagram` command: templates in, one PNG or SVG out.

The input is always a template set, loaded through the same loader `check` uses: with
-c the config is synthesized and its templates are loaded from memory; with -t an
existing folder (its parent.yml, or every top-level template in it), files, or several
stacks linked by exports are loaded from disk. So the picture shows what would
be deployed, whoever wrote the templates. The written path goes to stdout, progress to
stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from fargate_api.cli_options import EnvOption, TemplatesOption
from fargate_api.config import Config, load_config
from fargate_api.diagram.model import build_model
from fargate_api.diagram.render import FORMATS, render, require_graphviz
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, to_yaml
from fargate_api.templates import (
    DiskReader,
    MemoryReader,
    StackSet,
    discover,
    load_stack_set,
    load_stacks,
    parse_stack_inputs,
)

DEFAULT_OUTPUT = Path("fargate-api-diagram.png")
PARENT_FILE = "parent.yml"


def diagram_command(
    config: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--config",
            help="Config whose synthesized templates to draw. Default: ./fargate-api.toml "
            "if present, else the defaults.",
            show_default=False,
        ),
    ] = None,
    env: EnvOption = None,
    templates: TemplatesOption = None,
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="The image to write: .png or .svg."),
    ] = DEFAULT_OUTPUT,
) -> None:
    """Draw the architecture (VPC, AZs, subnets, gateways, ALB, tasks, SG edges) from the
    templates.

    Exit codes: 0 the image is written; 1 Graphviz's dot failed to draw it (its message
    is shown); 2 bad input (templates, options, dot not installed).
    """
    stderr = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    if (config is not None or env is not None) and templates:
        raise UserError(
            "give -c CONFIG or -t DIR, not both",
            fix="-c (with --env) draws the templates synthesized from the config; -t draws "
            "existing ones",
        )
    fmt = output_format(output)
    require_graphviz()
    stack_set, source = (
        (load_inputs(templates), ", ".join(templates))
        if templates
        else (load_synthesized(config, env), _config_source(config, env))
    )
    model = build_model(stack_set)
    if not model.subnets() and not model.services and not model.load_balancers:
        raise UserError(
            "the templates have no subnet, load balancer or ECS service to draw",
            where=source,
            fix="pass the folder 'fargate-api synth -o DIR' wrote, or its parent.yml",
        )
    stderr.print(f"drawing the templates of {escape(source)} with Graphviz…")
    written = render(model, output, fmt)
    stderr.print(f"wrote the {fmt.upper()} diagram")
    typer.echo(str(written))


def output_format(output: Path) -> str:
    """The image format, from the output's suffix; anything but .png/.svg is refused."""
    fmt = output.suffix.lower().removeprefix(".")
    if fmt not in FORMATS:
        raise UserError(
            f"unsupported diagram format {output.suffix or '(no suffix)'!r}",
            where=str(output),
            fix="end the -o path in .png or .svg",
        )
    return fmt


def _config_source(config: Path | None, env: str | None) -> str:
    source = str(config) if config else "the default config"
    return f"{source}, environment {env}" if env is not None else source


def load_synthesized(config: Path | None, env: str | None = None) -> StackSet:
    """The config's templates, loaded from memory under the names `synth` would write."""
    return synthesized_stack_set(load_config(config, env))


def synthesized_stack_set(model: Config) -> StackSet:
    """A config model's templates, rendered to YAML and read back through the loader, so
    the diagram sees exactly what `synth` would write and `-t` would load."""
    files = {Path(name): to_yaml(t.to_dict()) for name, t in synthesize(model).items()}
    return load_stack_set(Path(PARENT_FILE), reader=MemoryReader(files))


def load_inputs(templates: list[str]) -> StackSet:
    """-t's files and folders (a folder's parent.yml with its children, or each top-level
    template in it), NAME=PATH naming a stack; all of them drawn as one picture."""
    reader = DiskReader()
    found = discover(parse_stack_inputs(templates), reader)
    return load_stacks(found.stacks, reader=reader)
