"""`local experiment FILE`: a load, faults at set times, and a verdict.

The file is checked first (exit 2 before anything runs). With a [twin] table the
experiment brings up a twin of its own (named after the file), runs on it and removes
it; without, it runs on the twin `--name`. The report goes to DIR/report.json and
DIR/report.png; the per-second table and the verdict to stdout (or the JSON with
--json), progress to stderr. Exit 0: every stop condition held; 1: one was breached (or
the twin failed); 2: bad input, including a fault the twin refused; 130: Ctrl-C, after
every fault was cleared and the partial report written.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fargate_api.errors import (
    FAILED_EXIT_CODE,
    INTERRUPTED_EXIT_CODE,
    UserError,
    writing,
)
from fargate_api.images.output_lines import tool_output
from fargate_api.twin.cli.built_images import BuildProgress, read_builds
from fargate_api.twin.cli.common import err_console, names_for, out_console, read_status
from fargate_api.twin.cli.container_setup import RUNTIME_CHOICES, choose_runtime
from fargate_api.twin.cli.lifecycle import down, make_room, start, wait_ready, wait_timeout
from fargate_api.twin.cli.template_source import templates_for
from fargate_api.twin.daemon.contracts import TwinState
from fargate_api.twin.fis.experiment_contracts import ExperimentReport
from fargate_api.twin.fis.experiment_file import (
    ExperimentFile,
    load_experiment,
    twin_config_path,
)
from fargate_api.twin.fis.experiment_run import (
    ExperimentRun,
    check_fault_targets,
    write_report,
)
from fargate_api.twin.host.prerequisites import check_prerequisites
from fargate_api.twin.naming import DEFAULT_NAME, TwinNames

DEFAULT_CONFIG_TEXT = "# the experiment's [twin] names no config: every value at its default\n"


def experiment_twin_name(file: Path) -> str:
    """`exp-<stem>`, cut to the twin name's 20 characters."""
    stem = re.sub(r"[^a-z0-9-]+", "-", file.stem.lower()).strip("-") or "run"
    return f"exp-{stem}"[:20].rstrip("-")


def experiment_command(
    file: Annotated[Path, typer.Argument(help="The experiment file (TOML).")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            help="The twin to run on (default: 'default'); with a \\[twin] table, the name "
            "of the experiment's own twin (default: exp-<file stem>).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for report.json and report.png (default: "
            "./experiment-<stem>-<timestamp>).",
        ),
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option(
            "--runtime",
            help="auto | container | process: overrides the \\[twin] table's runtime.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (ExperimentReport).")
    ] = False,
) -> None:
    """Run an experiment: open-loop load from the internet host, faults at their times,
    egress probes from every task; print the per-second table and the verdict. Exit 0
    when every stop condition held, 1 when one was breached (the experiment FAILED),
    2 on bad input, 130 on Ctrl-C (faults cleared, partial report written)."""
    spec = load_experiment(file)
    if runtime is not None and runtime not in RUNTIME_CHOICES:
        raise UserError(
            f"--runtime {runtime!r} is not a runtime", fix="use auto, container or process"
        )
    own = spec.twin is not None
    names = names_for(name or (experiment_twin_name(file) if own else DEFAULT_NAME))
    folder = out or Path(f"experiment-{file.stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    with writing("the report folder", folder, fix="pass a writable folder to --out"):
        folder.mkdir(parents=True, exist_ok=True)
    check_prerequisites()
    err = err_console()
    if own:
        status = _bring_up(spec, file, names, folder, runtime)
    else:
        status = read_status(names)
        if status.phase != "running":
            raise UserError(
                f"twin {names.name!r} is {status.phase}, not running",
                fix="`fargate-api local status` says why; or give the file a [twin] table",
            )
    try:
        check_fault_targets(spec, status)
        err.print(
            f"experiment {file.name} on twin {names.name!r}: {spec.load.rate:g} requests/s "
            f"for {spec.load.duration:g} s, {len(spec.faults)} fault(s)"
        )
        run = ExperimentRun(spec, str(file), names, progress=lambda line: err.print(escape(line)))
        report = run.run()
        json_path, png_path = write_report(report, folder)
    except KeyboardInterrupt:
        err.print("interrupted")
        if own:
            down(names)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    except BaseException:
        if own:
            err.print(f"removing the experiment's twin {names.name!r}…")
            down(names)
        raise
    if own:
        with err.status(f"removing the experiment's twin {names.name!r}…"):
            down(names)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        print_report(report)
    err.print(f"report: {json_path} and {png_path}")
    if report.interrupted:
        raise typer.Exit(INTERRUPTED_EXIT_CODE)
    if not report.passed:
        failed = ", ".join(c.name for c in report.conditions if not c.passed)
        err.print(f"[bold red]experiment FAILED[/bold red]: {escape(failed)}")
        raise typer.Exit(FAILED_EXIT_CODE)


def _bring_up(
    spec: ExperimentFile, file: Path, names: TwinNames, folder: Path, runtime: str | None
) -> TwinState:
    """The experiment's own twin, up and ready, as `local up` builds it; on any failure
    nothing is left."""
    assert spec.twin is not None
    config = twin_config_path(spec, file)
    if config is None:
        config = folder / "default-config.toml"
        config.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
    wanted = runtime or spec.twin.runtime
    requested = next(choice for choice in RUNTIME_CHOICES if choice == wanted)
    chosen, notice = choose_runtime(requested, has_run_options=False)
    err = err_console()
    if notice:
        err.print(escape(notice))
    make_room(names)
    try:
        stacks = templates_for(config, None, names.state_dir / "templates")
        builds = read_builds(stacks)
        with err.status(f"bringing up twin {names.name!r}…") as spinner:

            def build_step(message: str) -> None:
                err.print(escape(message))
                spinner.update(escape(message))

            plan, pid = start(
                names,
                stacks,
                {},
                port=0,
                time_scale=spec.twin.time_scale,
                runtime=chosen,
                on_progress=lambda line: spinner.update(escape(line)),
                builds=builds,
                build_progress=BuildProgress(step=build_step, line=tool_output(err)),
            )
            status = wait_ready(
                names,
                pid,
                wait_timeout(plan, spec.twin.time_scale),
                lambda s: spinner.update(f"bringing up twin {names.name!r}: {s.phase}"),
            )
    except KeyboardInterrupt:
        err.print("interrupted: removing what was built…")
        down(names)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    except BaseException:
        down(names)
        raise
    err.print(f"twin {names.name!r} is up ({chosen} mode)")
    return status


def print_report(report: ExperimentReport) -> None:
    out = out_console()
    zones = sorted({z for row in report.rows for z in (*row.egress_ok, *row.egress_failed)})
    table = Table(
        title=f"{Path(report.experiment).name}: per second",
        caption="egress: what-is-my-IP probes from the AZ's tasks, answered/failed",
    )
    for column in ("t", "req", "failed", "p50 ms", "p99 ms", "healthy"):
        table.add_column(column, justify="right")
    for zone in zones:
        table.add_column(f"egress {zone.rsplit('-', 1)[-1]}", justify="right")
    table.add_column("faults")
    for row in report.rows:
        table.add_row(
            str(row.t),
            str(row.requests),
            str(row.failed) if not row.failed else f"[red]{row.failed}[/red]",
            _ms(row.p50_ms),
            _ms(row.p99_ms),
            "-" if row.healthy is None else f"{row.healthy}/{row.desired}",
            *(f"{row.egress_ok.get(z, 0)}/{row.egress_failed.get(z, 0)}" for z in zones),
            ", ".join(row.faults),
        )
    out.print(table)
    totals = report.totals
    out.print(
        f"requests: {totals.requests}, failed {totals.failed} ({totals.failed_ratio:.2%}), "
        f"p50 {_ms(totals.p50_ms)} ms, p99 {_ms(totals.p99_ms)} ms"
    )
    if totals.errors:
        out.print("errors: " + ", ".join(f"{k} x{v}" for k, v in totals.errors.items()))
    for fault in report.faults:
        end = "-" if fault.end is None else f"{fault.end:g}"
        out.print(f"fault {fault.id} {fault.action} {fault.target}: t={fault.start:g}..{end} s")
    recovery = report.recovery
    recovered = f" in {recovery.seconds:g} s" if recovery.seconds is not None else ""
    out.print(f"recovery: {recovery.outcome}{recovered}")
    for az in report.egress:
        note = " (failed on purpose: exempt)" if az.exempt else ""
        out.print(
            f"egress {az.az}{note}: before {', '.join(az.before) or '-'}; during "
            f"{', '.join(az.during) or '-'}; after {', '.join(az.after) or '-'}; "
            f"{az.failed}/{az.probes} probes failed"
        )
    for condition in report.conditions:
        mark = "[green]PASS[/green]" if condition.passed else "[red]FAIL[/red]"
        out.print(
            f"{mark} {condition.name}: {escape(condition.measured)} "
            f"(limit {escape(condition.limit)})"
        )
    if report.interrupted:
        verdict = "[yellow]INTERRUPTED[/yellow] (partial report)"
    else:
        verdict = (
            "[bold green]PASSED[/bold green]" if report.passed else "[bold red]FAILED[/bold red]"
        )
    out.print(f"verdict: {verdict}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
