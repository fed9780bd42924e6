"""The human report: findings grouped by file, worst first, each with its fix."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console
from rich.markup import escape

from fargate_api.check.findings import Finding, Severity
from fargate_api.check.report import Report

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def write_text(report: Report, console: Console) -> None:
    active = sorted(report.active, key=lambda f: (f.location.file or "", f.location.line or 0))
    for file, findings in groupby(active, key=lambda f: f.location.file or "(no file)"):
        console.print(f"[bold]{escape(file)}[/bold]")
        for finding in findings:
            _finding(report, finding, console)
        console.print()
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s.value}{'s' if counts[s] != 1 else ''}" for s in Severity)
    suppressed = len(report.suppressed)
    tail = f", {suppressed} suppressed" if suppressed else ""
    verdict = "[green]passed[/green]" if report.exit_code == 0 else "[bold red]failed[/bold red]"
    mode = " (strict: warnings fail)" if report.strict else ""
    console.print(f"{len(report.files)} templates checked: {summary}{tail} — {verdict}{mode}")


def _finding(report: Report, finding: Finding, console: Console) -> None:
    loc = finding.location
    where = f"{loc.file}:{loc.line}" if loc.line else (loc.file or "")
    resource = f" {loc.resource}" if loc.resource else ""
    style = STYLE[finding.severity]
    console.print(
        f"  [{style}]{finding.severity.value:<7}[/{style}] {finding.rule_id} "
        f"{escape(where)}{escape(resource)}: {escape(finding.message)}"
    )
    meta = report.rules.get(finding.rule_id)
    if meta is not None:
        console.print(f"           [dim]fix: {escape(meta.fix)}[/dim]")
