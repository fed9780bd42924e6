"""Item 6 of the benchmarks: the local twin in container mode (podman), for run.py.

`fargate-api local up --runtime container` to the first HTTP 200 through the twin's URL
and to "every task healthy" (`local up` returns), with 2 and 50 tasks of a small image
(the busybox test image serving `httpd`) and 2 tasks of the nginx test image; and the
same busybox twins in process mode (`--runtime process`, the config's `[local] command`
running the host's busybox httpd, else `python3 -m http.server`), so that the cost of
running images with podman is a ratio (container / process, up-to-healthy).

Every variant runs in every round, the order rotated by round (as run.py does), so the
noise of a small shared machine hits them alike. The clock starts just before
`local up` is spawned; a thread polls `GET http://127.0.0.1:PORT/` (the port passed with
`--port`) for the first 200, another reads the twin's state.json every 100 ms (each
task's first RUNNING and first healthy), and after `local up` returned the podman
containers' created/started times are read: that is where the time goes (the daemon sets
up each new task's ENI and security groups one after the other, and starts the tasks'
containers with `podman run` on up to 4 threads alongside).

Every twin has a unique name (`bench-<random>`) and is removed with `local down` in a
`finally` (failure, Ctrl-C, SIGTERM); afterwards its namespaces, state folder, links,
processes and podman containers are checked to be gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import twin_bench
from twin_bench import (
    STATE_ROOT,
    PartResults,
    UpDown,
    cell,
    failed_runs,
    fmt_n,
    fmt_s,
    left_behind,
    log,
    median,
    new_name,
    problems,
    ratio,
    rotated,
    spread,
    up_log,
)

BUSYBOX = "localhost/fa-test-busybox:latest"
NGINX = "localhost/fa-test-nginx:latest"
BUSYBOX_COMMAND = ["sh", "-c", "echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
GOAL_TASKS = 50
GOAL_SECONDS = 30.0
COUNTS = (2, 50)
UP_TIMEOUT = 420.0
TRACE_INTERVAL = 0.1

BEGIN_MARK = "<!-- begin: containers (benchmarks/container_twin.py) -->"
END_MARK = "<!-- end: containers -->"
RAW_BEGIN = "<!-- begin: containers raw (benchmarks/container_twin.py) -->"
RAW_END = "<!-- end: containers raw -->"


@dataclass(frozen=True)
class Variant:
    key: str
    runtime: str  # container | process
    image: str  # busybox | nginx
    desired: int

    @property
    def label(self) -> str:
        server = "busybox httpd" if self.image == "busybox" else "nginx"
        return f"{self.runtime}, {server}, {self.desired} tasks"


VARIANTS = (
    Variant("c-bb-2", "container", "busybox", 2),
    Variant("p-bb-2", "process", "busybox", 2),
    Variant("c-nginx-2", "container", "nginx", 2),
    Variant("c-bb-50", "container", "busybox", 50),
    Variant("p-bb-50", "process", "busybox", 50),
)


@dataclass(frozen=True)
class Settings:
    time_scale: float = 0.1
    reps: int = 3


@dataclass
class Trace:
    """Seconds since the start of `local up`, read from state.json and podman."""

    phases: dict[str, float] = field(default_factory=dict)  # phase -> first seen
    running: dict[str, float] = field(default_factory=dict)  # task id -> first RUNNING
    healthy: dict[str, float] = field(default_factory=dict)  # task id -> first healthy
    # podman, per container: (created, started)
    containers: list[tuple[float, float]] = field(default_factory=list)


@dataclass(kw_only=True)
class Run(UpDown):
    variant: Variant
    trace: Trace = field(default_factory=Trace)
    load_before: float = 0.0


@dataclass
class Results(PartResults):
    settings: Settings
    runs: list[Run] = field(default_factory=list)
    load: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    process_server: str = ""


# --- podman -------------------------------------------------------------------------------


def podman_env(work: Path) -> dict[str, str]:
    """podman configured as the twin configures it (its containers.conf)."""
    from fargate_api.twin.host.containers_conf import write_containers_conf  # noqa: PLC0415

    conf = write_containers_conf(work / "containers.conf")
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(argv: list[str], env: dict[str, str], timeout: float = 60) -> str:
    result = subprocess.run(
        ["podman", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.stdout if result.returncode == 0 else ""


def containers_of(prefix: str, env: dict[str, str]) -> list[str]:
    """podman containers whose name starts with prefix (`fa-NAME-` for a twin's)."""
    out = podman(["ps", "-a", "--filter", f"name=^{prefix}", "--format", "{{.Names}}"], env)
    return [line.strip() for line in out.splitlines() if line.strip()]


def container_times(name: str, env: dict[str, str], start_epoch: float, trace: Trace) -> None:
    names = containers_of(f"fa-{name}-", env)
    if not names:
        return
    out = podman(
        ["inspect", "--format", "{{.Created.UnixNano}} {{.State.StartedAt.UnixNano}}", *names],
        env,
    )
    for line in out.splitlines():
        with contextlib.suppress(ValueError):
            created, started = (int(x) / 1e9 - start_epoch for x in line.split())
            if started > created:
                trace.containers.append((created, started))
    trace.containers.sort()


def why_not(env: dict[str, str] | None = None) -> str | None:
    reason = twin_bench.why_not()
    if reason is not None:
        return reason
    if shutil.which("podman") is None:
        return "podman is not installed (`make install` installs it)"
    if env is not None:
        missing = [
            image
            for image in (BUSYBOX, NGINX)
            if subprocess.run(
                ["podman", "image", "exists", image], env=env, capture_output=True, check=False
            ).returncode
            != 0
        ]
        if missing:
            return (
                f"{', '.join(missing)} not in podman's store; build them with "
                "`.venv/bin/python tests/images/build_test_images.py`"
            )
    return None


# --- configs --------------------------------------------------------------------------------


def process_server(work: Path) -> tuple[str, str]:
    """The `[local] command` of the process-mode twins, and how to describe it."""
    docroot = work / "docroot"
    docroot.mkdir(exist_ok=True)
    (docroot / "index.html").write_text("ok\n", encoding="utf-8")
    busybox = shutil.which("busybox")
    if busybox:
        return (
            f"exec {busybox} httpd -f -p {{port}} -h {docroot}",
            f"the host's busybox httpd (`{busybox} httpd -f -p PORT -h DIR`), the same server "
            "as the container side's",
        )
    return (
        f"cd {docroot} && exec python3 -m http.server {{port}}",
        "`python3 -m http.server PORT` (no busybox on the host)",
    )


def write_config(work: Path, variant: Variant, local_command: str) -> Path:
    lines = ["[service]"]
    if variant.image == "busybox":
        lines += [f'image = "{BUSYBOX}"', f"command = {json.dumps(BUSYBOX_COMMAND)}"]
    else:
        # The nginx test image writes to /var/lib/nginx and /run: no read-only root.
        lines += [f'image = "{NGINX}"', "read_only_root_filesystem = false"]
    lines += ["port = 80", f"desired_count = {variant.desired}"]
    if variant.runtime == "process":
        lines += ["", "[local]", f"command = {json.dumps(local_command)}"]
    path = work / f"{variant.key}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- one run -----------------------------------------------------------------------------------


class Tracer(threading.Thread):
    """Reads the twin's state.json: each phase's and each task's first RUNNING/healthy."""

    def __init__(self, name: str, start: float, trace: Trace) -> None:
        super().__init__(daemon=True)
        self.path = STATE_ROOT / f"fa-{name}-twin" / "state.json"
        self.start_time = start
        self.trace = trace
        self.done = threading.Event()

    def run(self) -> None:
        mtime = 0
        while not self.done.is_set():
            with contextlib.suppress(OSError, ValueError):
                stat = self.path.stat()
                if stat.st_mtime_ns != mtime:
                    mtime = stat.st_mtime_ns
                    self.read(json.loads(self.path.read_text(encoding="utf-8")))
            self.done.wait(TRACE_INTERVAL)

    def read(self, state: dict[str, Any]) -> None:
        now = time.perf_counter() - self.start_time
        self.trace.phases.setdefault(str(state.get("phase")), now)
        for task in state.get("tasks") or []:
            task_id = str(task.get("id"))
            if task.get("last_status") == "RUNNING":
                self.trace.running.setdefault(task_id, now)
            if task.get("health") == "healthy":
                self.trace.healthy.setdefault(task_id, now)


class RunWatch:
    """What item 6 follows besides the first 200 (a `twin_bench.Watch`): state.json from
    the start, podman's created/started times once `local up` returned, and the twin's
    podman containers left after `local down`."""

    def __init__(self, run: Run, env: dict[str, str]) -> None:
        self.run = run
        self.env = env
        self.tracer: Tracer | None = None
        self.start_epoch = 0.0

    def start(self, start: float, start_epoch: float) -> None:
        self.start_epoch = start_epoch
        self.tracer = Tracer(self.run.name, start, self.run.trace)
        self.tracer.start()

    def finish(self) -> None:
        tracer = self.tracer
        if tracer is not None:
            tracer.done.set()
            tracer.join(5)
            if tracer.path.exists():
                with contextlib.suppress(OSError, ValueError):
                    tracer.read(json.loads(tracer.path.read_text(encoding="utf-8")))
        if self.run.variant.runtime == "container":
            container_times(self.run.name, self.env, self.start_epoch, self.run.trace)

    def stop(self) -> None:
        if self.tracer is not None:
            self.tracer.done.set()

    def leftovers(self) -> list[str]:
        return [f"podman container {c}" for c in containers_of(f"fa-{self.run.name}-", self.env)]


def one_run(run: Run, config: Path, settings: Settings, env: dict[str, str]) -> None:
    """`local up` with the URL polled and state.json traced from the start, then down."""
    run.load_before = os.getloadavg()[0]
    twin_bench.up_to_first_200(
        run,
        config,
        settings.time_scale,
        runtime=run.variant.runtime,
        up_timeout=UP_TIMEOUT,
        watch=RunWatch(run, env),
    )


def bench_leftovers(env: dict[str, str]) -> list[str]:
    return twin_bench.bench_leftovers() + [
        f"podman container {c}" for c in containers_of("fa-bench-", env)
    ]


def run_container_benchmarks(settings: Settings, work: Path) -> Results:
    """Item 6; Ctrl-C or SIGTERM removes the twin being measured, then re-raises."""
    results = Results(settings=settings)
    reason = twin_bench.why_not()
    env = podman_env(work) if reason is None else dict(os.environ)
    reason = why_not(env) if reason is None else reason
    if reason is not None:
        results.skipped = reason
        return results
    local_command, results.process_server = process_server(work)
    configs = {v.key: write_config(work, v, local_command) for v in VARIANTS}
    with twin_bench.guarded(
        results,
        lambda: bench_leftovers(env),
        by="item 6",
        clean="item 6: nothing left behind (namespaces, state, processes, containers)",
    ):
        load_start = os.getloadavg()
        for round_no in range(1, settings.reps + 1):
            order = rotated(VARIANTS, round_no)
            log(f"item 6, round {round_no}/{settings.reps}: " + ", ".join(v.key for v in order))
            for variant in order:
                run = Run(round_no=round_no, variant=variant, name=new_name())
                results.runs.append(run)
                one_run(run, configs[variant.key], settings, env)
                log(up_log(f"{variant.key:<9}", run, "; " + _trace_line(run)))
        results.load = (load_start, os.getloadavg())
    return results


# --- where the time goes --------------------------------------------------------------------


@dataclass
class Breakdown:
    """One run's milestones, seconds since `local up` was spawned."""

    building_done: float | None  # state.json first left the "building" phase
    first_running: float | None
    last_running: float | None
    per_task_launch: float | None  # (last RUNNING - network built) / n: launch time per task
    podman_create_to_start: float | None  # median, container mode
    running_to_healthy: float | None  # median per task
    last_task_to_healthy: float | None  # the last task launched: RUNNING -> healthy
    last_healthy: float | None


def breakdown(run: Run) -> Breakdown:
    t = run.trace
    after_build = [v for k, v in t.phases.items() if k not in ("building", "None")]
    running = sorted(t.running.values())
    gaps = [t.healthy[k] - t.running[k] for k in t.running if k in t.healthy]
    starts = [started - created for created, started in t.containers]
    return Breakdown(
        building_done=min(after_build) if after_build else None,
        first_running=running[0] if running else None,
        last_running=running[-1] if running else None,
        per_task_launch=(running[-1] - min(after_build)) / len(running)
        if running and after_build
        else None,
        podman_create_to_start=median(list(starts)) if starts else None,
        running_to_healthy=median(list(gaps)) if gaps else None,
        last_task_to_healthy=_last_task_to_healthy(t),
        last_healthy=max(t.healthy.values()) if t.healthy else None,
    )


def _last_task_to_healthy(t: Trace) -> float | None:
    if not t.running:
        return None
    last = max(t.running, key=lambda task: t.running[task])
    return t.healthy[last] - t.running[last] if last in t.healthy else None


def _trace_line(run: Run) -> str:
    b = breakdown(run)
    return (
        f"built {fmt_s(b.building_done)} s, RUNNING {fmt_s(b.first_running)}-"
        f"{fmt_s(b.last_running)} s ({fmt_s(b.per_task_launch)} s/task), healthy after "
        f"RUNNING {fmt_s(b.running_to_healthy)} s"
    )


# --- the report ------------------------------------------------------------------------------


def _med(runs: list[Run], attribute: str) -> float | None:
    return median([getattr(breakdown(r), attribute) for r in runs])


def _ok(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.error is None]


def section(results: Results, machine: list[tuple[str, str]]) -> list[str]:
    out = [
        BEGIN_MARK,
        "## 6. Local twin, container mode: `local up` with podman (2 and 50 tasks), and "
        "against process mode",
        "",
    ]
    if results.skipped:
        reason = results.skipped
        return [*out, f"**NOT RUN: {reason}.** No numbers for item 6.", "", END_MARK, ""]
    s = results.settings
    start = dt.datetime.fromtimestamp(results.started, dt.UTC)
    cpu = dict(machine).get("CPU", "unknown")
    cores = os.cpu_count() or 0
    runs_of: dict[str, list[Run]] = {
        v.key: [r for r in results.runs if r.variant == v] for v in VARIANTS
    }
    out += [
        f"- run: {start:%Y-%m-%d %H:%M:%S} UTC, {results.seconds:.0f} s; machine: {cpu}, "
        f"{cores} logical cores, {dict(machine).get('memory', '?')} (shared: other twins may "
        "run on it); load average (1, 5, 15 min) at start "
        + ", ".join(f"{x:.2f}" for x in results.load[0])
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in results.load[1])
        + f"; podman {_podman_version()}.",
        f"- every twin: `fargate-api local up -c CONFIG --name bench-<random> --time-scale "
        f"{s.time_scale:g} --runtime container|process --port PORT --json`, then "
        f"`local down`; {s.reps} runs per variant, the variants interleaved (each round in "
        "an order rotated by one). Default config otherwise (2 AZs, private subnets "
        f"{twin_bench.private_subnets()}).",
        f'- **container, busybox httpd**: `image = "{BUSYBOX}"`, '
        f"`command = {json.dumps(BUSYBOX_COMMAND)}`, port 80 (read-only root with the "
        "config's writable /tmp volume). **container, nginx**: "
        f'`image = "{NGINX}"`, `read_only_root_filesystem = false` (it writes to '
        "/var/lib/nginx and /run).",
        "- **process, busybox httpd**: the same busybox config with `--runtime process` and "
        f"`[local] command` = {results.process_server}: same twin, same networking and "
        "health checks, no podman.",
        "- **first 200**: from just before `local up` is spawned until `GET /` on the twin's "
        "URL (`http://127.0.0.1:PORT`, polled every 50 ms from the start) returns 200. "
        "**up returned**: `local up` exits, i.e. every desired task is a healthy target "
        '("all tasks healthy"). Both include the CLI\'s start-up, the synthesis and '
        "building the twin's network.",
        "",
        "| variant | runs | first 200 median (s) | min / max | up returned (all healthy) "
        "median (s) | min / max | `local down` median (s) | failed runs |",
        "|---|---:|---:|---|---:|---|---:|---:|",
    ]
    for v in VARIANTS:
        runs = runs_of[v.key]
        firsts = [r.first_200 for r in runs]
        ups = [r.up_returned for r in _ok(runs)]
        downs = [r.down for r in runs]
        failed = failed_runs(runs)
        out.append(
            f"| {v.label} | {len(runs)} | {fmt_s(median(firsts))} | {spread(firsts, fmt_s)} "
            f"| {fmt_s(median(ups))} | {spread(ups, fmt_s)} | {fmt_s(median(downs))} "
            f"| {failed} |"
        )

    def up_median(key: str) -> float | None:
        return median([r.up_returned for r in _ok(runs_of.get(key, []))])

    def first_median(key: str) -> float | None:
        return median([r.first_200 for r in runs_of.get(key, [])])

    out += [
        "",
        "Container / process (medians):",
        "",
        "| tasks | up returned: container / process | first 200: container / process |",
        "|---:|---:|---:|",
    ]
    for n in COUNTS:
        out.append(
            f"| {n} | **{ratio(up_median(f'c-bb-{n}'), up_median(f'p-bb-{n}'))}** "
            f"({fmt_s(up_median(f'c-bb-{n}'))} / {fmt_s(up_median(f'p-bb-{n}'))} s) "
            f"| {ratio(first_median(f'c-bb-{n}'), first_median(f'p-bb-{n}'))} |"
        )
    out += [
        "",
        f"- 50 / 2 tasks, container mode (up returned): "
        f"{ratio(up_median('c-bb-50'), up_median('c-bb-2'))}; process mode: "
        f"{ratio(up_median('p-bb-50'), up_median('p-bb-2'))}. nginx / busybox, 2 container "
        f"tasks: {ratio(up_median('c-nginx-2'), up_median('c-bb-2'))}.",
        *_goal(runs_of.get(f"c-bb-{GOAL_TASKS}", [])),
        "",
        "### Where the time goes",
        "",
        "Read while each twin came up: state.json (written by the twin's daemon) every "
        f"{TRACE_INTERVAL * 1000:.0f} ms for each task's first `RUNNING` (ENI, security "
        "groups and the runtime's start done: `podman run` in container mode, the shell "
        "command in process mode) and first healthy target; podman's own created/started "
        "times of each container. Medians over the runs, seconds since `local up` was "
        "spawned. *RUNNING → healthy* is the median over a run's tasks of the time between "
        "the two as state.json shows them; *last task → healthy* is the same for the last "
        "task to be RUNNING. The daemon sets up new tasks' ENIs one after the other within "
        "one tick and starts their containers on 4 threads alongside; a start is recorded "
        "as RUNNING once that tick is over, so RUNNING times bunch at its end, and *per "
        "task launch* is (last RUNNING - network built) / tasks: ENIs and container starts "
        "together.",
        "",
        "| variant | network built | first task RUNNING | last task RUNNING | per task launch "
        "(s) | podman create → start (s) | RUNNING → healthy (s) | last task → healthy (s) "
        "| last healthy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        runs = _ok(runs_of[v.key])
        out.append(
            f"| {v.label} | {fmt_s(_med(runs, 'building_done'))} "
            f"| {fmt_s(_med(runs, 'first_running'))} | {fmt_s(_med(runs, 'last_running'))} "
            f"| {fmt_s(_med(runs, 'per_task_launch'))} "
            f"| {fmt_s(_med(runs, 'podman_create_to_start'))} "
            f"| {fmt_s(_med(runs, 'running_to_healthy'))} "
            f"| {fmt_s(_med(runs, 'last_task_to_healthy'))} | {fmt_s(_med(runs, 'last_healthy'))} |"
        )
    out += ["", *_dominates(runs_of), "", END_MARK, ""]
    return out


def _goal(runs: list[Run]) -> list[str]:
    ups = [r.up_returned for r in _ok(runs)]
    if not ups:
        return [
            f"- goal: {GOAL_TASKS} container tasks healthy within {GOAL_SECONDS:.0f} s: "
            "**not measured** (no successful run)."
        ]
    within = sum(u <= GOAL_SECONDS for u in ups if u is not None)
    med = median(list(ups))
    met = med is not None and med <= GOAL_SECONDS
    return [
        f"- goal: **{GOAL_TASKS} container tasks healthy within {GOAL_SECONDS:.0f} s** on "
        f"this {os.cpu_count() or 0}-core machine: **{'met' if met else 'not met'}** "
        f"(median {fmt_s(med)} s; {within} of {len(ups)} runs within {GOAL_SECONDS:.0f} s"
        + (f"; {len(runs) - len(ups)} failed run(s) not counted" if len(runs) > len(ups) else "")
        + ")."
    ]


def _dominates(runs_of: dict[str, list[Run]]) -> list[str]:
    runs = _ok(runs_of.get(f"c-bb-{GOAL_TASKS}", []))
    if not runs:
        return []
    up = median([r.up_returned for r in runs])
    built = _med(runs, "building_done")
    first = _med(runs, "first_running")
    last = _med(runs, "last_running")
    per_task = _med(runs, "per_task_launch")
    to_healthy = _med(runs, "last_task_to_healthy")
    podman_start = _med(runs, "podman_create_to_start")
    process_per_task = _med(_ok(runs_of.get(f"p-bb-{GOAL_TASKS}", [])), "per_task_launch")
    if None in (up, built, first, last, per_task):
        return ["- (not enough trace data to say where the time went)"]
    assert up is not None and built is not None and first is not None and last is not None
    assert per_task is not None
    launching = last - built
    tail_after = up - last
    lines = [
        f"- {GOAL_TASKS} container tasks (medians): the twin's network was built at "
        f"{built:.2f} s, the first task RUNNING at {first:.2f} s, the last at {last:.2f} s: "
        f"**{launching:.2f} s of launches ({per_task:.2f} s per task: ENIs one after the "
        "other, containers 4 at a time)**, "
        f"{launching / up:.0%} of the {up:.2f} s `local up` took; then {tail_after:.2f} s "
        "until the last target was healthy and `local up` returned"
        + (
            f" (the last task launched was a healthy target {to_healthy:.2f} s after it was "
            "RUNNING: the health checks' interval and healthy threshold, scaled)"
            if to_healthy is not None
            else ""
        )
        + "."
    ]
    if process_per_task is not None:
        lines.append(
            f"- a launch takes {per_task:.2f} s per task in container mode and "
            f"{process_per_task:.2f} s in process mode (same ENI and security group set-up), "
            f"so the container runtime adds about {per_task - process_per_task:.2f} s per task "
            "with its starts overlapping"
            + (
                f" (one container's own create → start in podman: {podman_start:.2f} s)"
                if podman_start is not None
                else ""
            )
            + "."
        )
    part = max(
        ("the task launches", launching),
        ("building the twin's network (before any task)", built),
        ("health checks after the last launch", tail_after),
        key=lambda item: item[1],
    )
    lines.append(f"- what dominated: **{part[0]}** ({part[1]:.2f} s).")
    return lines


def raw_section(results: Results) -> list[str]:
    if results.skipped:
        return []
    out = [
        RAW_BEGIN,
        "## Raw numbers: item 6 (container mode), in the order they ran",
        "",
        "| # | round | variant | twin | load (1 min) before | first 200 (s) | up returned (s) "
        "| healthy when up returned | network built | RUNNING first / last | `local down` (s) "
        "| `local down` said | left behind / error |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for index, r in enumerate(results.runs, start=1):
        b = breakdown(r)
        out.append(
            f"| {index} | {r.round_no} | {r.variant.label} | {r.name} | {r.load_before:.2f} "
            f"| {fmt_s(r.first_200)} | {fmt_s(r.up_returned)} | {fmt_n(r.healthy_at_return)} "
            f"| {fmt_s(b.building_done)} | {fmt_s(b.first_running)} / {fmt_s(b.last_running)} "
            f"| {fmt_s(r.down)} | {cell(r.down_message)} | {cell(problems(r.leftovers, r.error))} |"
        )
    out += [
        "",
        left_behind(
            "item 6",
            "namespaces, state folders, processes or podman containers",
            results.final_leftovers,
        ),
        "",
        RAW_END,
        "",
    ]
    return out


def _podman_version() -> str:
    try:
        result = subprocess.run(
            ["podman", "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return "unknown"
    return result.stdout.strip().removeprefix("podman version ") or "unknown"


def replace_sections(document: str, main: list[str], raw: list[str]) -> str:
    """The report with item 6's two blocks replaced (or added): for `--only containers`.

    A block already there is replaced where it is, so what follows it (item 7's block
    too) stays in place; a raw block no longer wanted (item 6 did not run) is removed.
    Otherwise item 6 goes before the first "## Raw numbers" heading, its raw numbers at
    the end.
    """
    result = document
    i, j = result.find(BEGIN_MARK), result.find(END_MARK)
    if 0 <= i < j:
        result = result[:i] + "\n".join(main).strip("\n") + result[j + len(END_MARK) :]
    else:
        block = "\n".join(main).rstrip("\n") + "\n\n"
        anchor = result.find("## Raw numbers")
        if anchor >= 0:
            result = result[:anchor] + block + result[anchor:]
        else:
            result = result.rstrip("\n") + "\n\n" + block
    i, j = result.find(RAW_BEGIN), result.find(RAW_END)
    if 0 <= i < j:
        rest = result[j + len(RAW_END) :]
        if raw:
            return result[:i] + "\n".join(raw).strip("\n") + rest
        result = result[:i] + rest.lstrip("\n")
    if raw:
        result = result.rstrip("\n") + "\n\n" + "\n".join(raw).rstrip("\n") + "\n"
    return result
