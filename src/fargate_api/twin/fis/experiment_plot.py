"""report.png: what the experiment's table says, as one picture with four panels that
share the time axis, each fault's window shaded: requests and failures per second, p50
and p99 latency, healthy tasks against the desired count, and the failed egress probes
of each AZ (where a single NAT gateway's loss shows)."""

from __future__ import annotations

from pathlib import Path

from fargate_api.twin.fis.experiment_contracts import ExperimentReport

FAULT_COLOURS = ("#f4a582", "#92c5de", "#b8e186", "#fdb863", "#c2a5cf", "#bababa")


def write_plot(report: ExperimentReport, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (only when a report is drawn: it takes a second)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    seconds = [row.t for row in report.rows]
    figure, (load, latency, tasks, egress) = plt.subplots(
        4, 1, figsize=(10, 10), sharex=True, constrained_layout=True
    )
    verdict = "PASS" if report.passed else ("INTERRUPTED" if report.interrupted else "FAIL")
    figure.suptitle(f"{Path(report.experiment).name}: {verdict}")
    load.plot(seconds, [row.requests for row in report.rows], label="requests/s", color="#2166ac")
    load.plot(seconds, [row.failed for row in report.rows], label="failed/s", color="#b2182b")
    load.set_ylabel("requests")
    latency.plot(seconds, [_nan(row.p50_ms) for row in report.rows], label="p50", color="#1b7837")
    latency.plot(seconds, [_nan(row.p99_ms) for row in report.rows], label="p99", color="#762a83")
    latency.set_ylabel("latency (ms)")
    tasks.step(
        seconds,
        [_nan(row.healthy) for row in report.rows],
        where="post",
        label="healthy tasks",
        color="#2166ac",
    )
    tasks.step(
        seconds,
        [_nan(row.desired) for row in report.rows],
        where="post",
        label="desired",
        color="#999999",
        linestyle="--",
    )
    tasks.set_ylabel("tasks")
    tasks.set_ylim(bottom=0)
    tasks.yaxis.get_major_locator().set_params(integer=True)
    exempt = {az.az for az in report.egress if az.exempt}
    for zone in sorted({z for row in report.rows for z in (*row.egress_ok, *row.egress_failed)}):
        note = " (failed on purpose)" if zone in exempt else ""
        egress.step(
            seconds,
            [row.egress_failed.get(zone, 0) for row in report.rows],
            where="post",
            label=f"{zone}{note}",
            linestyle=":" if zone in exempt else "-",
        )
    egress.set_ylabel("failed egress probes")
    egress.yaxis.get_major_locator().set_params(integer=True)
    egress.set_xlabel("seconds since the load started")
    end = max(seconds, default=0) + 1
    for index, fault in enumerate(report.faults):
        colour = FAULT_COLOURS[index % len(FAULT_COLOURS)]
        for axes in (load, latency, tasks, egress):
            axes.axvspan(
                fault.start,
                fault.end if fault.end is not None else end,
                color=colour,
                alpha=0.35,
                label=f"{fault.action} {fault.target}" if axes is load else None,
            )
    for axes in (load, latency, tasks, egress):
        axes.grid(alpha=0.3)
        axes.legend(loc="upper right", fontsize="small")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value
