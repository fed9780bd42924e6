"""Item 7 of the benchmarks: the local twin's canary, for run.py. How long a bad revision
serves production before the 5xx alarm rolls it back, against the alarm's window.

The scenario of tests/twin/test_local_deployments.py::
test_a_bad_canary_trips_the_5xx_alarm_and_rolls_back, timed: `local up` of a 2-task
service whose tasks answer which release they are (tests/twin/apps/release_server.py,
process mode), then `local deploy` of a v2 that passes its health check but fails every
5th request (FAIL_EVERY=5), strategy canary (20 %), with the deployment's alarms on
(5xx per request above 5 % in a target group, period 60 s, 1 of 1 datapoints). A load
probe (tests/twin/apps/probe.py, in the twin's internet namespace) records every answer
with its time, status and release; a thread reads the twin's state.json every 50 ms (the
alarm's state and the canary's production share, with the daemon's own `updated_at`);
`local status --json` afterwards gives the events (HH:MM:SS, 1 s resolution).

From the probe: the first v2 answer (the canary takes production traffic) to the last
(the rollback has put the weights back), which contains the alarm's detection, against
the window the config asks for (period x datapoints_to_alarm x time scale); the canary's
share of the requests in between; the share that failed then and over the whole record.

Every twin has a unique name (`bench-canary-<random>`) and is removed with `local down`
in a `finally` (failure, Ctrl-C, SIGTERM), the probe and `local deploy` stopped first;
afterwards no namespace, state folder or process of a `bench-canary-` twin may be left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import twin_bench
import yaml
from twin_bench import (
    FARGATE_API,
    NETNS_DIR,
    REPO,
    STATE_ROOT,
    TIMES,
    PartResults,
    Proc,
    cell,
    left_behind,
    log,
    median,
    parse_status,
    problems,
    remove_twin,
    rotated,
    spread,
    tail,
    twin_processes,
)

APPS = REPO / "tests" / "twin" / "apps"
SERVER = APPS / "release_server.py"
PROBE = APPS / "probe.py"
NAME_PREFIX = "bench-canary-"

# The test's deployment: what v1 and v2 share.
ERROR_RATE_PERCENT = 5.0
PERIOD = 60
EVALUATION_PERIODS = 1
DATAPOINTS_TO_ALARM = 1
CANARY_PERCENT = 20.0
CANARY_INTERVAL = 5  # minutes
BAKE_TIME = 5  # minutes
FAIL_EVERY = 5
ALARM_NAME = "target-5xx-rate"  # the alarm's name after "<stack>-"
TICK = 0.5  # the twin daemon's decision tick (daemon/twin.py), not scaled

LEAD_SECONDS = 1.0  # probe traffic before `local deploy`
AFTER_SECONDS = 2.0  # and after it returned: none of it may reach v2
UP_TIMEOUT = 180.0
DEPLOY_TIMEOUT = 300.0
PROBE_LIMIT = 900  # the probe's own end; it is stopped with SIGTERM long before
PROBE_STOP_TIMEOUT = 30.0
TRACE_INTERVAL = 0.05
FAST_TRACE_INTERVAL = 0.005  # until the daemon's first write after its build
CLI_TIMEOUT = 60.0

BEGIN_MARK = "<!-- begin: canary (benchmarks/canary_twin.py) -->"
END_MARK = "<!-- end: canary -->"
CONTAINERS_END = "<!-- end: containers -->"


@dataclass(frozen=True)
class Settings:
    time_scales: tuple[float, ...] = (0.05, 0.1)
    reps: int = 3


@dataclass(frozen=True)
class Alarm:
    """The 5xx alarm as the synthesized template has it (else as the config asks)."""

    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    source: str  # where the numbers were read

    def window(self, time_scale: float) -> float:
        """What the config asks for: M datapoints of a period each, scaled."""
        return self.period * self.datapoints_to_alarm * time_scale

    def datapoint_period(self, time_scale: float) -> float:
        """How often the twin closes a datapoint (AlarmEvaluator.period_seconds)."""
        return self.period * time_scale


CONFIGURED = Alarm(
    PERIOD, EVALUATION_PERIODS, DATAPOINTS_TO_ALARM, ERROR_RATE_PERCENT, "the config"
)


@dataclass
class Traffic:
    """What the probe saw, epoch seconds (its `time.time()`)."""

    total: int = 0
    failed: int = 0  # not 200: 500s and connection errors (status 0)
    connection_errors: int = 0
    start: float | None = None  # first and last answer
    end: float | None = None
    first_v2: float | None = None
    last_v2: float | None = None
    v2: int = 0
    v2_failed: int = 0
    other_failed: int = 0  # failures not from v2 (none expected)
    window_total: int = 0  # answers from the first v2 answer to the last
    window_v2: int = 0
    window_failed: int = 0


@dataclass
class Trace:
    """Changes seen in state.json: (updated_at, what, new value), in order."""

    changes: list[tuple[float, str, str]] = field(default_factory=list)
    alarm_reason: str = ""  # the 5xx alarm's reason when first seen in ALARM
    # The write right after the daemon created its alarm evaluator (phase
    # "starting-tasks", no task yet): the epoch its datapoint periods count from.
    alarm_clock: float | None = None

    def first(self, what: str, value: str) -> float | None:
        """When `what` first became `value`."""
        for at, kind, new in self.changes:
            if kind == what and new == value:
                return at
        return None


@dataclass
class Run:
    round_no: int
    time_scale: float
    name: str
    period: int = PERIOD  # the alarm's, unscaled
    load_before: float = 0.0
    up: float | None = None  # `local up`, seconds
    deploy_started: float | None = None  # epoch
    deploy: float | None = None  # `local deploy`, seconds
    deploy_exit: int | None = None
    deploy_said: str = ""
    traffic: Traffic = field(default_factory=Traffic)
    trace: Trace = field(default_factory=Trace)
    # From `local status --json` after the deploy: event times (epoch, whole seconds).
    shift_event: float | None = None
    alarm_event: float | None = None
    back_event: float | None = None
    alarm_from: str = ""  # the state the alarm left for ALARM
    stage: str = ""  # the lifecycle stage the rollback started at
    outcome: str = ""
    down: float | None = None
    down_exit: int | None = None
    down_message: str = ""
    leftovers: list[str] = field(default_factory=list)
    error: str | None = None

    # --- what is reported ---
    @property
    def in_production(self) -> float | None:
        """First v2 answer to the last (probe)."""
        t = self.traffic
        return None if t.first_v2 is None or t.last_v2 is None else t.last_v2 - t.first_v2

    @property
    def alarm_at(self) -> float | None:
        return self.trace.first("alarm", "ALARM")

    @property
    def to_alarm(self) -> float | None:
        """First v2 answer to the first state.json write with the alarm in ALARM."""
        first, alarm = self.traffic.first_v2, self.alarm_at
        return None if first is None or alarm is None else alarm - first

    @property
    def alarm_to_last_v2(self) -> float | None:
        last, alarm = self.traffic.last_v2, self.alarm_at
        return None if last is None or alarm is None else last - alarm

    @property
    def events_to_alarm(self) -> float | None:
        """The 20 % shift's event to the alarm's, both truncated to the second."""
        if self.shift_event is None or self.alarm_event is None:
            return None
        return self.alarm_event - self.shift_event

    @property
    def lead(self) -> float | None:
        """`local deploy` started to the first v2 answer: the rollout before the canary."""
        if self.deploy_started is None or self.traffic.first_v2 is None:
            return None
        return self.traffic.first_v2 - self.deploy_started

    @property
    def rate(self) -> float | None:
        t = self.traffic
        if t.start is None or t.end is None or t.end <= t.start:
            return None
        return t.total / (t.end - t.start)

    def share(self, part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def canary_share(self) -> float | None:
        return self.share(self.traffic.window_v2, self.traffic.window_total)

    @property
    def failed_canary(self) -> float | None:
        return self.share(self.traffic.window_failed, self.traffic.window_total)

    @property
    def failed_overall(self) -> float | None:
        return self.share(self.traffic.failed, self.traffic.total)

    @property
    def v2_failed(self) -> float | None:
        return self.share(self.traffic.v2_failed, self.traffic.v2)

    def _breaching(self) -> tuple[float, int] | None:
        """The newest datapoint of the ALARM reason: value, and its period's start in
        alarm time (unscaled seconds since the evaluator started)."""
        found = re.search(r"\[(-?[\d.]+) \(t\+(\d+)s\)", self.trace.alarm_reason)
        return (float(found.group(1)), int(found.group(2))) if found else None

    @property
    def datapoint(self) -> float | None:
        """The breaching datapoint (the worst target group's 5xx rate, percent)."""
        found = self._breaching()
        return None if found is None else found[0]

    @property
    def period_seconds(self) -> float:
        return self.period * self.time_scale

    @property
    def close(self) -> float | None:
        """When the breaching datapoint's period closed (epoch), from the alarm's clock."""
        found, clock = self._breaching(), self.trace.alarm_clock
        if found is None or clock is None:
            return None
        return clock + (found[1] / self.period + 1) * self.period_seconds

    @property
    def periods_after(self) -> int | None:
        """0: the period in which v2 first answered breached; 1: the next one; ..."""
        found, clock, first = self._breaching(), self.trace.alarm_clock, self.traffic.first_v2
        if found is None or clock is None or first is None:
            return None
        return round(found[1] / self.period) - int((first - clock) // self.period_seconds)

    @property
    def to_close(self) -> float | None:
        """First v2 answer to the close of the breaching datapoint's period."""
        close, first = self.close, self.traffic.first_v2
        return None if close is None or first is None else close - first

    @property
    def close_to_alarm(self) -> float | None:
        """The breaching period's close to state.json's ALARM: the daemon's tick."""
        close, alarm = self.close, self.alarm_at
        return None if close is None or alarm is None else alarm - close


@dataclass
class Results(PartResults):
    settings: Settings
    runs: list[Run] = field(default_factory=list)
    alarm: Alarm = CONFIGURED
    load: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    others: tuple[int, int] = (0, 0)  # other twins on the machine at start, at end


# --- preconditions -----------------------------------------------------------------------------


def why_not() -> str | None:
    """None when item 7 can run here: root, ip, nft, haproxy (twin_bench.why_not), and
    the test apps it runs."""
    reason = twin_bench.why_not()
    if reason is not None:
        return reason
    missing = [str(p.relative_to(REPO)) for p in (SERVER, PROBE) if not p.exists()]
    if missing:
        return f"{', '.join(missing)} missing"
    return None


def new_name() -> str:
    return f"{NAME_PREFIX}{secrets.token_hex(3)}"  # 19 characters, the twin allows 20


def canary_leftovers() -> list[str]:
    """Anything of a `bench-canary-` twin (this item's) still on the machine."""
    prefix = f"fa-{NAME_PREFIX}"
    items = [f"netns {path.name}" for path in sorted(NETNS_DIR.glob(f"{prefix}*"))]
    if STATE_ROOT.is_dir():
        items += [f"state folder {p}" for p in sorted(STATE_ROOT.glob(f"{prefix}*"))]
    items += [f"process {p.pid}: {p.command}" for p in twin_processes(prefix)]
    return items


def netns_left() -> list[str]:
    """`ip netns list` entries with this item's prefix (the check the brief asks for)."""
    result = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=30, check=False
    )
    return [
        line.split()[0]
        for line in result.stdout.splitlines()
        if line.strip().startswith(f"fa-{NAME_PREFIX}")
    ]


def other_twins() -> int:
    """Twins on the machine that are not this item's (other benchmarks, test sessions)."""
    if not STATE_ROOT.is_dir():
        return 0
    return sum(not p.name.startswith(f"fa-{NAME_PREFIX}") for p in STATE_ROOT.glob("fa-*-twin"))


# --- configs -------------------------------------------------------------------------------------


def config_text(release: str, fail_every: int) -> str:
    return (
        '[service]\nhealth_check_path = "/health"\n\n'
        f'[service.environment]\nRELEASE = "{release}"\nFAIL_EVERY = "{fail_every}"\n\n'
        "[deployment.alarms]\n"
        f"error_rate_percent = {ERROR_RATE_PERCENT}\n"
        f"period = {PERIOD}\n"
        f"evaluation_periods = {EVALUATION_PERIODS}\n"
        f"datapoints_to_alarm = {DATAPOINTS_TO_ALARM}\n\n"
        "[deployment]\n"
        'strategy = "canary"\n'
        f"canary_percent = {CANARY_PERCENT}\n"
        f"canary_interval = {CANARY_INTERVAL}\n"
        f"bake_time = {BAKE_TIME}\n"
    )


def write_configs(work: Path) -> tuple[Path, Path]:
    v1, v2 = work / "v1.toml", work / "v2.toml"
    v1.write_text(config_text("v1", 0), encoding="utf-8")
    v2.write_text(config_text("v2", FAIL_EVERY), encoding="utf-8")
    return v1, v2


def run_mapping() -> str:
    """`--run`: the nginx image as the release server, in process mode."""
    return f"*nginx*={shlex.quote(sys.executable)} {shlex.quote(str(SERVER))} {{port}}"


def read_alarm(config: Path, work: Path) -> Alarm:
    """The 5xx alarm of the synthesized templates (`fargate-api synth -c v2.toml`)."""
    out = work / "synth"
    result = subprocess.run(
        [str(FARGATE_API), "synth", "-c", str(config), "-o", str(out)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        log(f"item 7: synth failed ({tail(result.stderr)}); using the config's alarm numbers")
        return CONFIGURED
    for path in sorted(out.glob("*.yml")):
        with contextlib.suppress(yaml.YAMLError, OSError):
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            body = (document.get("Resources") or {}).get("TargetErrorRateAlarm")
            if body:
                props = body["Properties"]
                periods = [
                    int(m["MetricStat"]["Period"]) for m in props["Metrics"] if "MetricStat" in m
                ]
                return Alarm(
                    period=max(periods),
                    evaluation_periods=int(props["EvaluationPeriods"]),
                    datapoints_to_alarm=int(
                        props.get("DatapointsToAlarm", props["EvaluationPeriods"])
                    ),
                    threshold=float(props["Threshold"]),
                    source=f"`TargetErrorRateAlarm` in the synthesized {path.name}",
                )
    log("item 7: no TargetErrorRateAlarm in the synthesized templates; using the config's")
    return CONFIGURED


# --- following one twin ------------------------------------------------------------------------


class Tracer(threading.Thread):
    """state.json every 50 ms: the 5xx alarm's state, revision 2's production share,
    lifecycle stage and outcome, each change stamped with the state's `updated_at`."""

    def __init__(self, name: str, trace: Trace) -> None:
        super().__init__(daemon=True)
        self.path = STATE_ROOT / f"fa-{name}-twin" / "state.json"
        self.trace = trace
        self.last: dict[str, str] = {}
        self.done = threading.Event()
        self.building = True  # no write past the "building" phase seen yet

    def run(self) -> None:
        mtime = 0
        while not self.done.is_set():
            with contextlib.suppress(OSError, ValueError):
                stat = self.path.stat()
                if stat.st_mtime_ns != mtime:
                    mtime = stat.st_mtime_ns
                    self.read(json.loads(self.path.read_text(encoding="utf-8")))
            self.done.wait(FAST_TRACE_INTERVAL if self.building else TRACE_INTERVAL)

    def note(self, at: float, what: str, value: str) -> None:
        if self.last.get(what) != value:
            self.last[what] = value
            self.trace.changes.append((at, what, value))

    def read(self, state: dict[str, Any]) -> None:
        at = float(state.get("updated_at") or time.time())
        if self.building and state.get("phase") != "building":
            self.building = False
            # The build's own last write comes right after the alarm evaluator starts;
            # a later write (tasks already there) would be up to a tick late: not used.
            if state.get("phase") == "starting-tasks" and not state.get("tasks"):
                self.trace.alarm_clock = at
        for service in (state.get("services") or [])[:1]:
            for alarm in service.get("alarms") or []:
                if str(alarm.get("name", "")).endswith(ALARM_NAME):
                    value = str(alarm.get("state"))
                    self.note(at, "alarm", value)
                    if value == "ALARM" and not self.trace.alarm_reason:
                        self.trace.alarm_reason = str(alarm.get("reason", ""))
            for deployment in service.get("deployments") or []:
                if deployment.get("revision") == 2:
                    self.note(at, "production", str(deployment.get("production_percent")))
                    self.note(at, "stage", str(deployment.get("lifecycle_stage")))
                    self.note(at, "outcome", str(deployment.get("outcome")))

    def stop(self) -> None:
        self.done.set()
        self.join(5)


def spawn_probe(name: str, url: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", f"fa-{name}-inet", sys.executable, str(PROBE),
         str(PROBE_LIMIT), str(out), url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def stop_process(process: subprocess.Popen[str] | None, sig: int) -> str:
    """Sends `sig` to a process still running, waits, kills it if it hangs; its output."""
    if process is None:
        return ""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=PROBE_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


def read_answers(path: Path) -> list[tuple[float, int, int, str]]:
    answers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        at, listener, status, release, _sent = json.loads(line)
        answers.append((float(at), int(listener), int(status), str(release)))
    return answers


def traffic(answers: list[tuple[float, int, int, str]]) -> Traffic:
    t = Traffic(total=len(answers))
    if not answers:
        return t
    t.start, t.end = answers[0][0], answers[-1][0]
    v2_times = [at for at, _, _, release in answers if release == "v2"]
    if v2_times:
        t.first_v2, t.last_v2 = min(v2_times), max(v2_times)
    for at, _, status, release in answers:
        bad = status != 200
        t.failed += bad
        t.connection_errors += status == 0
        t.v2 += release == "v2"
        t.v2_failed += bad and release == "v2"
        t.other_failed += bad and release != "v2"
        if t.first_v2 is not None and t.last_v2 is not None and t.first_v2 <= at <= t.last_v2:
            t.window_total += 1
            t.window_v2 += release == "v2"
            t.window_failed += bad
    return t


def event_epoch(clock: str, near: float) -> float:
    """An event's HH:MM:SS (the daemon's local time) as epoch seconds, the day taken
    from `near`."""
    hour, minute, second = (int(x) for x in clock.split(":"))
    reference = dt.datetime.fromtimestamp(near)
    moment = reference.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if (moment - reference).total_seconds() > 12 * 3600:
        moment -= dt.timedelta(days=1)
    elif (reference - moment).total_seconds() > 12 * 3600:
        moment += dt.timedelta(days=1)
    return moment.timestamp()


_SHIFT = re.compile(r"([\d.]+)% of production traffic on revision 2$")
_ALARM = re.compile(rf"alarm \S*{ALARM_NAME}: (\S+) -> ALARM$")
_ROLLS_BACK = re.compile(r"deployment of revision 2 rolls back \(.*\) at (\S+)$")
_WEIGHTS_BACK = re.compile(r"listener rule .*: weights .*Alternate 0$")


def read_events(run: Run, status: dict[str, Any]) -> None:
    """The 20 % shift, the alarm's OK -> ALARM and the weights put back, from the events
    after revision 2's deployment started."""
    near = run.deploy_started or time.time()
    started = False
    for line in status.get("events") or []:
        stamp, _, text = str(line).partition(" ")
        if "deployment of revision 2 started" in text:
            started = True
        if not started or not re.fullmatch(r"\d\d:\d\d:\d\d", stamp):
            continue
        at = event_epoch(stamp, near)
        shift = _SHIFT.search(text)
        if shift and float(shift.group(1)) > 0 and run.shift_event is None:
            run.shift_event = at
        alarm = _ALARM.search(text)
        if alarm and run.alarm_event is None:
            run.alarm_event, run.alarm_from = at, alarm.group(1)
        back = _ROLLS_BACK.search(text)
        if back and not run.stage:
            run.stage = back.group(1)
        if _WEIGHTS_BACK.search(text) and run.alarm_event is not None and run.back_event is None:
            run.back_event = at
    for service in (status.get("services") or [])[:1]:
        for deployment in service.get("deployments") or []:
            if deployment.get("revision") == 2:
                run.outcome = str(deployment.get("outcome"))


def local_status(name: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(FARGATE_API), "local", "status", "--name", name, "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"`local status` exited {result.returncode}: {tail(result.stderr)}")
    return parse_status(result.stdout)


def check(run: Run) -> None:
    """What makes a run count: the scenario went as the test says it must."""
    t = run.traffic
    found = []
    if run.deploy_exit != 1:
        found.append(
            f"`local deploy` exited {run.deploy_exit}, not 1 (rolled back): {run.deploy_said}"
        )
    if run.outcome != "ROLLBACK_SUCCESSFUL":
        found.append(f"revision 2's outcome is {run.outcome or 'unknown'}")
    if not t.v2:
        found.append("no answer from v2: the canary got no traffic")
    if run.alarm_event is None and run.alarm_at is None:
        found.append("the 5xx alarm never went to ALARM")
    if t.other_failed:
        found.append(f"{t.other_failed} failed answer(s) not from v2")
    if found and run.error is None:
        run.error = "; ".join(found)


def one_run(run: Run, v1: Path, v2: Path, work: Path) -> None:
    """`local up` v1, the probe and the tracer started, `local deploy` v2, then down."""
    run.load_before = os.getloadavg()[0]
    prefix = f"fa-{run.name}-"
    answers_file = work / f"{run.name}.jsonl"
    seen: list[Proc] = []
    up: subprocess.Popen[str] | None = None
    probe: subprocess.Popen[str] | None = None
    deploy: subprocess.Popen[str] | None = None
    tracer: Tracer | None = None
    try:
        argv = [str(FARGATE_API), "local", "up", "-c", str(v1), "--name", run.name,
                "--runtime", "process", "--run", run_mapping(),
                "--time-scale", str(run.time_scale), "--json"]  # fmt: skip
        tracer = Tracer(run.name, run.trace)  # from the start: the alarm's clock
        tracer.start()
        start = time.perf_counter()
        up = twin_bench.spawn_up(argv)
        stdout, stderr = up.communicate(timeout=UP_TIMEOUT)
        run.up = time.perf_counter() - start
        if up.returncode != 0:
            run.error = f"`local up` exited {up.returncode}: {tail(stderr)}"
            return
        status = parse_status(stdout)
        seen = twin_processes(prefix)
        ips = (status.get("load_balancer") or {}).get("public_ips") or []
        if not ips:
            run.error = "no ALB public IP in `local up --json`"
            return
        probe = spawn_probe(run.name, f"http://{ips[0]}/", answers_file)
        time.sleep(LEAD_SECONDS)
        if probe.poll() is not None:
            run.error = f"the probe ended at once: {tail(stop_process(probe, signal.SIGTERM))}"
            return
        run.deploy_started = time.time()
        start = time.perf_counter()
        deploy = subprocess.Popen(
            [str(FARGATE_API), "local", "deploy", "-c", str(v2), "--name", run.name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out, err = deploy.communicate(timeout=DEPLOY_TIMEOUT)
        run.deploy = time.perf_counter() - start
        run.deploy_exit = deploy.returncode
        run.deploy_said = tail(err + out, 1)
        time.sleep(AFTER_SECONDS)
        said = stop_process(probe, signal.SIGTERM)
        if probe.returncode != 0:
            run.error = f"the probe exited {probe.returncode}: {tail(said)}"
        else:
            run.traffic = traffic(read_answers(answers_file))
        tracer.stop()
        read_events(run, local_status(run.name))
        check(run)
    except subprocess.TimeoutExpired as error:
        command = " ".join(str(part) for part in error.cmd[1:3])
        run.error = f"`{command}` did not return within {error.timeout:.0f} s"
    except (ValueError, RuntimeError, OSError) as error:
        run.error = f"{type(error).__name__}: {error}"
    finally:
        if tracer is not None:
            tracer.stop()
        stop_process(probe, signal.SIGTERM)
        stop_process(deploy, signal.SIGINT)
        run.down, run.down_exit, run.down_message, run.leftovers = remove_twin(run.name, up, seen)
        if run.down_exit != 0 and run.error is None:
            run.error = f"`local down` exited {run.down_exit}: {run.down_message}"


def run_log(run: Run) -> str:
    return (
        f"  scale {run.time_scale:g} ({run.name}): first -> last v2 {fmt_s(run.in_production)} s"
        f" (state.json ALARM at +{fmt_s(run.to_alarm)} s, events +{fmt_s(run.events_to_alarm)}"
        f" s), canary share {pct(run.canary_share)}, failed {pct(run.failed_canary)} during / "
        f"{pct(run.failed_overall)} overall, {run.traffic.total} answers, deploy exit "
        f"{run.deploy_exit}, down {fmt_s(run.down)} s"
        + (f"; ERROR {run.error}" if run.error else "")
        + (f"; LEFT BEHIND: {', '.join(run.leftovers)}" if run.leftovers else "")
    )


def run_canary_benchmarks(settings: Settings, work: Path) -> Results:
    """Item 7; Ctrl-C or SIGTERM removes the twin being measured, then re-raises."""
    results = Results(settings=settings)
    reason = why_not()
    if reason is not None:
        results.skipped = reason
        return results
    v1, v2 = write_configs(work)
    results.alarm = read_alarm(v2, work)
    try:
        with twin_bench.guarded(
            results,
            canary_leftovers,
            by="item 7",
            clean="item 7: nothing left behind (namespaces, state, processes)",
        ):
            load_start = os.getloadavg()
            others_start = other_twins()
            for round_no in range(1, settings.reps + 1):
                order = rotated(settings.time_scales, round_no)
                log(
                    f"item 7, round {round_no}/{settings.reps}: time scales "
                    + ", ".join(f"{s:g}" for s in order)
                )
                for scale in order:
                    run = Run(
                        round_no=round_no,
                        time_scale=scale,
                        name=new_name(),
                        period=results.alarm.period,
                    )
                    results.runs.append(run)
                    one_run(run, v1, v2, work)
                    log(run_log(run))
            results.load = (load_start, os.getloadavg())
            results.others = (others_start, other_twins())
    finally:
        # `guarded` looked in /run/netns; `ip netns list` is the check users run.
        listed = [f"netns {n}" for n in netns_left()]
        if listed:
            log("item 7: `ip netns list` still shows " + ", ".join(listed))
        results.final_leftovers += [n for n in listed if n not in results.final_leftovers]
    return results


# --- the report -----------------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}{TIMES}"


def clock(epoch: float | None) -> str:
    return "n/a" if epoch is None else f"{dt.datetime.fromtimestamp(epoch):%H:%M:%S}"


def _ok(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.error is None and not r.leftovers]


def _values(runs: list[Run], attribute: str) -> list[float | None]:
    return [getattr(r, attribute) for r in runs]


def _ratio(run: Run, alarm: Alarm) -> float | None:
    value = run.in_production
    return None if value is None else value / alarm.window(run.time_scale)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def section(results: Results, machine: list[tuple[str, str]]) -> list[str]:
    out = [
        BEGIN_MARK,
        "## 7. Local twin: a bad canary, from its first answer to the 5xx alarm's rollback",
        "",
    ]
    if results.skipped:
        reason = results.skipped
        return [*out, f"**NOT RUN: {reason}.** No numbers for item 7.", "", END_MARK, ""]
    s, a = results.settings, results.alarm
    start = dt.datetime.fromtimestamp(results.started, dt.UTC)
    facts = dict(machine)
    rates = [r.rate for r in _ok(results.runs)]
    out += [
        f"- run: {start:%Y-%m-%d %H:%M:%S} UTC, {results.seconds:.0f} s for "
        f"{plural(len(results.runs), 'twin')}; machine: {facts.get('CPU', 'unknown')}, "
        f"{os.cpu_count() or 0} logical cores, {facts.get('memory', '?')}, shared: other "
        f"twins on it (not this item's) {results.others[0]} at the start and "
        f"{results.others[1]} at the end; load average (1, 5, 15 min) at start "
        + ", ".join(f"{x:.2f}" for x in results.load[0])
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in results.load[1])
        + f"; {haproxy_version()}.",
        "- scenario, as `tests/twin/test_local_deployments.py::"
        "test_a_bad_canary_trips_the_5xx_alarm_and_rolls_back`: `fargate-api local up -c "
        'v1.toml --name bench-canary-<random> --runtime process --run "*nginx*=PYTHON '
        'tests/twin/apps/release_server.py {port}" --time-scale S --json` (2 tasks answering '
        '`{"release": "v1"}`, health check `/health`), then `fargate-api local deploy -c '
        'v2.toml --name N`: v2 is the same service with `RELEASE = "v2"` and '
        f'`FAIL_EVERY = "{FAIL_EVERY}"` (every {FAIL_EVERY}th request other than the health '
        "check answers 500: healthy to the load balancer, bad for users), `strategy = "
        f'"canary"`, `canary_percent = {CANARY_PERCENT:g}`, `canary_interval = '
        f"{CANARY_INTERVAL}`, `bake_time = {BAKE_TIME}`. It exits 1 once the alarm rolled it "
        f"back; then `local status --json`, `local down`. {plural(s.reps, 'run')} per time "
        "scale, the scales alternating (each round in an order rotated by one).",
        f"- the alarm: `[deployment.alarms] error_rate_percent = {ERROR_RATE_PERCENT:g}, "
        f"period = {PERIOD}, evaluation_periods = {EVALUATION_PERIODS}, datapoints_to_alarm = "
        f"{DATAPOINTS_TO_ALARM}`; read back from {a.source}: 5xx per request above "
        f"{a.threshold:g} % in the worst target group, period {a.period} s, "
        f"{a.datapoints_to_alarm} of {a.evaluation_periods} datapoints. The twin closes a "
        f"datapoint every period {TIMES} time scale seconds, counted from the moment its "
        "daemon built the twin (`twin/cloudwatch/alarms.py`); a datapoint counts HAProxy's "
        "counters from the last sample at or before the period's start to the last at or "
        f"before its end, sampled on the daemon's tick ({TICK:g} s plus the tick's work, not "
        "scaled), and the tick after the close decides and acts.",
        "- load: `tests/twin/apps/probe.py` in the twin's internet namespace (`ip netns exec "
        "fa-N-inet`), 3 keep-alive connections to the ALB's public IP, every answer recorded "
        f"with its time, status and release; from {LEAD_SECONDS:g} s before `local deploy` "
        f"until {AFTER_SECONDS:g} s after it returned (median "
        f"{fmt_rate(median(rates))} requests/s; the probe, HAProxy and the tasks share the "
        f"{os.cpu_count() or 0} cores).",
        "- **first → last v2 answer** (the probe's clock): how long the bad revision served "
        "production. It starts when the canary takes its 20 % and ends when the rollback has "
        "put the production weights back: the alarm's detection (its datapoint closes and "
        "breaches), the daemon's tick and HAProxy's weight update.",
        "- **first v2 → ALARM (state.json)**: from the first v2 answer to the first write of "
        "the twin's state.json showing the 5xx alarm in ALARM (its `updated_at`; state.json "
        f"read every {TRACE_INTERVAL * 1000:.0f} ms): the daemon's decision, to within its "
        "write. **events**: `local status --json` events, HH:MM:SS truncated to the second: "
        '"20% of production traffic on revision 2" → "alarm …: OK -> ALARM", ±1 s.',
        f"- **window**: what the config asks for, period {TIMES} datapoints_to_alarm {TIMES} "
        f"time scale; **datapoint period**: period {TIMES} time scale. **/ window**: first → "
        "last v2 answer divided by the window. **canary share**: v2 answers / all answers "
        "from the first v2 answer to the last. **failed during the canary**: answers other "
        "than 200 (500s and connection errors) / all answers in that interval; **overall**: "
        "the same over the probe's whole record.",
        "- **breaching period**: which datapoint fired, counted from the period in which v2 "
        "first answered (0: that one, 1: the next). The datapoint's period start is in the "
        "ALARM reason (`t+Ns`, alarm time); the periods' origin is the `updated_at` of "
        "state.json's write right after the daemon started its alarm evaluator (the build's "
        f"last write, caught by reading state.json every {FAST_TRACE_INTERVAL * 1000:.0f} ms "
        "during `local up`).",
        "",
        "| time scale | runs | window (s) | datapoint period (s) | first → last v2 answer "
        "median (s) | min / max | / window median | min / max | first v2 → ALARM, state.json "
        "median (s) | 20 % shift → ALARM, events median (s, ±1) | breaching period (0 / 1) "
        "| canary share median | failed during the canary median | failed overall median "
        "| failed runs |",
        "|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scale in s.time_scales:
        runs = [r for r in results.runs if r.time_scale == scale]
        ok = _ok(runs)
        ratios = [_ratio(r, a) for r in ok]
        periods = [r.periods_after for r in ok]
        out.append(
            f"| {scale:g} | {len(runs)} | {fmt_s(a.window(scale))} "
            f"| {fmt_s(a.datapoint_period(scale))} "
            f"| **{fmt_s(median(_values(ok, 'in_production')))}** "
            f"| {spread(_values(ok, 'in_production'), fmt_s)} "
            f"| **{times(median(ratios))}** | {spread(ratios, times)} "
            f"| {fmt_s(median(_values(ok, 'to_alarm')))} "
            f"| {fmt_s(median(_values(ok, 'events_to_alarm')))} "
            f"| {periods.count(0)} / {periods.count(1)} "
            f"| {pct(median(_values(ok, 'canary_share')))} "
            f"| {pct(median(_values(ok, 'failed_canary')))} "
            f"| {pct(median(_values(ok, 'failed_overall')))} "
            f"| {len(runs) - len(ok)} |"
        )
    out += ["", *_reading(results), "", *_raw(results), "", END_MARK, ""]
    return out


def haproxy_version() -> str:
    try:
        result = subprocess.run(
            ["haproxy", "-v"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return "HAProxy version unknown"
    lines = result.stdout.strip().splitlines()
    return " ".join(lines[0].split()[:3]) if lines else "HAProxy version unknown"


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _reading(results: Results) -> list[str]:
    """What the numbers say, from this run's numbers."""
    a = results.alarm
    ok = _ok(results.runs)
    if not ok:
        return ["- no run succeeded: no reading (see the raw numbers)."]
    lines = []
    for scale in results.settings.time_scales:
        runs = [r for r in ok if r.time_scale == scale]
        value = median(_values(runs, "in_production"))
        if value is None:
            continue
        window = a.window(scale)
        to_close = median(_values(runs, "to_close"))
        tick = median(_values(runs, "close_to_alarm"))
        after = median(_values(runs, "alarm_to_last_v2"))
        parts = [
            f"- time scale {scale:g}: the bad revision served production for a median "
            f"{value:.2f} s, {value / window:.2f}{TIMES} the {window:g} s window"
        ]
        if to_close is not None and tick is not None:
            parts.append(
                f"; from the first v2 answer to the close of the breaching period "
                f"{to_close:.2f} s, from the close to ALARM in state.json {tick:.2f} s "
                "(the daemon's tick)"
            )
        if after is not None:
            parts.append(f", to the last v2 answer {after:+.2f} s more")
        lines.append("".join(parts) + ".")
    v2_failed = median(_values(ok, "v2_failed"))
    datapoints = sorted(r.datapoint for r in ok if r.datapoint is not None)
    breached = (
        f" (the breaching datapoints: {datapoints[0]:.1f}"
        + (f" to {datapoints[-1]:.1f}" if datapoints[-1] != datapoints[0] else "")
        + " %)"
        if datapoints
        else ""
    )
    steps = []
    for scale in results.settings.time_scales:
        values = sorted(r.in_production for r in ok if r.time_scale == scale and r.in_production)
        if values:
            steps.append(", ".join(f"{v:.2f}" for v in values) + f" s at {scale:g}")
    observed = "; ".join(steps)
    lines += [
        f"- what to expect: the canary's requests fail 1 in {FAIL_EVERY} (v2's own answers "
        f"failed at a median {pct(v2_failed)} here), four times the {a.threshold:g} % "
        f"threshold, so any datapoint holding canary requests breaches{breached}. Canary "
        "requests answered before the daemon's last counter sample of a period count in "
        "that period, the others in the next; the tick after that period's close puts the "
        "alarm in ALARM and the weights back. So the bad revision serves from about 0 up to "
        "one datapoint period plus two ticks, depending on where in its period the canary "
        f"started: a ratio to the window of 0 to about 1 + 2 {TIMES} {TICK:g} s / period "
        "(about half the window plus a tick on average, were that place random). A window "
        "of M datapoints would add M - 1 periods.",
        "- where in its period the canary starts depends on how many ticks the twin took "
        "from its daemon's start to the canary (the build, `local up`, the rollout: *deploy "
        "→ first v2* varies by seconds), so each run samples one place, at a tick's "
        "granularity: with a few runs the median can move between runs of this benchmark; "
        "min / max and the raw *to the close* column show the places sampled. Both ends "
        "fall on ticks (the canary's weights are set in one, the rollback's in another), so "
        f"the times come in steps of about a tick ({observed}).",
        "- every failed answer came from v2: "
        + ("yes" if all(r.traffic.other_failed == 0 for r in ok) else "**no**")
        + "; no answer came from v2 after the rollback (the last v2 answer ends the "
        f"interval; {AFTER_SECONDS:g} s of v1-only traffic followed it in every run), and "
        "the overall share depends on how long the probe ran around the deployment.",
    ]
    return lines


def _raw(results: Results) -> list[str]:
    a = results.alarm
    out = [
        "### Raw numbers: item 7, in the order they ran",
        "",
        "Times in the machine's local time. *deploy → first v2*: `local deploy` started to "
        "the first v2 answer (the rollout before the canary: new tasks healthy, test "
        "traffic). *to the close*: first v2 answer to the close of the breaching period; "
        "*close → ALARM*: that close to state.json's ALARM. *ALARM → last v2*: to the last "
        "v2 answer (negative: it came before that write; the weights change in the tick, the "
        "write ends it).",
        "",
        "| # | round | time scale | twin | load (1 min) before | `local up` (s) | deploy → "
        "first v2 (s) | first → last v2 (s) | / window | first v2 → ALARM, state.json (s) "
        "| breaching period | to the close (s) | close → ALARM (s) | ALARM → last v2 (s) "
        "| events: 20 % shift / ALARM / weights back | alarm from | rolled back at "
        "| breaching datapoint (%) | requests/s | canary share (v2 / all) | failed during the "
        "canary | failed overall | v2 answers failed | `local deploy` (s, exit) | outcome "
        "| `local down` (s) | left behind / error |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
        "---:|---:|---|---|---|---|---|---|---:|---|",
    ]
    for index, r in enumerate(results.runs, start=1):
        t = r.traffic
        out.append(
            f"| {index} | {r.round_no} | {r.time_scale:g} | {r.name} | {r.load_before:.2f} "
            f"| {fmt_s(r.up)} | {fmt_s(r.lead)} | {fmt_s(r.in_production)} "
            f"| {times(_ratio(r, a))} | {fmt_s(r.to_alarm)} "
            f"| {'n/a' if r.periods_after is None else r.periods_after} "
            f"| {fmt_s(r.to_close)} | {fmt_s(r.close_to_alarm)} "
            f"| {fmt_s(r.alarm_to_last_v2)} "
            f"| {clock(r.shift_event)} / {clock(r.alarm_event)} / {clock(r.back_event)} "
            f"| {r.alarm_from or 'n/a'} | {r.stage or 'n/a'} "
            f"| {'n/a' if r.datapoint is None else f'{r.datapoint:.1f}'} | {fmt_rate(r.rate)} "
            f"| {pct(r.canary_share)} ({t.window_v2} / {t.window_total}) "
            f"| {pct(r.failed_canary)} ({t.window_failed} / {t.window_total}) "
            f"| {pct(r.failed_overall)} ({t.failed} / {t.total}) "
            f"| {pct(r.v2_failed)} ({t.v2_failed} / {t.v2}) "
            f"| {fmt_s(r.deploy)}, {'n/a' if r.deploy_exit is None else r.deploy_exit} "
            f"| {r.outcome or 'n/a'} | {fmt_s(r.down)} "
            f"| {cell(problems(r.leftovers, r.error))} |"
        )
    out += [
        "",
        left_behind("item 7", "namespaces, state folders or processes", results.final_leftovers),
    ]
    return out


def replace_section(document: str, block: list[str]) -> str:
    """The report with item 7's block replaced in place, or added after item 6's block
    (else before the first "## Raw numbers" heading, else at the end); the rest of the
    document is left byte for byte as it was: for `--only canary`."""
    text = "\n".join(block).strip("\n")
    i = document.find(BEGIN_MARK)
    j = document.find(END_MARK, i + 1) if i >= 0 else -1
    if i >= 0 and j > i:
        return document[:i] + text + document[j + len(END_MARK) :]
    after = document.find(CONTAINERS_END)
    if after >= 0:
        at = after + len(CONTAINERS_END)
        return document[:at] + "\n\n" + text + document[at:]
    anchor = document.find("## Raw numbers")
    if anchor >= 0:
        return document[:anchor] + text + "\n\n" + document[anchor:]
    return document.rstrip("\n") + "\n\n" + text + "\n"
