"""The `fargate-api` command line.

Data goes to stdout and everything else (progress, notes, errors) to stderr, so that
`fargate-api synth --json | jq` works. A UserError becomes one message and exit code 2;
a traceback is shown only with --debug.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fargate_api import __version__
from fargate_api.aws.commands import (
    deploy_command,
    destroy_command,
    diff_command,
    logs_command,
    outputs_command,
    status_command,
)
from fargate_api.check.command import check_command
from fargate_api.config import DEFAULT_CONFIG_PATH, load_config
from fargate_api.config.starter import STARTER_CONFIG
from fargate_api.cost.command import cost_command
from fargate_api.diagram.command import diagram_command
from fargate_api.errors import USAGE_EXIT_CODE, UserError, writing
from fargate_api.synth import synthesize, write_templates
from fargate_api.synth.summary import summarize
from fargate_api.twin.commands import local_app

DEFAULT_OUT_DIR = Path("fargate-api.out")

app = typer.Typer(
    name="fargate-api",
    help="A public API on AWS Fargate from one small config file: private tasks behind an "
    "internet-facing ALB, with NAT gateways for fixed egress IPs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stderr = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
stdout = Console(highlight=False, emoji=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c",
        "--config",
        help=f"The config file. Default: ./{DEFAULT_CONFIG_PATH} if present, else the defaults.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _version(value: bool) -> None:
    if value:
        stdout.print(f"fargate-api {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show a traceback when something fails.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Options that apply to every command; --debug is read by main() too."""


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(help="Where to write the config.", show_default=True)
    ] = DEFAULT_CONFIG_PATH,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config that lists every key with its default."""
    if path.exists() and not force:
        raise UserError("file exists already", where=str(path), fix="pass --force to overwrite it")
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    stderr.print(f"wrote {escape(str(path))}; edit it, then run 'fargate-api synth -c {path}'")
    stdout.print(str(path))


@app.command()
def synth(
    config: ConfigOption = None,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Folder for the templates.")
    ] = DEFAULT_OUT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Write vpc.yml, cluster.yml, service.yml and parent.yml (the reference layout)."""
    model = load_config(config)
    templates = synthesize(model)
    with writing("the templates", out, fix="choose a writable folder with -o"):
        written = write_templates(templates, out)
    summary = summarize({name: t.to_dict() for name, t in templates.items()})
    summary["written"] = [str(p) for p in written]
    if as_json:
        stdout.print_json(json.dumps(summary))
    else:
        _print_summary(summary)
    stderr.print(
        f"wrote {len(written)} templates to {out}/ — deploy with: fargate-api deploy "
        f"--templates {out}, or: sam deploy --template-file {out}/parent.yml --stack-name "
        f"{model.name} --resolve-s3 --capabilities CAPABILITY_IAM"
    )


@app.command("config")
def show_config(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Print the config as validated, with every default filled in."""
    model = load_config(config)
    data = model.model_dump(mode="json")
    if as_json:
        stdout.print_json(json.dumps(data))
        return
    for section, values in data.items():
        if isinstance(values, dict):
            stdout.print(f"[bold]\\[{section}][/bold]")
            for key, value in values.items():
                stdout.print(f"  {key} = {json.dumps(value)}")
        else:
            stdout.print(f"{section} = {json.dumps(values)}")


app.command("check")(check_command)
app.command("deploy")(deploy_command)
app.command("diff")(diff_command)
app.command("status")(status_command)
app.command("outputs")(outputs_command)
app.command("logs")(logs_command)
app.command("destroy")(destroy_command)
app.add_typer(local_app, name="local")
app.command("cost")(cost_command)
app.command("diagram")(diagram_command)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title="Templates", show_lines=True)
    table.add_column("file")
    table.add_column("resources", justify="right")
    table.add_column("highlights")
    for name, info in summary["templates"].items():
        table.add_row(name, str(info["resources"]), "\n".join(info["highlights"]))
    stdout.print(table)


def main() -> None:
    """Entry point: runs the app and turns known failures into one message and exit 2."""
    args = sys.argv[1:]
    debug = "--debug" in args
    try:
        # --debug is accepted anywhere on the line, not only before the command.
        app(args=[arg for arg in args if arg != "--debug"], prog_name="fargate-api")
    except UserError as exc:
        if debug:
            raise
        stderr.print(f"[bold red]error:[/bold red] {escape(exc.render())}")
        sys.exit(USAGE_EXIT_CODE)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
