"""Benchmarks for issue 7: fargate-api against the anchors, side by side in one run.

Writes docs/benchmarks.md with the machine, the date and the raw numbers. Run it with
`make bench` (or `.venv/bin/python benchmarks/run.py [--reps N]`); it is not a test and
pytest never collects it (testpaths is tests/, and this file is not named test_*).

What it measures, each command timed as a whole process (wall clock around
subprocess.run), the repetitions interleaved (round r runs every command once, in an
order rotated by r) so that the noise of a small machine hits all of them alike:

  1. `fargate-api synth` vs `cdk synth` of the same architecture (the CDK app of
     tests/fixtures/check/cdk-app/: VPC over 2 AZs with 2 NAT gateways, a cluster, an
     ApplicationLoadBalancedFargateService with tasks in the private subnets, nginx,
     256 CPU / 512 MiB, 2 tasks), with reference rows: `fargate-api --version`, the
     interpreter's start-up, and the synth path's libraries imported alone (the floor
     of a synth that runs on them);
  2. `fargate-api check` without a path (synthesizes and checks in one process), and
     `synth` then `check DIR` as two processes, vs `cdk synth` alone;
  5. `fargate-api check DIR` vs checkov on the same templates (the default synth).

Then the local twin (benchmarks/twin_bench.py; root only, on by default, `--skip-twin`
leaves it out; without root the run says loudly that it did not run):

  3. `fargate-api local up` to the first HTTP 200 through the load balancer, 2 and 50
     tasks, and `local down`;
  4. the LB hop's latency (wrk p50/p99 through the ALB's public IP vs straight to a task)
     and the throughput through the LB with 1, 2 and 4 tasks.

And the twin in container mode (benchmarks/container_twin.py; root, podman and the test
images; `--skip-containers` leaves it out, `--only containers` runs only it and rewrites
only its part of the report, leaving the other sections' numbers as they were):

  6. `local up --runtime container` to the first HTTP 200 and to every task healthy, 2 and
     50 tasks of the busybox test image (httpd) and 2 of the nginx test image, against
     the same twins in process mode (`--runtime process`, `[local] command`): the ratio
     container / process, the goal of 50 container tasks healthy within 30 s, and where
     the time went.

And the twin's canary (benchmarks/canary_twin.py; root; `--skip-canary` leaves it out,
`--only canary` runs only it and rewrites only its section of the report):

  7. a bad revision (every 5th request answers 500) deployed as a 20 % canary with the
     5xx alarm on, under load: how long it serves production before the alarm rolls it
     back (first to last v2 answer seen by a load probe), against the alarm's window
     (period x datapoints_to_alarm x time scale), at `--canary-time-scales` (0.05 and
     0.1); the canary's traffic share and the requests that failed.

The CDK side lives in a throwaway environment, benchmarks/.cdk-env/ (gitignored): a venv
with aws-cdk-lib and constructs from PyPI and the CDK CLI (npm package aws-cdk) in its
node_modules. It is created when missing; that is the only network use. The timed runs
make no network calls: the CDK app is environment-agnostic (no lookups), and `cdk synth`
runs with --no-notices, CDK_DISABLE_VERSION_CHECK and CDK_DISABLE_CLI_TELEMETRY; checkov
runs with --skip-download and its update check and mapping download turned off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import canary_twin
import container_twin
import twin_bench
import yaml

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
ENV_DIR = BENCH / ".cdk-env"
CDK_VENV = ENV_DIR / "venv"
CDK_PYTHON = CDK_VENV / "bin" / "python"
CDK_CLI = ENV_DIR / "node_modules" / ".bin" / "cdk"
CDK_PROJECT = ENV_DIR / "app"
ENV_STAMP = ENV_DIR / ".installed.json"
CDK_FIXTURE = REPO / "tests" / "fixtures" / "check" / "cdk-app"
CDK_FIXTURE_TEMPLATE = (
    REPO / "tests" / "fixtures" / "check" / "cdk-synth" / "FargateApiCdkStack.template.json"
)
CDK_STACK = "FargateApiCdkStack"
FARGATE_API = REPO / ".venv" / "bin" / "fargate-api"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
CHECKOV = REPO / ".venv-scanners" / "bin" / "checkov"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"

# The versions of tests/fixtures/check/cdk-app/README.md, and the CDK CLI that goes with them.
PINS = {
    "aws-cdk-lib": "2.275.0",
    "constructs": "10.8.1",
    "aws-cdk (CLI, npm)": "2.1148.1",
}
GOAL_RATIO = 30.0
# Reference rows for item 1 (not comparisons): what a warm `fargate-api synth` cannot go
# below while it runs on these libraries. The probe imports what the synth path imports
# from them (typer's parameter coercion imports pydantic's Field and TypeAdapter, the
# config model BaseModel) and builds one pydantic validator, which pulls in the rest of
# pydantic, with pydantic's plugin discovery off as on the synth path. It imports no
# fargate-api module.
LIBRARIES_PROBE = (
    "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '1'; "
    "import typer, rich.console, rich.table, yaml; "
    "from pydantic import BaseModel, Field, TypeAdapter; TypeAdapter(int)"
)
TIMES = "\N{MULTIPLICATION SIGN}"
TIMEOUT = 600


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the throwaway CDK environment -------------------------------------------------------


def run_setup(argv: list[str], cwd: Path | None = None) -> None:
    """A setup step; its own output goes to our stderr (progress), a failure stops us."""
    log("$ " + shlex.join(argv))
    result = subprocess.run(argv, cwd=cwd, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if result.returncode != 0:
        sys.exit(f"[bench] setup step failed (exit {result.returncode}): {shlex.join(argv)}")


def ensure_cdk_env() -> bool:
    """benchmarks/.cdk-env with the pinned aws-cdk-lib, constructs and CDK CLI; True when
    this call had to create (or update) it."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        sys.exit("[bench] node and npm must be on the PATH for the CDK side (Node 20+)")
    wanted = json.dumps(PINS, sort_keys=True)
    if (
        ENV_STAMP.exists()
        and ENV_STAMP.read_text(encoding="utf-8") == wanted
        and CDK_PYTHON.exists()
        and CDK_CLI.exists()
    ):
        log(f"CDK environment ready: {ENV_DIR.relative_to(REPO)}")
        return False
    log(f"creating the CDK environment in {ENV_DIR.relative_to(REPO)} (PyPI + npm)")
    ENV_DIR.mkdir(parents=True, exist_ok=True)
    ENV_STAMP.unlink(missing_ok=True)
    if not CDK_PYTHON.exists():
        run_setup([sys.executable, "-m", "venv", str(CDK_VENV)])
    run_setup(
        [
            str(CDK_PYTHON),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            f"aws-cdk-lib=={PINS['aws-cdk-lib']}",
            f"constructs=={PINS['constructs']}",
        ]
    )
    run_setup(
        [
            "npm",
            "install",
            "--prefix",
            str(ENV_DIR),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"aws-cdk@{PINS['aws-cdk (CLI, npm)']}",
        ]
    )
    ENV_STAMP.write_text(wanted, encoding="utf-8")
    log("CDK environment created")
    return True


def write_cdk_project() -> None:
    """A CDK project folder whose app is the fixture's app.py, run by the venv's Python.

    cdk.json is the fixture's (the feature flags `cdk init` writes) with `app` pointing at
    the fixture; `cdk synth` in this folder writes ./cdk.out as for any CDK project.
    """
    CDK_PROJECT.mkdir(parents=True, exist_ok=True)
    config = json.loads((CDK_FIXTURE / "cdk.json").read_text(encoding="utf-8"))
    config["app"] = shlex.join([str(CDK_PYTHON), str(CDK_FIXTURE / "app.py")])
    (CDK_PROJECT / "cdk.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def timed_env() -> dict[str, str]:
    """The environment of every timed command: ours, without PYTHONDONTWRITEBYTECODE.

    With it set (CI images and sandboxes often set it), Python never writes the bytecode
    cache, so an editable install such as ours recompiles its modules in every process,
    while the CDK side's and checkov's libraries, installed by pip, have theirs. Without
    it, as in a user's shell, the cold run writes the cache and the warm runs use it.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cdk_env() -> dict[str, str]:
    return {
        **timed_env(),
        "CDK_DISABLE_VERSION_CHECK": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }


def checkov_env() -> dict[str, str]:
    # As tests/functional/check/scanners.py runs it: no network at run time.
    return {
        **timed_env(),
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "BC_SKIP_MAPPING": "TRUE",
        "ANSI_COLORS_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }


# --- timing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    argv: list[str]
    cwd: Path
    env: dict[str, str] | None = None
    ok: tuple[int, ...] = (0,)


@dataclass
class Bench:
    """One thing timed: one process, or several run one after the other and timed together."""

    key: str
    label: str
    steps: Callable[[bool], list[Step]]  # cold? -> the steps of this run
    before: Callable[[bool], None] = lambda cold: None  # untimed preparation
    cold: float | None = None
    warm: list[float] = field(default_factory=list)
    exit_codes: set[int] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.warm)


def time_once(bench: Bench, cold: bool) -> float:
    bench.before(cold)
    steps = bench.steps(cold)
    start = time.perf_counter()
    results = []
    for step in steps:
        results.append(
            subprocess.run(
                step.argv,
                cwd=step.cwd,
                env=timed_env() if step.env is None else step.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=TIMEOUT,
                check=False,
            )
        )
    elapsed = time.perf_counter() - start
    for step, result in zip(steps, results, strict=True):
        bench.exit_codes.add(result.returncode)
        if result.returncode not in step.ok:
            tail = result.stderr.decode(errors="replace")[-3000:]
            sys.exit(
                f"[bench] {bench.label}: {shlex.join(step.argv)} exited {result.returncode}:\n"
                f"{tail}"
            )
    return elapsed


def run_benches(benches: list[Bench], reps: int) -> list[tuple[int, str, str, float]]:
    """Round 0: every bench once, cold. Rounds 1..reps: warm, order rotated each round."""
    sequence: list[tuple[int, str, str, float]] = []
    log("round 0 (cold): " + ", ".join(b.key for b in benches))
    for bench in benches:
        seconds = time_once(bench, cold=True)
        bench.cold = seconds
        sequence.append((0, "cold", bench.key, seconds))
        log(f"  {bench.key:<20} cold {seconds:8.3f} s")
    for round_no in range(1, reps + 1):
        order = twin_bench.rotated(benches, round_no)
        log(f"round {round_no}/{reps} (warm): " + ", ".join(b.key for b in order))
        for bench in order:
            seconds = time_once(bench, cold=False)
            bench.warm.append(seconds)
            sequence.append((round_no, "warm", bench.key, seconds))
            log(f"  {bench.key:<20} warm {seconds:8.3f} s")
    return sequence


# --- machine and versions ----------------------------------------------------------------


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def first_field(text: str, key: str) -> str:
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return "unknown"


def os_name() -> str:
    for line in read_text("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def memory() -> str:
    total = first_field(read_text("/proc/meminfo"), "MemTotal")
    try:
        kib = int(total.split()[0])
    except (ValueError, IndexError):
        return total
    return f"{kib / 1024 / 1024:.1f} GiB"


def machine() -> list[tuple[str, str]]:
    cpuinfo = read_text("/proc/cpuinfo")
    logical = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    return [
        ("CPU", first_field(cpuinfo, "model name")),
        ("cores", f"{logical} logical ({usable} usable by this process)"),
        ("memory", memory()),
        ("kernel", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("OS", os_name()),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
    ]


def output_of(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, env=env, check=False
        )
    except OSError as error:
        return f"unavailable ({error})"
    text = (result.stdout.strip() or result.stderr.strip()).splitlines()
    return text[-1].strip() if text else "unknown"


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def tool_versions() -> list[tuple[str, str]]:
    cdk_libs = output_of(
        [
            str(CDK_PYTHON),
            "-c",
            "from importlib.metadata import version as v; "
            "print(' '.join(f'{p}={v(p)}' for p in ('aws-cdk-lib', 'constructs', 'jsii')))",
        ]
    )
    return [
        ("fargate-api", output_of([str(FARGATE_API), "--version"])),
        ("cfn-lint (used by check)", package_version("cfn-lint")),
        ("CDK CLI", output_of([str(CDK_CLI), "--version"], env=cdk_env())),
        ("CDK libraries (PyPI)", cdk_libs),
        ("CDK app's Python", output_of([str(CDK_PYTHON), "--version"])),
        ("Node.js", output_of(["node", "--version"])),
        ("checkov", output_of([str(CHECKOV), "--version"], env=checkov_env())),
        ("HAProxy (local twin)", first_line(["haproxy", "-v"])),
        ("wrk (local twin)", first_line(["wrk", "--version"])),
        ("source", source_state()),
    ]


def first_line(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError as error:
        return f"unavailable ({error})"
    lines = (result.stdout.strip() or result.stderr.strip()).splitlines()
    return lines[0].strip() if lines else "unknown"


def source_state() -> str:
    """The commit measured, and whether src/ had uncommitted changes (others edit it)."""
    commit = output_of(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    changed = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"commit {commit}" + (
        f" + uncommitted changes in {len(changed.splitlines())} file(s) under src/"
        if changed
        else ", src/ clean"
    )


# --- sanity: both sides build the same architecture ----------------------------------------


def resource_types(documents: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for document in documents:
        for body in (document.get("Resources") or {}).values():
            kind = str(body.get("Type", "?"))
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def sanity(templates: Path) -> list[str]:
    ours = [
        yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted(templates.glob("*.yml"))
        if p.name != "parent.yml"
    ]
    cdk_template = CDK_PROJECT / "cdk.out" / f"{CDK_STACK}.template.json"
    theirs = [json.loads(cdk_template.read_text(encoding="utf-8"))]
    same = cdk_template.read_bytes() == CDK_FIXTURE_TEMPLATE.read_bytes()
    ours_counts, their_counts = resource_types(ours), resource_types(theirs)
    interesting = [
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ECS::Cluster",
        "AWS::ECS::TaskDefinition",
        "AWS::ECS::Service",
    ]
    lines = [
        "| resource type | fargate-api (vpc, cluster, service) | cdk synth |",
        "|---|---:|---:|",
    ]
    lines += [f"| {t} | {ours_counts.get(t, 0)} | {their_counts.get(t, 0)} |" for t in interesting]
    lines.append(f"| all resources | {sum(ours_counts.values())} | {sum(their_counts.values())} |")
    lines.append("")
    lines.append(
        "The template `cdk synth` wrote is "
        f"{'byte-for-byte the same as' if same else 'NOT the same as'}"
        " the committed fixture `tests/fixtures/check/cdk-synth/FargateApiCdkStack.template.json`."
    )
    return lines


# --- the report ----------------------------------------------------------------------------


def fmt(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.3f}"


def table(benches: list[Bench]) -> list[str]:
    lines = [
        "| command | cold (s) | warm median (s) | warm min (s) | warm max (s) | exit codes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for b in benches:
        codes = ", ".join(str(c) for c in sorted(b.exit_codes))
        lines.append(
            f"| {b.label} | {fmt(b.cold)} | {fmt(b.median)} | {fmt(min(b.warm))} "
            f"| {fmt(max(b.warm))} | {codes} |"
        )
    return lines


def ratio(slow: float | None, fast: float | None) -> str:
    if slow is None or fast is None or fast <= 0:
        return "n/a"
    return f"{slow / fast:.1f}{TIMES}"


def report(
    *,
    benches: dict[str, Bench],
    sequence: list[tuple[int, str, str, float]],
    reps: int,
    started: dt.datetime,
    finished: dt.datetime,
    load: tuple[tuple[float, ...], tuple[float, ...]],
    templates: Path,
    created_env: bool,
    twin: twin_bench.TwinResults,
    containers: container_twin.Results,
    canary: canary_twin.Results,
) -> str:
    b = benches
    warm_ratio = b["cdk-synth"].median / b["fa-synth"].median
    goal = "**met**" if warm_ratio >= GOAL_RATIO else "**not met**"
    needed = b["cdk-synth"].median / GOAL_RATIO
    out: list[str] = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/run.py` (`make bench`); every number below comes from that",
        "script's last run. Do not edit the numbers by hand: rerun the script.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M:%S} UTC to {finished:%H:%M:%S} UTC"
        f" ({(finished - started).total_seconds():.0f} s)",
        f"- repetitions: 1 cold + {reps} warm per command, interleaved",
        "- local twin (items 3 and 4): " + twin_summary(twin),
        "- local twin in container mode (item 6): " + containers_summary(containers),
        "- local twin, bad canary (item 7): " + canary_summary(canary),
        "- CDK environment (`benchmarks/.cdk-env/`): "
        + (
            "created by this run before round 0 (not timed)"
            if created_env
            else "already there from an earlier run (reused)"
        ),
        "- load average (1, 5, 15 min) at start: "
        + ", ".join(f"{x:.2f}" for x in load[0])
        + "; at end: "
        + ", ".join(f"{x:.2f}" for x in load[1]),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine()],
        "",
        "## Tools",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in tool_versions()],
        "",
        "## Method",
        "",
        "- Each command is timed as a whole process: wall clock (`time.perf_counter`) around",
        "  `subprocess.run`, stdout discarded. Start-up (Python interpreter and imports, Node.js",
        "  and jsii for the CDK) is part of every number, as it is for a user.",
        "- Round 0 runs every command once, **cold**: the first invocation in this run, a fresh",
        "  process writing into a fresh output folder (for `cdk synth`, `cdk.out` deleted",
        "  first). The OS page cache is not dropped, so cold here means cold processes and",
        "  output, not a cold disk.",
        f"- Rounds 1 to {reps} are **warm**: every command once per round, the order rotated by",
        "  one each round (A B C…, B C… A, …), outputs written over the previous round's.",
        "  The median of the warm runs is the figure compared; min, max and every raw number",
        "  are below. The machine is small and shared, so expect spread.",
        "- `fargate-api` runs from the project's `.venv` in an empty folder (no",
        "  `fargate-api.toml`, so the default config: the reference pattern).",
        "- `cdk synth --no-notices` runs in `benchmarks/.cdk-env/app/`, a CDK project whose",
        "  `cdk.json` is `tests/fixtures/check/cdk-app/cdk.json` (the flags `cdk init` writes)",
        "  with `app` = the venv's Python running `tests/fixtures/check/cdk-app/app.py`",
        "  (environment-agnostic stack, no lookups), with `CDK_DISABLE_VERSION_CHECK=true` and",
        "  `CDK_DISABLE_CLI_TELEMETRY=true`. It prints the template to stdout (discarded), as",
        "  `cdk synth` does for a single stack.",
        "- checkov runs as `checkov -d DIR --framework cloudformation --skip-download --quiet`",
        "  with `CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE` (as the functional",
        "  tests run it), on the four templates of the default synth (the cold",
        "  `fargate-api synth` run's output); `fargate-api check DIR` checks the same folder.",
        "- No timed command uses the network.",
        "- Timed commands run without `PYTHONDONTWRITEBYTECODE`, so that Python's bytecode",
        "  cache works as in a user's shell ("
        + (
            "this run's environment had it set; it was removed from theirs"
            if "PYTHONDONTWRITEBYTECODE" in os.environ
            else "this run's environment did not set it"
        )
        + "). The cold run of",
        "  `fargate-api` (an editable install) compiles and caches its modules; the CDK's and",
        "  checkov's libraries, installed by pip, come with theirs.",
        "",
        "## Same architecture on both sides",
        "",
        *sanity(templates),
        "",
        "## 1. `fargate-api synth` vs `cdk synth`",
        "",
        *table([b["fa-synth"], b["cdk-synth"], b["fa-version"], b["py-start"], b["py-libraries"]]),
        "",
        f"- warm: `cdk synth` / `fargate-api synth` = "
        f"**{ratio(b['cdk-synth'].median, b['fa-synth'].median)}**",
        f"- cold: `cdk synth` / `fargate-api synth` = "
        f"**{ratio(b['cdk-synth'].cold, b['fa-synth'].cold)}**",
        f"- goal (issue 7): ≥ {GOAL_RATIO:.0f}{TIMES} faster than warm `cdk synth`: {goal}. "
        f"{GOAL_RATIO:.0f}{TIMES} would need a warm `fargate-api synth` of {needed:.3f} s or less; "
        f"it took {b['fa-synth'].median:.3f} s.",
        f"- `fargate-api --version` (CLI start-up and imports, no synthesis) is a reference "
        f"row, not a comparison: it took {b['fa-version'].median:.3f} s warm, i.e. "
        f"{b['fa-version'].median / b['fa-synth'].median:.0%} of a warm `fargate-api synth`.",
        *where_the_time_goes(b, needed),
        "",
        "## 2. synth + check vs `cdk synth` alone",
        "",
        *table([b["fa-synth-check"], b["fa-synth-then-check"], b["cdk-synth"]]),
        "",
        f"- warm: `cdk synth` / `fargate-api check` (synth + check, one process) = "
        f"**{ratio(b['cdk-synth'].median, b['fa-synth-check'].median)}**",
        f"- warm: `cdk synth` / `fargate-api synth` then `fargate-api check DIR` = "
        f"**{ratio(b['cdk-synth'].median, b['fa-synth-then-check'].median)}**",
        f"- cold: `cdk synth` / `fargate-api check` (one process) = "
        f"**{ratio(b['cdk-synth'].cold, b['fa-synth-check'].cold)}**",
        "",
        f"(A ratio below 1{TIMES} means the fargate-api side took longer.)",
        "",
        *twin_bench.section3(twin),
        *twin_bench.section4(twin),
        "## 5. `fargate-api check` vs checkov on the same templates",
        "",
        *table([b["fa-check"], b["checkov"]]),
        "",
        f"- warm: checkov / `fargate-api check DIR` = "
        f"**{ratio(b['checkov'].median, b['fa-check'].median)}**",
        f"- cold: checkov / `fargate-api check DIR` = "
        f"**{ratio(b['checkov'].cold, b['fa-check'].cold)}**",
        "",
        f"(Below 1{TIMES}: `fargate-api check` took longer than checkov.) "
        "The two do different work: `fargate-api check` runs the pattern's cross-resource rules",
        "and cfn-lint (with nested-stack and intrinsic resolution); checkov runs its generic",
        "per-resource CloudFormation checks.",
        "",
        *container_twin.section(containers, machine()),
        *canary_twin.section(canary, machine()),
        "## Raw numbers, in the order they ran",
        "",
        "| # | round | kind | command | seconds |",
        "|---:|---:|---|---|---:|",
    ]
    labels = {key: bench.label for key, bench in benches.items()}
    for index, (round_no, kind, key, seconds) in enumerate(sequence, start=1):
        out.append(f"| {index} | {round_no} | {kind} | {labels[key]} | {seconds:.3f} |")
    out.append("")
    out += twin_bench.raw_sections(twin)
    out += container_twin.raw_section(containers)
    return "\n".join(out)


def where_the_time_goes(b: dict[str, Bench], needed: float) -> list[str]:
    """Item 1's floor, from the reference rows: how much of a warm synth is the libraries'."""
    synth, start, libraries = b["fa-synth"].median, b["py-start"].median, b["py-libraries"].median
    own = synth - libraries
    lines = [
        f"- where a warm `fargate-api synth` goes (medians): the interpreter starts in "
        f"{start:.3f} s; importing the libraries the synth path runs on (typer, which builds "
        "its parameters' validators with pydantic; pydantic, for the config model too; rich "
        f"for the output; PyYAML), with no fargate-api code, takes {libraries:.3f} s "
        f"({libraries / synth:.0%} of the synth). The remaining {own:.3f} s is the work "
        "done for this command: fargate-api's modules, building and validating the config "
        "model, typer parsing the command line, the synthesis, emitting and writing four "
        "YAML files, the summary table.",
    ]
    if synth > needed:
        room = needed - libraries
        lines.append(
            f"- so {GOAL_RATIO:.0f}{TIMES} ({needed:.3f} s) would leave that work "
            + (
                f"{room:.3f} s, against {own:.3f} s now"
                if room > 0
                else f"nothing: the libraries alone take {-room:.3f} s more than that"
            )
            + ". Closing the rest of the gap means taking typer, pydantic, rich or PyYAML "
            "off the synth path, not trimming fargate-api's code."
        )
    return lines


def part_summary(results: twin_bench.PartResults, time_scale: float, reps: int, per: str) -> str:
    """A twin part's line in the report's header: when it ran and how, or why it did not."""
    if results.skipped:
        return f"**not run**: {results.skipped}"
    start = dt.datetime.fromtimestamp(results.started, dt.UTC)
    return (
        f"run from {start:%H:%M:%S} UTC ({results.seconds:.0f} s), `--time-scale "
        f"{time_scale:g}`, {reps} runs per {per}"
    )


def twin_summary(twin: twin_bench.TwinResults) -> str:
    s = twin.settings
    summary = part_summary(twin, s.time_scale, s.reps, "measurement")
    if twin.skipped or not twin.wrk_skipped:
        return summary
    return f"{summary}; item 4 **not run**: {twin.wrk_skipped}"


def containers_summary(results: container_twin.Results) -> str:
    s = results.settings
    return part_summary(results, s.time_scale, s.reps, "variant")


def canary_summary(results: canary_twin.Results) -> str:
    if results.skipped:
        return f"**not run**: {results.skipped}"
    s = results.settings
    start = dt.datetime.fromtimestamp(results.started, dt.UTC)
    scales = ", ".join(f"{x:g}" for x in s.time_scales)
    return (
        f"run from {start:%H:%M:%S} UTC ({results.seconds:.0f} s), `--time-scale` "
        f"{scales}, {s.reps} runs per time scale"
    )


# --- main ----------------------------------------------------------------------------------


def fresh(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def build_benches(work: Path, templates: Path) -> list[Bench]:
    fa = str(FARGATE_API)
    synth_out = work / "synth-out"
    pair_out = work / "pair-out"
    cdk_out = CDK_PROJECT / "cdk.out"

    def fa_synth(cold: bool) -> list[Step]:
        # The cold run writes the templates that check and checkov read (item 5).
        return [Step([fa, "synth", "-o", str(templates if cold else synth_out)], work)]

    def pair(cold: bool) -> list[Step]:
        return [
            Step([fa, "synth", "-o", str(pair_out)], work),
            Step([fa, "check", str(pair_out)], work, ok=(0, 1)),
        ]

    def before_cdk(cold: bool) -> None:
        if cold:
            fresh(cdk_out)

    def before_pair(cold: bool) -> None:
        if cold:
            fresh(pair_out)

    checkov = [
        str(CHECKOV),
        "-d",
        str(templates),
        "--framework",
        "cloudformation",
        "--skip-download",
        "--quiet",
    ]
    cdk = [str(CDK_CLI), "synth", "--no-notices"]
    return [
        Bench("fa-synth", "`fargate-api synth -o DIR`", fa_synth),
        Bench(
            "cdk-synth",
            "`cdk synth`",
            lambda cold: [Step(cdk, CDK_PROJECT, env=cdk_env())],
            before=before_cdk,
        ),
        Bench(
            "fa-synth-check",
            "`fargate-api check` (synth + check, one process)",
            lambda cold: [Step([fa, "check"], work, ok=(0, 1))],
        ),
        Bench(
            "fa-synth-then-check",
            "`fargate-api synth -o DIR` then `fargate-api check DIR`",
            pair,
            before=before_pair,
        ),
        Bench(
            "fa-check",
            "`fargate-api check DIR`",
            lambda cold: [Step([fa, "check", str(templates)], work, ok=(0, 1))],
        ),
        Bench(
            "checkov",
            "`checkov -d DIR` (cloudformation)",
            lambda cold: [Step(checkov, work, env=checkov_env(), ok=(0, 1))],
        ),
        Bench(
            "fa-version",
            "`fargate-api --version` (reference: start-up only)",
            lambda cold: [Step([fa, "--version"], work)],
        ),
        Bench(
            "py-start",
            "`python -c pass` (reference: the venv's interpreter start-up)",
            lambda cold: [Step([str(VENV_PYTHON), "-c", "pass"], work)],
        ),
        Bench(
            "py-libraries",
            "`python -c 'import typer, rich.table, yaml, pydantic…'` (reference: the synth "
            "path's libraries alone)",
            lambda cold: [Step([str(VENV_PYTHON), "-c", LIBRARIES_PROBE], work)],
        ),
    ]


def loud(lines: list[str]) -> None:
    bar = "*" * 78
    for line in [bar, *lines, bar]:
        log(line)


TWIN_PART = "THE LOCAL TWIN BENCHMARKS (items 3 and 4)"
CONTAINERS_PART = "THE CONTAINER-MODE BENCHMARKS (item 6)"
CANARY_PART = "THE CANARY BENCHMARK (item 7)"


def not_run(part: str, reason: str | None, *, done: bool = False) -> None:
    """Says loudly that a part will not run (or, at the end, did not), if there is a reason."""
    if reason:
        loud([f"{part} {'DID' if done else 'WILL'} NOT RUN: {reason}."])


def twin_settings(args: argparse.Namespace) -> twin_bench.TwinSettings:
    return twin_bench.TwinSettings(
        time_scale=args.time_scale, reps=args.twin_reps, wrk_seconds=args.wrk_seconds
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="warm repetitions (default 5)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report file")
    parser.add_argument(
        "--skip-twin",
        action="store_true",
        help="leave out the local twin (items 3 and 4; they need root)",
    )
    parser.add_argument(
        "--twin-reps",
        type=int,
        default=3,
        help="local up/down per task count and wrk runs per path, runs per variant (item "
        "6) and per time scale (item 7) (default 3)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="the twin's --time-scale for every twin (default 0.1)",
    )
    parser.add_argument(
        "--wrk-seconds", type=int, default=10, help="duration of each wrk run (default 10)"
    )
    parser.add_argument(
        "--skip-containers",
        action="store_true",
        help="leave out the twin in container mode (item 6; needs root and podman)",
    )
    parser.add_argument(
        "--skip-canary",
        action="store_true",
        help="leave out the twin's bad canary and its rollback (item 7; needs root)",
    )
    parser.add_argument(
        "--canary-time-scales",
        type=time_scales,
        default=(0.05, 0.1),
        help="the time scales of item 7, comma-separated (default 0.05,0.1)",
    )
    parser.add_argument(
        "--only",
        choices=["containers", "canary"],
        help="run only this part and rewrite only its section of the report "
        "(containers: item 6, canary: item 7); the other sections keep the numbers of "
        "their last run",
    )
    args = parser.parse_args()
    if args.reps < 1 or args.twin_reps < 1:
        parser.error("--reps and --twin-reps must be at least 1")
    if not all(0.01 <= x <= 1.0 for x in (args.time_scale, *args.canary_time_scales)):
        parser.error("time scales must be between 0.01 and 1 (the twin's range)")
    if args.wrk_seconds < 1:
        parser.error("--wrk-seconds must be at least 1")
    if args.only == "containers":
        only_containers(args)
        return
    if args.only == "canary":
        only_canary(args)
        return
    for tool, hint in ((FARGATE_API, "make install"), (CHECKOV, "make install (scanners)")):
        if not tool.exists():
            sys.exit(f"[bench] {tool} is missing; run '{hint}'")
    settings = twin_settings(args)
    not_run(TWIN_PART, None if args.skip_twin else twin_bench.why_not())
    not_run(CONTAINERS_PART, None if args.skip_containers else container_twin.why_not())
    not_run(CANARY_PART, None if args.skip_canary else canary_twin.why_not())

    created = ensure_cdk_env()
    write_cdk_project()
    started = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fargate-api-bench-") as tmp:
        work = Path(tmp)
        templates = work / "templates"
        benches = build_benches(work, templates)
        sequence = run_benches(benches, args.reps)
        if args.skip_twin:
            log("local twin (items 3 and 4): skipped (--skip-twin)")
            twin = twin_bench.TwinResults(settings, skipped="skipped with `--skip-twin`")
        else:
            twin_work = work / "twin"
            twin_work.mkdir()
            twin = twin_bench.run_twin_benchmarks(settings, twin_work)
        containers = run_containers(args, work)
        canary = run_canary(args, work)
        finished = dt.datetime.now(dt.UTC)
        load_end = os.getloadavg()
        log("collecting versions and writing the report")
        text = report(
            benches={b.key: b for b in benches},
            sequence=sequence,
            reps=args.reps,
            started=started,
            finished=finished,
            load=(load_start, load_end),
            templates=templates,
            created_env=created,
            twin=twin,
            containers=containers,
            canary=canary,
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    by_key = {b.key: b for b in benches}
    log(
        f"warm medians: fargate-api synth {by_key['fa-synth'].median:.3f} s, "
        f"cdk synth {by_key['cdk-synth'].median:.3f} s "
        f"({ratio(by_key['cdk-synth'].median, by_key['fa-synth'].median)})"
    )
    if twin.skipped and not args.skip_twin:
        not_run(TWIN_PART, twin.skipped, done=True)
    elif twin.wrk_skipped:
        loud([f"ITEM 4 (LB hop, wrk) DID NOT RUN: {twin.wrk_skipped}."])
    warn_containers(containers, args)
    warn_canary(canary, args)
    log(f"wrote {args.output}")


def run_containers(args: argparse.Namespace, work: Path) -> container_twin.Results:
    settings = container_twin.Settings(time_scale=args.time_scale, reps=args.twin_reps)
    if args.skip_containers:
        log("local twin in container mode (item 6): skipped (--skip-containers)")
        return container_twin.Results(settings, skipped="skipped with `--skip-containers`")
    folder = work / "containers"
    folder.mkdir()
    return container_twin.run_container_benchmarks(settings, folder)


def warn_containers(results: container_twin.Results, args: argparse.Namespace) -> None:
    not_run(CONTAINERS_PART, None if args.skip_containers else results.skipped, done=True)


def only_containers(args: argparse.Namespace) -> None:
    """`--only containers`: item 6 alone, its two blocks of the report replaced."""
    not_run(CONTAINERS_PART, container_twin.why_not())
    with tempfile.TemporaryDirectory(prefix="fargate-api-bench-") as tmp:
        results = run_containers(args, Path(tmp))
    main_block = container_twin.section(results, machine())
    raw_block = container_twin.raw_section(results)
    if args.output.exists():
        document = args.output.read_text(encoding="utf-8")
    else:
        document = "# Benchmarks\n\nWritten by `benchmarks/run.py` (`make bench`).\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        container_twin.replace_sections(document, main_block, raw_block), encoding="utf-8"
    )
    warn_containers(results, args)
    log(f"rewrote item 6 in {args.output}")


def time_scales(text: str) -> tuple[float, ...]:
    """`--canary-time-scales 0.05,0.1`."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one time scale")
    return values


def run_canary(args: argparse.Namespace, work: Path) -> canary_twin.Results:
    settings = canary_twin.Settings(time_scales=args.canary_time_scales, reps=args.twin_reps)
    if args.skip_canary:
        log("the twin's bad canary (item 7): skipped (--skip-canary)")
        return canary_twin.Results(settings, skipped="skipped with `--skip-canary`")
    folder = work / "canary"
    folder.mkdir()
    return canary_twin.run_canary_benchmarks(settings, folder)


def warn_canary(results: canary_twin.Results, args: argparse.Namespace) -> None:
    not_run(CANARY_PART, None if args.skip_canary else results.skipped, done=True)


def only_canary(args: argparse.Namespace) -> None:
    """`--only canary`: item 7 alone, its block of the report replaced in place."""
    not_run(CANARY_PART, canary_twin.why_not())
    with tempfile.TemporaryDirectory(prefix="fargate-api-bench-") as tmp:
        results = run_canary(args, Path(tmp))
    block = canary_twin.section(results, machine())
    if args.output.exists():
        document = args.output.read_text(encoding="utf-8")
    else:
        document = "# Benchmarks\n\nWritten by `benchmarks/run.py` (`make bench`).\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(canary_twin.replace_section(document, block), encoding="utf-8")
    warn_canary(results, args)
    log(f"rewrote item 7 in {args.output}")


if __name__ == "__main__":
    main()
