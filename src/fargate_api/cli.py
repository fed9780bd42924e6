"""The `fargate-api` command line.

Data goes to stdout and everything else (progress, notes, errors) to stderr, so that
`fargate-api synth --json | jq` works. A CliError becomes one message and its exit code
(2 bad input, 1 failed: README "Exit codes"); a traceback is shown only with --debug.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

import fargate_api
from fargate_api.cli_lazy import LazyCommand, LazyGroup
from fargate_api.cli_options import EnvOption
from fargate_api.errors import INTERRUPTED_EXIT_CODE, CliError, UserError, writing

if TYPE_CHECKING:
    from fargate_api.config.view import SourcedValue

# The same path as fargate_api.config.DEFAULT_CONFIG_PATH (a test keeps them equal): that
# package imports the config model and pydantic, which `--version` and `--help` do without.
DEFAULT_CONFIG_PATH = Path("fargate-api.toml")
DEFAULT_OUT_DIR = Path("fargate-api.out")


class Commands(LazyGroup):
    """The root group: init, synth and config are defined below; the other commands'
    modules (the AWS back-end, check with cfn-lint, cost, diagram, the local twin) are
    imported only when the command runs. `help` is each command's first help paragraph,
    as `fargate-api --help` lists it (tests/functional/test_cli_startup.py compares it with
    the real command's)."""

    lazy_commands = (
        LazyCommand(
            "check",
            "fargate_api.check.command",
            "check_command",
            "Check templates against the pattern's rules and cfn-lint; exit 1 on findings.",
        ),
        LazyCommand(
            "build",
            "fargate_api.build_command",
            "build_command",
            "Build the service's image from its Dockerfile (podman or docker), tagged by commit.",
        ),
        LazyCommand(
            "deploy",
            "fargate_api.aws.commands",
            "deploy_command",
            "Deploy the templates as NAME-vpc, NAME-cluster, NAME-service (change sets, live "
            "progress).",
        ),
        LazyCommand(
            "diff",
            "fargate_api.aws.commands",
            "diff_command",
            "Show what a deploy would change, per stack, from CloudFormation change sets.",
        ),
        LazyCommand(
            "status",
            "fargate_api.aws.commands",
            "status_command",
            "Print the stacks' states, URL, egress IPs, running/desired tasks and target health.",
        ),
        LazyCommand(
            "outputs",
            "fargate_api.aws.commands",
            "outputs_command",
            "Print the URL, the egress IPs and every stack output.",
        ),
        LazyCommand(
            "rollback",
            "fargate_api.aws.commands",
            "rollback_command",
            "Roll back the ECS service deployment in progress to the revision that ran before.",
        ),
        LazyCommand(
            "logs",
            "fargate_api.aws.commands",
            "logs_command",
            "Print the service's CloudWatch logs; --follow tails them.",
        ),
        LazyCommand(
            "destroy",
            "fargate_api.aws.commands",
            "destroy_command",
            "Delete NAME-service, NAME-cluster, NAME-vpc in that order; list what is retained.",
        ),
        LazyCommand(
            "cost",
            "fargate_api.cost.command",
            "cost_command",
            "Estimate the monthly cost of the templates, and the cheaper variants' trade-offs.",
        ),
        LazyCommand(
            "diagram",
            "fargate_api.diagram.command",
            "diagram_command",
            "Draw the architecture (VPC, AZs, subnets, gateways, ALB, tasks, SG edges) from the"
            "\ntemplates.",
        ),
        LazyCommand(
            "local",
            "fargate_api.twin.cli.commands",
            "local_app",
            "Run the templates on this machine as a real network: namespaces, nftables, "
            "HAProxy, and the tasks' containers run from their images with podman (or as "
            "local processes): the local twin. Needs root.",
        ),
    )


app = typer.Typer(
    name="fargate-api",
    cls=Commands,
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
# `config` aligns the values' sources here (longer lines push theirs further right).
SOURCE_COLUMN = 36


def _version(value: bool) -> None:
    if value:
        stdout.print(f"fargate-api {fargate_api.__version__}")
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
    from fargate_api.config.starter import STARTER_CONFIG  # noqa: PLC0415

    with writing("the config", path, fix="pass a path in an existing, writable folder"):
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
    env: EnvOption = None,
) -> None:
    """Write vpc.yml, cluster.yml, service.yml and parent.yml (the reference layout)."""
    from fargate_api.config import load_config  # noqa: PLC0415 (pydantic: not at start-up)
    from fargate_api.synth import synthesize, write_templates  # noqa: PLC0415
    from fargate_api.synth.summary import summarize  # noqa: PLC0415

    model = load_config(config, env)
    templates = synthesize(model, templates_dir=out)
    with writing("the templates", out, fix="choose a writable folder with -o"):
        written = write_templates(templates, out)
    summary = summarize({name: t.to_dict() for name, t in templates.items()})
    summary["written"] = [str(p) for p in written]
    if as_json:
        stdout.print_json(json.dumps(summary))
    else:
        _print_summary(summary)
    # The folder does not say which environment it holds: the stack name must.
    named = f" --stack-name {model.name}" if env is not None else ""
    stderr.print(
        f"wrote {len(written)} templates to {out}/ — deploy with: fargate-api deploy "
        f"--templates {out}{named}, or: sam deploy --template-file {out}/parent.yml "
        f"--stack-name {model.name} --resolve-s3 --capabilities CAPABILITY_IAM"
    )


@app.command("config")
def show_config(
    config: ConfigOption = None, as_json: JsonOption = False, env: EnvOption = None
) -> None:
    """Print the config as validated, with every default filled in, and where each value
    comes from (default, base, env.NAME).

    With --env NAME, the environment's table merged over the file; --json then prints
    each key's value and source (docs/schemas/config-view.schema.json). Without --env,
    --json prints the validated config itself.
    """
    from fargate_api.config import read_config  # noqa: PLC0415 (pydantic: not at start-up)
    from fargate_api.config.view import config_view  # noqa: PLC0415

    loaded = read_config(config, env)
    view = config_view(
        loaded.config,
        loaded.sources,
        file=str(loaded.file) if loaded.file else None,
        environments=loaded.environments,
    )
    if as_json and env is None:
        stdout.print_json(json.dumps(loaded.config.model_dump(mode="json")))
    elif as_json:
        stdout.print_json(view.model_dump_json())
    else:
        _print_view(view.values)


def _print_view(values: Mapping[str, SourcedValue]) -> None:
    """`key = value    # source`, the top-level keys first, then one header per table as
    the file would have it (`[service]`, `[[services]]` for each element)."""
    ordered = sorted(values.items(), key=lambda item: _table_of(item[0])[0] != "")
    header = ""
    for key, item in ordered:
        table, name = _table_of(key)
        if table and table != header:
            element = re.fullmatch(r"(\w+)\[\d+\]", table)
            title = f"[[{element.group(1)}]]" if element else f"[{table}]"
            stdout.print(title, markup=False, style="bold")
        header = table
        line = f"{'  ' if table else ''}{name} = {json.dumps(item.value)}"
        stdout.print(f"{line.ljust(SOURCE_COLUMN)}    # {item.source}", markup=False)


def _table_of(key: str) -> tuple[str, str]:
    """("service", "cpu") for service.cpu, ("services[1]", "paths"), ("", "name")."""
    match = re.match(r"^(\w+(?:\[\d+\])?)\.(.+)$", key)
    return (match.group(1), match.group(2)) if match else ("", key)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415 (not needed for --json)

    table = Table(title="Templates", show_lines=True)
    table.add_column("file")
    table.add_column("resources", justify="right")
    table.add_column("highlights")
    for name, info in summary["templates"].items():
        table.add_row(name, str(info["resources"]), "\n".join(info["highlights"]))
    stdout.print(table)


def split_at_double_dash(args: list[str]) -> tuple[list[str], list[str]]:
    """The arguments before the first literal `--` (ours to read), and the rest from that
    `--` on, kept as given for the command that takes them."""
    if "--" not in args:
        return list(args), []
    cut = args.index("--")
    return args[:cut], args[cut:]


def main() -> None:
    """Entry point: runs the app and renders a CliError once: UserError exits 2,
    OperationError exits 1, Ctrl-C exits 130 (errors.py has the codes; README "Exit
    codes" documents them)."""
    ours, theirs = split_at_double_dash(sys.argv[1:])
    debug = "--debug" in ours
    try:
        # --debug is accepted anywhere among our options, not only before the command;
        # after `--` everything belongs to the command run (`local exec -- tool --debug`).
        app(args=[arg for arg in ours if arg != "--debug"] + theirs, prog_name="fargate-api")
    except CliError as exc:
        if debug:  # the traceback too, and still the error's exit code
            import traceback  # noqa: PLC0415 (only on this path)

            traceback.print_exc()
        stderr.print(f"[bold red]error:[/bold red] {escape(exc.render())}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(INTERRUPTED_EXIT_CODE)
