"""The `fargate-api check` command: arguments in, report to stdout, exit code out.

Exit codes: 0 clean; 1 error findings (or warnings with --strict); 2 bad input (a
UserError: unreadable template, unknown intrinsic, missing nested file, bad flags).
"""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from fargate_api.check.engine import CheckOptions, run_check
from fargate_api.check.inputs import from_config, from_paths
from fargate_api.check.report import Report
from fargate_api.check.writers.json_report import to_json
from fargate_api.check.writers.sarif import to_sarif
from fargate_api.check.writers.text import write_text
from fargate_api.cli_options import EnvOption, TemplatesOption
from fargate_api.errors import UserError, writing


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


def check_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Template files or folders, each PATH or NAME=PATH (as -t). Without any, "
            "checks the templates synthesized from the config (-c), as 'synth' would "
            "write them.",
            show_default=False,
            metavar="[[NAME=]PATH]...",
        ),
    ] = None,
    *,
    templates: TemplatesOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--config",
            help="Config to synthesize and check when no PATH is given.",
            show_default=False,
        ),
    ] = None,
    env: EnvOption = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.TEXT,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) on warnings too, not only errors.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the report to this file instead of stdout.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check templates against the pattern's rules and cfn-lint; exit 1 on findings."""
    stderr = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    paths = [*(paths or []), *(templates or [])]
    if paths and (config is not None or env is not None):
        raise UserError(
            "give template PATHs or -c CONFIG, not both",
            fix="-c (with --env) synthesizes the templates to check; PATHs check existing ones",
        )
    inputs = from_paths(paths) if paths else from_config(config, env)
    for note in inputs.notes:
        stderr.print(escape(note))
    # cfn-lint takes a second or more per template set: show that something is happening.
    with stderr.status("checking templates (fargate-api rules, cfn-lint)…"):
        report = run_check(inputs.stack_sets, CheckOptions(strict=strict), notes=inputs.notes)
    _write(report, output_format, output, stderr)
    raise typer.Exit(report.exit_code)


def _write(
    report: Report, output_format: OutputFormat, output: Path | None, stderr: Console
) -> None:
    if output_format is OutputFormat.TEXT and output is None:
        write_text(report, Console(highlight=False, emoji=False, soft_wrap=True))
        return
    if output_format is OutputFormat.TEXT:
        console = Console(record=True, file=io.StringIO(), width=100, highlight=False, emoji=False)
        write_text(report, console)
        text = console.export_text()
    else:
        text = to_json(report) if output_format is OutputFormat.JSON else to_sarif(report)
    if output is None:
        print(text)
        return
    with writing("the report", output, fix="choose a writable path"):
        output.write_text(text + "\n", encoding="utf-8")
    counts = report.counts()
    stderr.print(
        f"wrote {output_format.value} report to {escape(str(output))}: "
        + ", ".join(f"{n} {s.value}" for s, n in counts.items())
    )
