"""Items 3 and 4 of the benchmarks: the local twin (`fargate-api local ...`), for run.py.

3. `local up` to the first HTTP 200 through the load balancer, for 2 and 50 tasks, and
   `local down` after it. The clock starts just before `local up` is spawned; a thread
   polls `GET http://127.0.0.1:PORT/` (the twin's URL: the port is chosen here and passed
   with `--port`, so that polling can start at once) every 50 ms until it gets a 200.
   The time `local up` itself returns (every desired task healthy) is kept too.
4. The LB hop: wrk from the twin's internet host through the ALB's public IP vs wrk from
   the load balancer node's namespace straight to a task's private IP (the internet host
   cannot reach tasks, by design), on a 1-task twin, with 16 connections (loaded) and 1
   (the hop's own latency); and the throughput through the LB with 1, 2 and 4 tasks.
   Every twin runs the stock stand-in for nginx, as `local up` does.

Every twin has its own name (`bench-<random>`) and is removed with `local down` in a
`finally`, so also on a failure or Ctrl-C; after each `local down` the namespaces, the
state folder and every process the twin had (recorded while it ran: the processes in
its namespaces and those whose command line carries its prefix) are checked to be gone.

Root only (network namespaces, nftables); run.py says loudly when it cannot run this.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

REPO = Path(__file__).resolve().parent.parent
FARGATE_API = REPO / ".venv" / "bin" / "fargate-api"
STATE_ROOT = Path("/run/fargate-api")
NETNS_DIR = Path("/run/netns")

UP_COUNTS = (2, 50)  # item 3
LB_COUNTS = (1, 2, 4)  # item 4, throughput
CONTAINER_PORT = 80  # the default config's (nginx)
POLL_INTERVAL = 0.05
UP_TIMEOUT = 300.0
AFTER_UP_GRACE = 30.0  # how long to keep polling for a 200 once `local up` returned
DOWN_TIMEOUT = 180.0
CLI_TIMEOUT = 60.0
TIMES = "\N{MULTIPLICATION SIGN}"

THROUGH_LB = "through the LB"
DIRECT = "direct to a task"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- settings and results ------------------------------------------------------------------


@dataclass(frozen=True)
class TwinSettings:
    time_scale: float = 0.1
    reps: int = 3  # `local up`/`down` per task count (item 3), wrk runs per path (item 4)
    wrk_threads: int = 2
    wrk_connections: int = 16
    wrk_seconds: int = 10
    warmup_seconds: int = 2

    def wrk_args(self, seconds: int | None = None, connections: int | None = None) -> list[str]:
        duration = self.wrk_seconds if seconds is None else seconds
        conns = self.wrk_connections if connections is None else connections
        return [
            "wrk",
            f"-t{min(self.wrk_threads, conns)}",
            f"-c{conns}",
            f"-d{duration}s",
            "--latency",
        ]


@dataclass(kw_only=True)
class UpDown:
    """One `local up` to the first 200 and `local down` (item 3, and item 6's runs)."""

    round_no: int
    name: str
    first_200: float | None = None
    up_returned: float | None = None
    up_exit: int | None = None
    healthy_at_return: int | None = None
    down: float | None = None
    down_exit: int | None = None
    down_message: str = ""
    leftovers: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(kw_only=True)
class UpRun(UpDown):
    """One `local up` + `local down` of item 3."""

    desired: int


@dataclass
class WrkRun:
    """One wrk run of item 4 (a warm-up is not kept)."""

    desired: int
    path: str
    connections: int
    round_no: int
    p50: float | None = None  # milliseconds
    p75: float | None = None
    p90: float | None = None
    p99: float | None = None
    rps: float | None = None
    requests: int | None = None
    errors: str = ""
    error: str | None = None


@dataclass
class LbTwin:
    """One twin of item 4 and how its `local up`/`down` went."""

    desired: int
    name: str
    up: float | None = None
    down: float | None = None
    leftovers: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(kw_only=True)
class PartResults:
    """What a twin part (items 3 and 4, item 6) records besides its numbers."""

    skipped: str | None = None  # why the part did not run at all
    started: float = 0.0  # epoch seconds
    seconds: float = 0.0
    final_leftovers: list[str] = field(default_factory=list)
    interrupted: bool = False


@dataclass
class TwinResults(PartResults):
    settings: TwinSettings
    wrk_skipped: str | None = None  # why item 4 did not run
    up_runs: list[UpRun] = field(default_factory=list)
    wrk_runs: list[WrkRun] = field(default_factory=list)
    lb_twins: list[LbTwin] = field(default_factory=list)


# --- preconditions ---------------------------------------------------------------------------


def why_not() -> str | None:
    """None when the twin part can run here; the reason otherwise."""
    if os.geteuid() != 0:
        return (
            f"it needs root (network namespaces, nftables, HAProxy bound in them) and this "
            f"process runs as uid {os.geteuid()}; rerun `make bench` as root"
        )
    missing = [tool for tool in ("ip", "nft", "haproxy") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not on the PATH (`make install` installs them)"
    if not FARGATE_API.exists():
        return f"{FARGATE_API} is missing; run `make install`"
    return None


def why_no_wrk() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (`make bench` installs it as root: `apt-get install -y wrk`)"
    return None


# --- processes and leftovers -----------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    start: str  # field 22 of /proc/PID/stat: tells a reused pid apart
    command: str


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def _alive(proc: Proc) -> bool:
    fields = _stat_fields(proc.pid)
    return fields is not None and fields[0] != "Z" and fields[19] == proc.start


def _netns_inodes(prefix: str) -> set[int]:
    inodes = set()
    for path in NETNS_DIR.glob(f"{prefix}*"):
        with contextlib.suppress(OSError):
            inodes.add(path.stat().st_ino)
    return inodes


def twin_processes(prefix: str) -> list[Proc]:
    """Processes in the twin's namespaces, or whose command line carries its prefix."""
    inodes = _netns_inodes(prefix)
    found = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            net = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            continue
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        match = re.fullmatch(r"net:\[(\d+)\]", net)
        in_twin = match is not None and int(match.group(1)) in inodes
        fields = _stat_fields(pid)
        if (in_twin or prefix in command) and fields is not None and fields[0] != "Z":
            found.append(Proc(pid, fields[19], command[:100]))
    return found


def _root_links(name: str) -> list[str]:
    tag = "fa" + hashlib.sha1(name.encode()).hexdigest()[:4]
    result = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False, timeout=30
    )
    links = []
    for line in result.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2 and parts[1].strip().split("@")[0].startswith(tag):
            links.append(parts[1].strip())
    return links


def leftovers(name: str, seen: list[Proc]) -> list[str]:
    """What a twin left behind: namespaces, state, links, and processes it had."""
    prefix = f"fa-{name}-"
    items = [f"netns {path.name}" for path in sorted(NETNS_DIR.glob(f"{prefix}*"))]
    state = STATE_ROOT / f"{prefix}twin"
    if state.exists():
        items.append(f"state folder {state}")
    items += [f"link {link} (root namespace)" for link in _root_links(name)]
    alive = [proc for proc in seen if _alive(proc)]
    known = {proc.pid for proc in alive}
    alive += [proc for proc in twin_processes(prefix) if proc.pid not in known]
    items += [f"process {proc.pid}: {proc.command}" for proc in alive]
    return items


def bench_leftovers() -> list[str]:
    """Anything of any `bench-` twin (ours) still on the machine."""
    items = [f"netns {path.name}" for path in sorted(NETNS_DIR.glob("fa-bench-*"))]
    if STATE_ROOT.is_dir():
        items += [f"state folder {p}" for p in sorted(STATE_ROOT.glob("fa-bench-*"))]
    items += [f"process {p.pid}: {p.command}" for p in twin_processes("fa-bench-")]
    return items


# --- the CLI ---------------------------------------------------------------------------------


def new_name() -> str:
    return f"bench-{secrets.token_hex(3)}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, desired: int) -> Path:
    path = folder / f"fargate-api-{desired}-tasks.toml"
    path.write_text(f"[service]\ndesired_count = {desired}\n", encoding="utf-8")
    return path


def tail(text: str, lines: int = 4) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no output)"


def up_command(
    name: str,
    config: Path,
    time_scale: float,
    *,
    runtime: str = "process",
    port: int | None = None,
) -> list[str]:
    argv = [str(FARGATE_API), "local", "up", "-c", str(config), "--name", name]
    # Process mode for items 3 and 4: they time the twin's own parts with the Python
    # stand-in; section 6 (container_twin.py) times podman containers against it.
    argv += ["--runtime", runtime, "--time-scale", str(time_scale), "--json"]
    if port is not None:
        argv += ["--port", str(port)]
    return argv


def spawn_up(argv: list[str]) -> subprocess.Popen[str]:
    """`local up` started, its output (the --json status, the errors) piped."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_up(process: subprocess.Popen[str]) -> None:
    """An interrupted `local up`: SIGINT makes it remove what it built; kill if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=DOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def local_down(name: str) -> tuple[float, int, str]:
    """`local down`: (seconds, exit code, its last line)."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(FARGATE_API), "local", "down", "--name", name],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DOWN_TIMEOUT,
        check=False,
    )
    seconds = time.perf_counter() - start
    return seconds, result.returncode, tail(result.stderr + result.stdout, 1)


def remove_twin(
    name: str, process: subprocess.Popen[str] | None, seen: list[Proc]
) -> tuple[float, int, str, list[str]]:
    """The end of every twin measured: `local up` stopped if it still runs, `local down`,
    then what the twin left behind (its processes as recorded while it ran, else now).

    Returns `local down`'s seconds, exit code and last line, and the leftovers.
    """
    if process is not None:
        stop_up(process)
    if not seen:
        seen = twin_processes(f"fa-{name}-")
    seconds, code, message = local_down(name)
    return seconds, code, message, leftovers(name, seen)


def parse_status(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout)
    if not isinstance(data, dict):
        raise ValueError("`local up --json` printed no JSON object")
    return data


def healthy(status: dict[str, Any]) -> int:
    return sum(task.get("health") == "healthy" for task in status.get("tasks") or [])


class FirstOk(threading.Thread):
    """Polls GET / on 127.0.0.1:port until a 200; `at` is then seconds since `start`."""

    def __init__(self, port: int, start: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.start_time = start
        self.at: float | None = None
        self.attempts = 0
        self.last = "no attempt yet"
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.attempts += 1
            status: int | None = None
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2.0)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                response.read()
                status = response.status
                self.last = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as error:
                self.last = f"{type(error).__name__}: {error}"
            finally:
                connection.close()
            if status == 200:
                self.at = time.perf_counter() - self.start_time
                self.done.set()
                return
            self.done.wait(POLL_INTERVAL)


# --- item 3 ----------------------------------------------------------------------------------


class Watch(Protocol):
    """What follows a twin besides the poller in `up_to_first_200` (item 6's tracer)."""

    def start(self, start: float, start_epoch: float) -> None:
        """`local up` was spawned at `start` (perf_counter), `start_epoch` (time.time)."""

    def finish(self) -> None:
        """`local up` returned and the first 200 came (or the grace ran out)."""

    def stop(self) -> None:
        """Always, in the `finally`, before the twin is removed."""

    def leftovers(self) -> list[str]:
        """What the twin left besides what `leftovers` finds, after `local down`."""


def up_to_first_200(
    run: UpDown,
    config: Path,
    time_scale: float,
    *,
    runtime: str = "process",
    up_timeout: float = UP_TIMEOUT,
    watch: Watch | None = None,
) -> None:
    """`local up` with the URL polled from the start, then `local down`; fills `run`."""
    port = free_port()
    prefix = f"fa-{run.name}-"
    seen: list[Proc] = []
    process: subprocess.Popen[str] | None = None
    poller: FirstOk | None = None
    try:
        start_epoch = time.time()
        start = time.perf_counter()
        process = spawn_up(up_command(run.name, config, time_scale, runtime=runtime, port=port))
        poller = FirstOk(port, start)
        poller.start()
        if watch is not None:
            watch.start(start, start_epoch)
        stdout, stderr = process.communicate(timeout=up_timeout)
        run.up_returned = time.perf_counter() - start
        run.up_exit = process.returncode
        if process.returncode != 0:
            run.error = f"`local up` exited {process.returncode}: {tail(stderr)}"
            return
        status = parse_status(stdout)
        run.healthy_at_return = healthy(status)
        if status.get("url") != f"http://127.0.0.1:{port}":
            run.error = f"`local up` printed the URL {status.get('url')}, not port {port}"
            return
        seen = twin_processes(prefix)
        poller.done.wait(AFTER_UP_GRACE)
        run.first_200 = poller.at
        if poller.at is None:
            run.error = (
                f"no HTTP 200 within {AFTER_UP_GRACE:.0f} s of `local up` returning "
                f"({poller.attempts} tries; last: {poller.last})"
            )
        if watch is not None:
            watch.finish()
    except subprocess.TimeoutExpired:
        run.error = f"`local up` did not return within {up_timeout:.0f} s"
    except ValueError as error:  # JSON
        run.error = f"cannot read `local up --json`: {error}"
    finally:
        if poller is not None:
            poller.done.set()
        if watch is not None:
            watch.stop()
        run.down, run.down_exit, run.down_message, run.leftovers = remove_twin(
            run.name, process, seen
        )
        if watch is not None:
            run.leftovers += watch.leftovers()
        if run.down_exit != 0 and run.error is None:
            run.error = f"`local down` exited {run.down_exit}: {run.down_message}"


T = TypeVar("T")


def rotated(items: Sequence[T], round_no: int) -> list[T]:
    """Round r's order: the items rotated by r - 1, so that each comes first in turn."""
    shift = (round_no - 1) % len(items)
    return [*items[shift:], *items[:shift]]


def up_log(label: str, run: UpDown, more: str = "") -> str:
    """One run's progress line."""
    return (
        f"  {label} ({run.name}): first 200 {fmt_s(run.first_200)} s, "
        f"up returned {fmt_s(run.up_returned)} s, down {fmt_s(run.down)} s"
        + more
        + (f"; ERROR {run.error}" if run.error else "")
        + (f"; LEFT BEHIND: {', '.join(run.leftovers)}" if run.leftovers else "")
    )


def item3(settings: TwinSettings, work: Path, results: TwinResults) -> None:
    configs = {n: write_config(work, n) for n in UP_COUNTS}
    for round_no in range(1, settings.reps + 1):
        log(f"item 3, round {round_no}/{settings.reps}: local up -> first 200, then down")
        for desired in rotated(UP_COUNTS, round_no):
            run = UpRun(round_no=round_no, desired=desired, name=new_name())
            results.up_runs.append(run)
            up_to_first_200(run, configs[desired], settings.time_scale)
            log(up_log(f"{desired:>2} tasks", run))


# --- item 4 ----------------------------------------------------------------------------------

_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str, run: WrkRun) -> None:
    for percent, value, unit in _PERCENTILE.findall(output):
        setattr(run, f"p{percent}", float(value) * _UNIT_MS[unit])
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    run.rps = float(rps.group(1)) if rps else None
    total = re.search(r"(\d+) requests in", output)
    run.requests = int(total.group(1)) if total else None
    problems = re.findall(r"(Socket errors:.*|Non-2xx or 3xx responses:.*)", output)
    run.errors = "; ".join(p.strip() for p in problems)
    if run.p50 is None or run.p99 is None or run.rps is None:
        run.error = f"cannot read wrk's output: {tail(output)}"


def run_wrk(argv: list[str], timeout: float) -> str:
    result = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"exit {result.returncode}: {tail(result.stderr + result.stdout)}")
    return result.stdout


@contextlib.contextmanager
def running_twin(twin: LbTwin, config: Path, settings: TwinSettings) -> Iterator[dict[str, Any]]:
    """A twin that is up (its status), removed with `local down` whatever happens."""
    seen: list[Proc] = []
    process: subprocess.Popen[str] | None = None
    try:
        start = time.perf_counter()
        process = spawn_up(up_command(twin.name, config, settings.time_scale))
        stdout, stderr = process.communicate(timeout=UP_TIMEOUT)
        twin.up = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(f"`local up` exited {process.returncode}: {tail(stderr)}")
        status = parse_status(stdout)
        seen = twin_processes(f"fa-{twin.name}-")
        yield status
    finally:
        twin.down, code, message, twin.leftovers = remove_twin(twin.name, process, seen)
        if code != 0 and twin.error is None:
            twin.error = f"`local down` exited {code}: {message}"


def lb_twin(twin: LbTwin, config: Path, settings: TwinSettings, results: TwinResults) -> None:
    log(f"item 4: {twin.desired}-task twin ({twin.name})")
    try:
        with running_twin(twin, config, settings) as status:
            public_ips = (status.get("load_balancer") or {}).get("public_ips") or []
            tasks = status.get("tasks") or []
            if not public_ips or not tasks:
                raise RuntimeError(f"no ALB public IP or no task in the status: {status}")
            lb_node = f"fa-{twin.name}-lb0n0"
            if not (NETNS_DIR / lb_node).exists():
                raise RuntimeError(f"namespace {lb_node} does not exist")
            through_lb = [str(FARGATE_API), "local", "exec", "--name", twin.name, "--internet"]
            paths: dict[str, Callable[[list[str]], list[str]]] = {
                THROUGH_LB: lambda wrk: [*through_lb, "--", *wrk, f"http://{public_ips[0]}/"],
            }
            if twin.desired == 1:
                task_url = f"http://{tasks[0]['private_ip']}:{CONTAINER_PORT}/"
                paths[DIRECT] = lambda wrk: ["ip", "netns", "exec", lb_node, *wrk, task_url]
            for argv in paths.values():  # warm-up, not kept
                run_wrk(argv(settings.wrk_args(settings.warmup_seconds)), CLI_TIMEOUT)
            keys = [(path, settings.wrk_connections) for path in paths]
            if twin.desired == 1:  # the LB hop: also unloaded, one connection
                keys += [(path, 1) for path in paths]
            for round_no in range(1, settings.reps + 1):
                for path, conns in rotated(keys, round_no):
                    run = WrkRun(twin.desired, path, conns, round_no)
                    results.wrk_runs.append(run)
                    try:
                        wrk = settings.wrk_args(connections=conns)
                        output = run_wrk(paths[path](wrk), settings.wrk_seconds + CLI_TIMEOUT)
                        parse_wrk(output, run)
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        run.error = str(error)
                    log(
                        f"  {path:<16} -c{conns:<3} round {round_no}: p50 {fmt_ms(run.p50)} ms, "
                        f"p99 {fmt_ms(run.p99)} ms, {fmt_rps(run.rps)} req/s"
                        + (f" [{run.errors}]" if run.errors else "")
                        + (f"; ERROR {run.error}" if run.error else "")
                    )
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        twin.error = str(error)
        log(f"  ERROR {error}")
    log(
        f"  up {fmt_s(twin.up)} s, down {fmt_s(twin.down)} s"
        + (f"; LEFT BEHIND: {', '.join(twin.leftovers)}" if twin.leftovers else "")
    )


def item4(settings: TwinSettings, work: Path, results: TwinResults) -> None:
    for desired in LB_COUNTS:
        twin = LbTwin(desired=desired, name=new_name())
        results.lb_twins.append(twin)
        lb_twin(twin, write_config(work, desired), settings, results)


# --- running it --------------------------------------------------------------------------------


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def guarded(
    results: PartResults, bench_leftovers: Callable[[], list[str]], *, by: str, clean: str
) -> Iterator[None]:
    """A twin part, timed: SIGTERM interrupts it as Ctrl-C does (the twin being measured
    is removed by its `finally`, then the interrupt goes on), and what `bench-` twins left
    that was not there before is recorded and logged ("LEFT BEHIND by {by}", else
    `clean`)."""
    before = bench_leftovers()
    if before:
        log("note: left over from an earlier run (not this one's): " + ", ".join(before))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    results.started = time.time()
    start = time.perf_counter()
    try:
        yield
    except KeyboardInterrupt:
        results.interrupted = True
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        results.seconds = time.perf_counter() - start
        after = bench_leftovers()
        results.final_leftovers = [item for item in after if item not in before]
        if results.final_leftovers:
            log(f"LEFT BEHIND by {by}: " + ", ".join(results.final_leftovers))
        else:
            log(clean)


def run_twin_benchmarks(settings: TwinSettings, work: Path) -> TwinResults:
    """Items 3 and 4; a Ctrl-C (or SIGTERM) removes the twin being measured, then re-raises."""
    results = TwinResults(settings=settings)
    reason = why_not()
    if reason is not None:
        results.skipped = reason
        return results
    results.wrk_skipped = why_no_wrk()
    with guarded(
        results,
        bench_leftovers,
        by="the twin benchmarks",
        clean="twin benchmarks: nothing left behind (namespaces, state, processes)",
    ):
        item3(settings, work, results)
        if results.wrk_skipped is None:
            item4(settings, work, results)
    return results


# --- the report ----------------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def fmt_rps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def fmt_n(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def spread(values: list[float | None], fmt: Callable[[float | None], str]) -> str:
    kept = [v for v in values if v is not None]
    return f"{fmt(min(kept))} / {fmt(max(kept))}" if kept else "n/a"


def ratio(slow: float | None, fast: float | None) -> str:
    if slow is None or fast is None or fast <= 0:
        return "n/a"
    return f"{slow / fast:.2f}{TIMES}"


def difference(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a - b:+.2f}"


def _defaults() -> list[tuple[str, float]]:
    """The default config's timers that --time-scale divides (name, seconds)."""
    try:
        from fargate_api.config.model import ServiceConfig  # noqa: PLC0415

        service = ServiceConfig()
    except Exception:  # the report must not fail on this
        return []
    return [
        ("health check interval", service.health_check_interval),
        ("health check timeout", service.health_check_timeout),
        ("health check grace period", service.health_check_grace_period),
        ("deregistration delay", service.deregistration_delay),
        ("stop timeout", service.stop_timeout),
    ]


def private_subnets() -> str:
    """The default config's private subnets, which must hold 50 tasks."""
    try:
        from fargate_api.config.model import NetworkConfig  # noqa: PLC0415

        return ", ".join(str(net) for net in NetworkConfig().subnet_plan().private)
    except Exception:  # the report must not fail on this
        return "n/a"


def _not_run(results: TwinResults, what: str) -> list[str]:
    reason = results.skipped or ""
    if reason.startswith("skipped"):
        return [f"**Not measured in this run**: {reason}. {what}"]
    return [f"**NOT RUN: {reason}.** {what}"]


def section3(results: TwinResults) -> list[str]:
    out = ["## 3. Local twin: `local up` to the first 200 through the LB (2 and 50 tasks)", ""]
    if results.skipped:
        return [*out, *_not_run(results, "No numbers for item 3."), ""]
    s = results.settings
    cores = os.cpu_count() or 0
    scaled = ", ".join(
        f"{label} {seconds:g} s → {seconds * s.time_scale:g} s" for label, seconds in _defaults()
    )
    out += [
        f"- time scale: **`--time-scale {s.time_scale:g}`** (the twin's own knob; it divides "
        f"the health check, grace, drain and stop timers): {scaled or 'n/a'}.",
        f"- machine: {cores} logical cores (see Machine above), shared by the twin's daemon, "
        "HAProxy, every task's stand-in server and the poller.",
        f"- {s.reps} `local up` + `local down` per task count, interleaved (round r starts "
        "with a different count); each twin has its own name (`bench-<random>`) and the "
        "default config with only `[service] desired_count` set (nginx image, run by the "
        f"twin's built-in stand-in, a Python server; private subnets {private_subnets()}).",
        "- **first 200**: from just before `local up` is spawned until a `GET /` on the "
        "twin's URL (`http://127.0.0.1:PORT`, the port passed with `--port` so polling can "
        "start at once; polled every 50 ms) returns 200. **`local up` returned**: when the "
        "command exits, i.e. when the target group has desired_count healthy targets. "
        "Both include the CLI's start-up and the synthesis of the config.",
        "- **`local down`**: the whole command, timed separately after each run.",
        "",
        "| tasks | runs | first 200 median (s) | min / max | `local up` returned median (s) "
        "| min / max | `local down` median (s) | min / max | failed runs |",
        "|---:|---:|---:|---|---:|---|---:|---|---:|",
    ]
    med: dict[int, tuple[float | None, float | None, float | None]] = {}
    for desired in UP_COUNTS:
        runs = [r for r in results.up_runs if r.desired == desired]
        firsts = [r.first_200 for r in runs]
        ups = [r.up_returned for r in runs]
        downs = [r.down for r in runs]
        med[desired] = (median(firsts), median(ups), median(downs))
        failed = failed_runs(runs)
        out.append(
            f"| {desired} | {len(runs)} | {fmt_s(med[desired][0])} | {spread(firsts, fmt_s)} "
            f"| {fmt_s(med[desired][1])} | {spread(ups, fmt_s)} | {fmt_s(med[desired][2])} "
            f"| {spread(downs, fmt_s)} | {failed} |"
        )
    small, large = UP_COUNTS
    out += [
        "",
        f"- {large} vs {small} tasks (medians): first 200 **{ratio(med[large][0], med[small][0])}**"
        f", `local up` returned **{ratio(med[large][1], med[small][1])}**, `local down` "
        f"**{ratio(med[large][2], med[small][2])}**.",
    ]
    swept = [r for r in results.up_runs if _removed_items(r.down_message) > 2]
    if swept:
        counts = sorted({r.desired for r in swept})
        out.append(
            f"- In {len(swept)} of {len(results.up_runs)} runs ({', '.join(map(str, counts))} "
            "tasks) `local down` reported more than 2 items removed (raw numbers below): the "
            "twin's daemon had not finished its own teardown within `local down`'s stop budget "
            f"(the containers' stop timeout {TIMES} the time scale + 15 s) and was killed, and "
            "the sweep by name removed the namespaces it left. "
            + (
                "Something was left behind: see the last column below."
                if any(r.leftovers for r in swept)
                else "Nothing was left behind either way."
            )
        )
    return [*out, ""]


def failed_runs(runs: Iterable[UpDown]) -> int:
    """Runs with an error or that left something behind."""
    return sum(r.error is not None or bool(r.leftovers) for r in runs)


def _removed_items(message: str) -> int:
    """`removed twin 'x' (N items)` -> N: 2 (daemon, state) when the daemon cleaned up."""
    found = re.search(r"\((\d+) items?\)", message)
    return int(found.group(1)) if found else 0


def _wrk_rows(runs: list[WrkRun]) -> tuple[float | None, float | None, float | None]:
    return (
        median([r.p50 for r in runs]),
        median([r.p99 for r in runs]),
        median([r.rps for r in runs]),
    )


def section4(results: TwinResults) -> list[str]:
    out = [
        "## 4. Local twin: LB hop latency (p50/p99, HAProxy vs direct) and throughput"
        " (1, 2, 4 tasks)",
        "",
    ]
    if results.skipped:
        return [*out, *_not_run(results, "No numbers for item 4."), ""]
    if results.wrk_skipped:
        return [*out, f"**NOT RUN: {results.wrk_skipped}.** No numbers for item 4.", ""]
    s = results.settings
    wrk = " ".join(s.wrk_args())
    out += [
        f"- every run: `{wrk} URL` (wrk {s.wrk_threads} threads, {s.wrk_connections} "
        f"keep-alive connections, {s.wrk_seconds} s: the machine saturated, so latency is "
        f"mostly queueing), {s.reps} runs per path, the paths alternating; one "
        f"{s.warmup_seconds} s warm-up per path first, not kept. On the 1-task twin both "
        f"paths are also measured unloaded, `{' '.join(s.wrk_args(connections=1))} URL` "
        f"(one connection: the hop's own latency). Same time scale as item 3 "
        f"({s.time_scale:g}).",
        f"- **{THROUGH_LB}**: wrk on the twin's internet host (`local exec --name NAME "
        "--internet -- wrk ... http://<ALB public IP>/`): internet host → internet gateway "
        "→ LB node → HAProxy → VPC router → task.",
        f"- **{DIRECT}**: wrk in the load balancer node's namespace (`ip netns exec "
        "fa-NAME-lb0n0 wrk ... http://<task private IP>/`), the closest place that may reach "
        "a task (the internet host cannot, by design): LB node → VPC router → task.",
        "- **The stand-in server is a Python threaded server** (`http.server`, one thread per "
        "connection), so the absolute numbers measure it, and wrk, HAProxy and the server "
        f"sharing {os.cpu_count() or 0} cores, far more than HAProxy; the ratios are what "
        "matter.",
        "- Every twin runs the stand-in as `local up` does for the nginx image, unchanged. "
        "It sends a response's headers and body in two writes with Nagle's algorithm off "
        "(TCP_NODELAY, as nginx's default `tcp_nodelay on`), so on a kept-alive connection "
        "the body does not wait for the client's delayed ACK.",
        "",
        "### LB hop latency, 1 task",
        "",
        "| connections | path | runs | p50 median (ms) | p50 min / max "
        "| p99 median (ms) | p99 min / max | req/s median |",
        "|---:|---|---:|---:|---|---:|---|---:|",
    ]
    notes: list[str] = []
    for conns in (s.wrk_connections, 1):
        meds: dict[str, tuple[float | None, float | None, float | None]] = {}
        for path in (THROUGH_LB, DIRECT):
            runs = [
                r
                for r in results.wrk_runs
                if r.desired == 1 and r.path == path and r.connections == conns
            ]
            meds[path] = _wrk_rows(runs)
            out.append(
                f"| {conns} | {path} | {len(runs)} | {fmt_ms(meds[path][0])} "
                f"| {spread([r.p50 for r in runs], fmt_ms)} | {fmt_ms(meds[path][1])} "
                f"| {spread([r.p99 for r in runs], fmt_ms)} | {fmt_rps(meds[path][2])} |"
            )
        lb, direct = meds[THROUGH_LB], meds[DIRECT]
        added = (
            f"{difference(lb[0], direct[0])} ms at p50, {difference(lb[1], direct[1])} ms at p99"
        )
        notes.append(
            f"- {conns} connection{'s' if conns != 1 else ''}: through the LB / "
            f"direct = **{ratio(lb[0], direct[0])}** at p50, **{ratio(lb[1], direct[1])}** "
            f"at p99 ({added}); requests/s through the LB / direct = {ratio(lb[2], direct[2])}."
        )
    out += ["", *notes, "", "### Throughput through the LB", ""]
    out += [
        "| tasks | runs | req/s median | req/s min / max | p50 median (ms) | p99 median (ms) "
        "| vs 1 task |",
        "|---:|---:|---:|---|---:|---:|---:|",
    ]
    base: float | None = None
    for desired in LB_COUNTS:
        runs = [
            r
            for r in results.wrk_runs
            if r.desired == desired and r.path == THROUGH_LB and r.connections == s.wrk_connections
        ]
        p50, p99, rps = _wrk_rows(runs)
        if desired == 1:
            base = rps
        out.append(
            f"| {desired} | {len(runs)} | {fmt_rps(rps)} | {spread([r.rps for r in runs], fmt_rps)}"
            f" | {fmt_ms(p50)} | {fmt_ms(p99)} | {ratio(rps, base)} |"
        )
    out += [
        "",
        f"On this machine more tasks add Python processes competing for the same "
        f"{os.cpu_count() or 0} cores as wrk and HAProxy, so throughput cannot grow with the "
        "task count as it would on AWS, where each task has its own vCPU.",
        "",
    ]
    return out


def raw_sections(results: TwinResults) -> list[str]:
    if results.skipped:
        return []
    out = [
        "## Raw numbers: local twin",
        "",
        f"Twin part: {results.seconds:.0f} s in all. After every `local down` the twin's "
        "namespaces, state folder, root-namespace links and processes (recorded while it ran) "
        "were checked; the last column lists anything found.",
        "",
        "### Item 3, in the order they ran",
        "",
        "| # | round | tasks | twin | first 200 (s) | `local up` returned (s) | healthy when up "
        "returned | `local down` (s) | `local down` said | left behind / error |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for index, r in enumerate(results.up_runs, start=1):
        out.append(
            f"| {index} | {r.round_no} | {r.desired} | {r.name} | {fmt_s(r.first_200)} "
            f"| {fmt_s(r.up_returned)} | {fmt_n(r.healthy_at_return)} "
            f"| {fmt_s(r.down)} | {cell(r.down_message)} | {cell(problems(r.leftovers, r.error))} |"
        )
    if results.wrk_skipped is None and results.lb_twins:
        out += [
            "",
            "### Item 4: the twins",
            "",
            "| tasks | twin | `local up` (s) | `local down` (s) | left behind / error |",
            "|---:|---|---:|---:|---|",
        ]
        for t in results.lb_twins:
            out.append(
                f"| {t.desired} | {t.name} | {fmt_s(t.up)} | {fmt_s(t.down)} "
                f"| {cell(problems(t.leftovers, t.error))} |"
            )
        out += [
            "",
            "### Item 4: wrk runs, in the order they ran",
            "",
            "| # | tasks | path | connections | round | p50 (ms) | p75 (ms) | p90 (ms) "
            "| p99 (ms) | req/s | requests | wrk errors |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for index, w in enumerate(results.wrk_runs, start=1):
            errors = w.error or w.errors or "none"
            out.append(
                f"| {index} | {w.desired} | {w.path} | {w.connections} | {w.round_no} "
                f"| {fmt_ms(w.p50)} | {fmt_ms(w.p75)} | {fmt_ms(w.p90)} | {fmt_ms(w.p99)} "
                f"| {fmt_rps(w.rps)} | {fmt_n(w.requests)} "
                f"| {cell(errors)} |"
            )
    out += [
        "",
        left_behind(
            "the twin part", "namespaces, state folders or processes", results.final_leftovers
        ),
        "",
    ]
    return out


def left_behind(by: str, kinds: str, items: list[str]) -> str:
    """A raw section's last line: what a part's `bench-` twins left on the machine."""
    return (
        f"Left behind by {by} as a whole ({kinds} of `bench-` twins that were not there "
        "before it): " + (", ".join(items) if items else "nothing") + "."
    )


def problems(leftovers: list[str], error: str | None) -> str:
    """The last column of a raw table: what a twin left behind, its error, or "nothing"."""
    return "; ".join([*leftovers, *([error] if error else [])]) or "nothing"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
