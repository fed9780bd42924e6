"""`local fault ...` on a running twin of the default config (two AZs, a NAT gateway per
AZ), measured from the outside as a user would: requests from the twin's internet host
through the load balancer's public addresses, egress from the tasks' namespaces, the
nftables of every namespace of the twin.

The tests share one twin and run in file order; the last brings it down with faults in
force, and the fixture checks that nothing with the twin's prefix is left.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_api.twin.fis.cpu_stress import task_cpu_dir, task_cpus
from fargate_api.twin.host.cgroups import TaskCgroups
from fargate_api.twin.host.processes import pids_with_argument_prefix
from twin.conftest import cleanup
from twin.twin_support import (
    RunningTwin,
    cli,
    cpu_seconds,
    default_config_twin,
    in_netns,
    wait_for,
)

TIME_SCALE = 0.1
REPLACED_WITHIN = 60.0


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    with default_config_twin(tmp_path_factory, TIME_SCALE) as running:
        yield running


def _fault(twin: RunningTwin, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cli("local", "fault", *args, "--name", twin.name, check=check)


def _inject(twin: RunningTwin, *args: str) -> dict[str, Any]:
    """The ActiveFault the daemon answered with."""
    data: dict[str, Any] = json.loads(_fault(twin, *args, "--json").stdout)
    return data


def _active(twin: RunningTwin) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(
        cli("local", "fault", "--list", "--json", "--name", twin.name).stdout
    )
    return data


def _settled(twin: RunningTwin) -> dict[str, Any] | None:
    """The status once the service runs its desired count, all healthy."""
    status = twin.status()
    tasks = status["tasks_detail"]
    running = [t for t in tasks if t["last_status"] == "RUNNING" and t["health"] == "healthy"]
    wanted = status["service"]["desired"]
    return status if len(running) == wanted == len(tasks) else None


def _fis_tables(twin: RunningTwin) -> list[str]:
    """Every nftables table named like a fault's, in every namespace of the twin."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    found = []
    for line in listing.stdout.splitlines():
        netns = line.split()[0] if line.strip() else ""
        if not netns.startswith(twin.prefix):
            continue
        tables = in_netns(netns, "nft", "list", "tables").stdout
        found += [f"{netns}: {t}" for t in tables.splitlines() if "fis-" in t]
    return found


def _fis_processes(twin: RunningTwin) -> list[str]:
    """Delay proxies and CPU burners of this twin still running."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(w.startswith(f"{twin.prefix}fis-".encode()) for w in words):
            found.append(b" ".join(words).decode(errors="replace"))
    return found


def _latencies(twin: RunningTwin, url: str, count: int = 15) -> list[float]:
    """Seconds per GET from the internet host, of requests answered 200."""
    times = []
    for _ in range(count):
        proc = in_netns(
            twin.internet, "curl", "-s", "-o", "/dev/null", "-m", "10",
            "-w", "%{http_code} %{time_total}", url,
        )  # fmt: skip
        code, _, seconds = proc.stdout.partition(" ")
        if proc.returncode == 0 and code == "200":
            times.append(float(seconds))
    return times


def _answers(twin: RunningTwin, public_ip: str, count: int = 4) -> int:
    return sum(
        code == 0 and out.rstrip().endswith("200")
        for code, out in (twin.get_from_internet(f"http://{public_ip}/") for _ in range(count))
    )


# ---------------------------------------------------------------- bad input


def test_bad_input_exits_2_with_the_valid_values(twin: RunningTwin) -> None:
    status = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    zones = status["availability_zones"]
    assert len(zones) == 2
    unknown_az = _fault(twin, "az-outage", "mars-1a", "--duration", "10", check=False)
    assert unknown_az.returncode == 2
    assert "mars-1a" in unknown_az.stderr and ", ".join(zones) in unknown_az.stderr
    unknown_task = _fault(
        twin, "network-latency", "ffffffff", "--ms", "10", "--duration", "5", check=False
    )
    assert unknown_task.returncode == 2
    for task in status["tasks"]:
        assert task["id"] in unknown_task.stderr
    no_time = _fault(twin, "az-outage", zones[0], "--duration", "0", check=False)
    assert no_time.returncode == 2 and "1-43200 seconds" in no_time.stderr
    cpu = _fault(
        twin, "cpu-stress", status["tasks"][0]["id"], "--percent", "50", "--duration", "5",
        check=False,
    )  # fmt: skip
    assert cpu.returncode == 2 and "cpu-stress needs the container runtime" in cpu.stderr
    nobody = cli("local", "fault", "task-kill", "--name", f"{twin.name}-none", check=False)
    assert nobody.returncode == 2 and "is running" in nobody.stderr
    assert _active(twin) == []
    assert _settled(twin) is not None  # nothing changed


# ---------------------------------------------------------------- task-kill


def test_task_kill_stops_a_task_and_ecs_replaces_it(twin: RunningTwin) -> None:
    before = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    ids = {t["id"] for t in before["tasks"]}
    fault = _inject(twin, "task-kill")
    assert fault["fis_action"] == "aws:ecs:stop-task"
    assert fault["ends_at"] is None and "ECS replaces" in fault["did"]
    (killed,) = fault["tasks"]
    assert killed in ids
    after = wait_for(
        "a replacement",
        lambda: (s := _settled(twin)) and killed not in {t["id"] for t in s["tasks"]} and s,
        REPLACED_WITHIN,
    )
    now = {t["id"] for t in after["tasks"]}
    assert len(now) == before["service"]["desired"] and now - ids
    stopped = {t["id"]: t["reason"] for t in after["stopped_tasks"]}
    assert "aws:ecs:stop-task" in stopped[killed]
    assert _active(twin) == []  # nothing to heal


# ---------------------------------------------------------------- network-latency


def test_network_latency_shows_through_the_load_balancer_then_heals(twin: RunningTwin) -> None:
    status = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    url = f"http://{status['load_balancer']['public_ips'][0]}/"
    before = statistics.median(_latencies(twin, url))
    ms = 300
    service = status["services"][0]["name"]
    fault = _inject(
        twin, "network-latency", "--service", service, "--ms", str(ms), "--duration", "12"
    )
    assert fault["path"] in ("netem", "user-space proxy")
    assert fault["path"] in fault["did"] and "heals at" in fault["heals"]
    assert {f["id"] for f in _active(twin)} == {fault["id"]}
    during = _latencies(twin, url, count=9)
    assert len(during) >= 7, during
    assert statistics.median(during) >= before + 0.8 * ms / 1000, (before, during)
    wait_for("the latency to heal by itself", lambda: _active(twin) == [], 30.0)
    after = _latencies(twin, url)
    assert statistics.median(after) < before + 0.3 * ms / 1000, (before, after)
    assert _fis_tables(twin) == [] and _fis_processes(twin) == []


# ---------------------------------------------------------------- network-blackhole


def test_a_blackhole_on_the_container_port_takes_the_target_out_then_heals(
    twin: RunningTwin,
) -> None:
    status = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    victim = status["tasks"][0]
    other = status["tasks"][1]
    node = f"{twin.prefix}lb0n0"  # a load balancer node: its security group may reach tasks

    def reachable(task: dict[str, Any]) -> bool:
        return (
            in_netns(
                node, "curl", "-s", "-o", "/dev/null", "-m", "2", f"http://{task['private_ip']}:80/"
            ).returncode
            == 0
        )

    assert reachable(victim) and reachable(other)
    fault = _inject(
        twin, "network-blackhole", victim["id"][:12], "--port", "80", "--traffic", "ingress",
        "--duration", "20",
    )  # fmt: skip
    assert fault["fis_action"] == "aws:ecs:task-network-blackhole-port"
    assert fault["tasks"] == [victim["id"]]
    assert not reachable(victim) and reachable(other)

    def taken_out() -> bool:
        tasks = {t["id"]: t for t in twin.status()["tasks"]}
        return victim["id"] not in tasks or tasks[victim["id"]]["health"] != "healthy"

    wait_for("the load balancer to take the target out", taken_out, 20.0)
    wait_for("the blackhole to heal", lambda: _active(twin) == [], 30.0)
    assert _fis_tables(twin) == []
    wait_for("the service to settle again", lambda: _settled(twin), REPLACED_WITHIN)
    for task in twin.status()["tasks"]:
        assert reachable(task)


# ---------------------------------------------------------------- nat-gateway-loss


def test_a_lost_nat_gateway_cuts_its_azs_egress_only(twin: RunningTwin) -> None:
    status = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    by_az = {t["az"]: t for t in status["tasks"]}
    assert len(by_az) == 2, status["tasks"]
    lost_az, kept_az = sorted(by_az)

    def egress(task: dict[str, Any]) -> str | None:
        proc = in_netns(
            twin.task_netns(task["id"]), "curl", "-s", "-m", "2", status["internet_echo_url"]
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    before = {az: egress(task) for az, task in by_az.items()}
    fault = _inject(twin, "nat-gateway-loss", lost_az, "--duration", "8")
    assert "forwards nothing" in fault["did"]
    assert egress(by_az[lost_az]) is None
    assert egress(by_az[kept_az]) == before[kept_az]
    wait_for("the NAT gateway to heal", lambda: _active(twin) == [], 30.0)
    assert egress(by_az[lost_az]) == before[lost_az]


# ---------------------------------------------------------------- az-outage


def test_an_az_outage_moves_the_service_to_the_other_az_and_clears(twin: RunningTwin) -> None:
    status = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    zones = status["availability_zones"]
    out_az = status["tasks"][0]["az"]
    (kept_az,) = [z for z in zones if z != out_az]
    hit = {t["id"] for t in status["tasks"] if t["az"] == out_az}
    public_ips = status["load_balancer"]["public_ips"]
    assert all(_answers(twin, ip) == 4 for ip in public_ips)
    proc = _fault(twin, "az-outage", out_az, "--duration", "300")
    assert "black-holed subnets" in proc.stdout and f"replacements in {kept_az}" in proc.stdout
    assert "heals at" in proc.stdout and "--clear" in proc.stdout
    (listed,) = _active(twin)
    assert listed["action"] == "az-outage" and listed["az"] == out_az
    assert set(listed["tasks"]) == set()  # an AZ fault, not a task fault
    table = _fault(twin, "--list").stdout
    assert listed["id"] in table and "az-outage" in table
    shown = cli("local", "status", "--name", twin.name).stdout
    assert "faults in force" in shown and listed["id"] in shown

    def moved() -> dict[str, Any] | None:
        now = _settled(twin)
        if now is None or any(t["az"] != kept_az for t in now["tasks"]):
            return None
        return now

    after = wait_for(f"every task in {kept_az}", moved, REPLACED_WITHIN)
    reasons = {t["id"]: t["reason"] for t in after["stopped_tasks"]}
    assert all("lost power" in reasons[task] for task in hit)
    # One load balancer node went down with its AZ; the other keeps serving.
    answering = [ip for ip in public_ips if _answers(twin, ip) == 4]
    assert len(answering) == 1, answering
    cleared = _fault(twin, "--clear").stdout
    assert f"cleared {listed['id']}" in cleared
    assert _active(twin) == [] and _fis_tables(twin) == []
    assert all(_answers(twin, ip) == 4 for ip in public_ips)
    # The AZ takes tasks again: one more task goes where the service has none.
    cli("local", "scale", "3", "--name", twin.name, "--timeout", "120")
    status = twin.status()
    assert out_az in {t["az"] for t in status["tasks"]}


# ---------------------------------------------------------------- leftovers


def test_clear_and_down_with_faults_in_force_leave_nothing(twin: RunningTwin) -> None:
    status = wait_for("a settled service", lambda: _settled(twin), REPLACED_WITHIN)
    task = status["tasks"][0]["id"]
    _inject(twin, "network-latency", task, "--ms", "50", "--duration", "600")
    _inject(twin, "network-blackhole", task, "--port", "9", "--duration", "600")
    assert _fis_tables(twin) != []
    assert len(_active(twin)) == 2
    cleared = json.loads(_fault(twin, "--clear", "--json").stdout)
    assert len(cleared) == 2
    assert _fis_tables(twin) == [] and _fis_processes(twin) == []
    # Down with faults in force: the daemon heals them, and the sweep finds nothing.
    _inject(twin, "network-latency", task, "--ms", "50", "--duration", "600")
    _inject(twin, "az-outage", status["availability_zones"][0], "--duration", "600")
    _inject(twin, "nat-gateway-loss", status["availability_zones"][1], "--duration", "600")
    started = time.monotonic()
    cli("local", "down", "--name", twin.name)
    assert time.monotonic() - started < 120
    assert _fis_processes(twin) == []
    assert cleanup(twin.prefix) == []
    gone = _fault(twin, "--list", check=False)
    assert gone.returncode == 2


# ---------------------------------------------------------------- cpu-stress (containers)


@pytest.mark.twin_container
def test_cpu_stress_burns_in_the_tasks_cgroup_then_stops(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    config = tmp_path / "fargate-api.toml"
    config.write_text("# every value at its default\n")
    cli(
        "local", "up", "-c", str(config), "--name", name, "--runtime", "container",
        "--time-scale", str(TIME_SCALE),
    )  # fmt: skip
    status = json.loads(cli("local", "status", "--name", name, "--json").stdout)
    task = status["tasks"][0]["id"]
    folder = task_cpu_dir(TaskCgroups(prefix.rstrip("-"), task))

    def in_task_cgroup() -> list[int]:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]

    assert in_task_cgroup() == []  # the containers sit in cgroups of their own below it
    fault = json.loads(
        cli(
            "local", "fault", "cpu-stress", task[:10], "--percent", "80", "--duration", "6",
            "--name", name, "--json",
        ).stdout
    )  # fmt: skip
    assert fault["fis_action"] == "aws:ecs:task-cpu-stress"
    burners = wait_for("the burner in the task's cgroup", in_task_cgroup, 5.0)
    before = cpu_seconds(burners)
    time.sleep(2.0)
    burned = cpu_seconds(in_task_cgroup()) - before
    # 80 % of the task's vCPUs (0.25 by default) for 2 s is 0.4 CPU-seconds.
    cpus = task_cpus(TaskCgroups(prefix.rstrip("-"), task))
    assert burned >= 0.5 * 0.8 * cpus * 2.0, (burned, cpus)
    wait_for(
        "the burner to stop when the fault heals",
        lambda: in_task_cgroup() == [] and not pids_with_argument_prefix(f"{prefix}fis-cpu"),
        20.0,
    )
    assert json.loads(cli("local", "fault", "--list", "--json", "--name", name).stdout) == []
