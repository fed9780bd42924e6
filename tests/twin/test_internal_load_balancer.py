"""An internal Application Load Balancer in the twin: the default config's templates with
the ALB turned `Scheme: internal`, its nodes in the private subnets, and its security
group letting in the first private subnet only.

What must hold, as on AWS: a task in the VPC reaches the service through the balancer,
by its `internal-...elb.amazonaws.com` name (the VPC resolver answers its private node
IPs) or by a node's IP; the internet neither resolves the name nor reaches a node, and
this machine gets no forwarder; the balancer's security group drops a task it does not
allow. The daemon's supervisor restores its HAProxy, and an AZ outage takes its node out
of the VPC resolver's answer. Process mode: the point is the network, not the runtime.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from fargate_api.config import parse_config
from fargate_api.synth import synthesize
from fargate_api.synth.render import to_yaml
from fargate_api.twin.naming import STATE_ROOT
from template_edits import add_internal_load_balancer
from twin.conftest import cleanup, registered_prefix
from twin.twin_support import RunningTwin, cli, flaky_run, in_netns, wait_for

TIME_SCALE = 0.1
ALLOWED = IPv4Network("10.0.128.0/18")  # PrivateSubnetOne: the ALB's group lets it in
DENIED = IPv4Network("10.0.192.0/18")  # PrivateSubnetTwo: not in the ALB's group
CURL_TIMED_OUT = 28  # a security group drops, it does not refuse
GETENT_NOT_FOUND = 2


def internal_templates(folder: Path) -> Path:
    """The default config's templates, the ALB made internal in the private subnets,
    its listener port open to PrivateSubnetOne alone."""
    docs = {name: t.to_dict() for name, t in synthesize(parse_config("")).items()}
    resources = docs["service.yml"]["Resources"]
    balancer = resources["PublicLoadBalancer"]["Properties"]
    assert balancer["Scheme"] == "internet-facing", balancer
    balancer["Scheme"] = "internal"
    balancer["Subnets"] = {"Ref": "PrivateSubnetIds"}
    (ingress,) = resources["PublicLoadBalancerSG"]["Properties"]["SecurityGroupIngress"]
    assert ingress["CidrIp"] == "0.0.0.0/0", ingress
    ingress["CidrIp"] = str(ALLOWED)
    ingress["Description"] = f"Listener port 80 from {ALLOWED} only"
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(to_yaml(doc), encoding="utf-8")
    return folder / "parent.yml"


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    work = tmp_path_factory.mktemp(f"{prefix}work")
    fail_dir = work / f"{prefix}fail"
    fail_dir.mkdir()
    parent = internal_templates(work / "templates")
    try:
        up = cli(
            "local", "up", "-t", str(parent), "--name", name, "--runtime", "process",
            "--run", flaky_run(fail_dir), "--time-scale", str(TIME_SCALE),
        )  # fmt: skip
        yield RunningTwin(name, prefix, "internal", up.stdout + up.stderr, fail_dir, TIME_SCALE)
    finally:
        cli("local", "down", "--name", name, check=False)
        left = cleanup(prefix)
        assert not left, f"local down left: {left}"


def _balancer(twin: RunningTwin) -> dict[str, Any]:
    status = twin.status()
    (lb,) = status["load_balancers"]
    return lb


def _task_in(twin: RunningTwin, subnet: IPv4Network) -> dict[str, Any]:
    tasks = [
        t
        for t in twin.status()["tasks_detail"]
        if t["last_status"] == "RUNNING" and IPv4Address(t["private_ip"]) in subnet
    ]
    assert tasks, f"no running task in {subnet}: {twin.status()['tasks_detail']}"
    return tasks[0]


def _get(netns: str, url: str, timeout: int = 3) -> tuple[int, str]:
    """(curl's exit code, the body and status code) of a GET from ``netns``."""
    proc = in_netns(
        netns, "curl", "-s", "--noproxy", "*", "--connect-timeout", str(timeout),
        "-m", str(timeout), "-w", "\\n%{http_code}", url, timeout=timeout + 10,
    )  # fmt: skip
    return proc.returncode, proc.stdout


def _resolve(netns: str, name: str) -> tuple[int, list[str]]:
    proc = in_netns(netns, "getent", "ahostsv4", name)
    return proc.returncode, sorted({line.split()[0] for line in proc.stdout.splitlines()})


def test_status_says_internal_with_private_nodes_and_no_public_url(twin: RunningTwin) -> None:
    status = twin.status()
    lb = _balancer(twin)
    assert lb["internal"] is True and lb["public_ips"] == []
    # A node in each private subnet: one in ALLOWED, one in DENIED.
    assert sorted(IPv4Address(ip) in ALLOWED for ip in lb["private_ips"]) == [False, True]
    assert sorted(IPv4Address(ip) in DENIED for ip in lb["private_ips"]) == [False, True]
    (dns_name,) = lb["dns_names"]
    assert dns_name.startswith("internal-publicloadbalancer-")
    assert dns_name.endswith(".us-east-1.elb.amazonaws.com")
    assert status["load_balancer"] == lb
    assert status["url"] is None and status["ports"] == {}  # no forwarder on 127.0.0.1
    assert not [p for p in status["parts"] if p["kind"] == "forwarder"]
    assert [p["name"] for p in status["parts"] if p["kind"] == "haproxy"] == [
        "haproxy ServiceStack/PublicLoadBalancer"
    ]
    assert not [n for n in status["notices"] if "LoadBalancer" in n["type"]]
    text = cli("local", "status", "--name", twin.name).stdout
    assert "url:        (none: the load balancer is internal" in text
    assert f"internal:   http://{dns_name}/" in text
    assert f"TASK_ID -- curl -s http://{dns_name}/" in twin.up_output


def test_a_task_in_the_vpc_reaches_the_service_by_name_and_by_each_node(
    twin: RunningTwin,
) -> None:
    lb = _balancer(twin)
    (dns_name,) = lb["dns_names"]
    client = twin.task_netns(_task_in(twin, ALLOWED)["id"])
    code, addresses = _resolve(client, dns_name)
    assert code == 0 and addresses == sorted(lb["private_ips"])  # private IPs only
    running = {t["id"] for t in twin.status()["tasks_detail"] if t["last_status"] == "RUNNING"}
    for url in [f"http://{dns_name}/", *(f"http://{ip}/" for ip in lb["private_ips"])]:
        code, out = _get(client, url)
        assert code == 0 and out.endswith("\n200"), (url, code, out)
        assert json.loads(out.rsplit("\n", 1)[0])["task"] in running, out


def test_the_internet_neither_resolves_nor_reaches_the_internal_balancer(
    twin: RunningTwin,
) -> None:
    lb = _balancer(twin)
    (dns_name,) = lb["dns_names"]
    # The internet's resolver works (it answers the echo service), but not this name.
    assert _resolve(twin.internet, "echo.internet.test") == (0, ["203.0.113.20"])
    assert _resolve(twin.internet, dns_name) == (GETENT_NOT_FOUND, [])
    code, out = _get(twin.internet, f"http://{dns_name}/")
    assert code != 0 and not out.endswith("200"), (code, out)
    for ip in lb["private_ips"]:
        code, out = _get(twin.internet, f"http://{ip}/", timeout=2)
        assert code != 0 and not out.endswith("200"), (ip, code, out)
    # The internet gateway translates nothing to the balancer's nodes.
    mapped = in_netns(
        f"{twin.prefix}igw", "nft", "list", "map", "ip", f"{twin.prefix}igw", "private_to_public"
    )
    assert mapped.returncode == 0, mapped.stderr
    assert not [ip for ip in lb["private_ips"] if ip in mapped.stdout], mapped.stdout


def test_the_balancers_security_group_drops_a_task_it_does_not_allow(
    twin: RunningTwin,
) -> None:
    lb = _balancer(twin)
    allowed = twin.task_netns(_task_in(twin, ALLOWED)["id"])
    denied = twin.task_netns(_task_in(twin, DENIED)["id"])
    for ip in lb["private_ips"]:
        code, out = _get(allowed, f"http://{ip}/")
        assert code == 0 and out.endswith("\n200"), (ip, code, out)  # same node, same port
        code, out = _get(denied, f"http://{ip}/", timeout=2)
        assert code == CURL_TIMED_OUT, (ip, code, out)


def _haproxy_pids(netns: str) -> list[int]:
    command = ["ip", "netns", "pids", netns]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    found = []
    for text in out.split():
        try:
            if Path(f"/proc/{text}/comm").read_text().strip() == "haproxy":
                found.append(int(text))
        except OSError:
            continue
    return found


def _haproxy_part(twin: RunningTwin) -> dict[str, Any]:
    part: dict[str, Any] = next(p for p in twin.status()["parts"] if p["kind"] == "haproxy")
    return part


def test_a_crashed_haproxy_of_the_internal_balancer_is_restored(twin: RunningTwin) -> None:
    before = _haproxy_part(twin)["restarts"]
    (pid,) = _haproxy_pids(f"{twin.prefix}lb0n0")
    os.kill(pid, signal.SIGKILL)
    wait_for(
        "haproxy restored",
        lambda: (p := _haproxy_part(twin))["restarts"] == before + 1 and p["health"] == "ok",
        timeout=30,
    )
    (new,) = _haproxy_pids(f"{twin.prefix}lb0n0")
    assert new != pid
    client = twin.task_netns(_task_in(twin, ALLOWED)["id"])
    (dns_name,) = _balancer(twin)["dns_names"]
    code, out = wait_for(
        "the internal ALB serving again",
        lambda: (r := _get(client, f"http://{dns_name}/"))[1].endswith("\n200") and r,
        timeout=20,
    )
    assert code == 0, out


def _outage_report(
    twin: RunningTwin,
    client: str,
    dns_name: str,
    answer: tuple[int, list[str]],
    fault: subprocess.CompletedProcess[str],
) -> str:
    """Why the resolver's answer did not change: what the twin says, what the resolver
    was given, and whether the client reaches its subnet's router and the resolver."""
    status = twin.status()
    parts = [(p["name"], p["health"], p["restarts"], p["reason"]) for p in status["parts"]]
    hosts = {p.name: p.read_text() for p in STATE_ROOT.glob(f"fa-{twin.name}-twin/*.hosts")}
    reach = in_netns(
        client, "sh", "-c",
        "ip -br addr; ip route; getent ahostsv4 echo.internet.test; echo getent=$?; "
        "ping -c1 -W1 $(ip route | awk '/default/ {print $3}') >/dev/null; echo gateway=$?; "
        "nft list ruleset; ip neigh",
    ).stdout  # fmt: skip
    return (
        f"10 s on, the VPC resolver answers {answer} for {dns_name}; the fault said: "
        f"{fault.stdout} {fault.stderr}\nparts: {parts}\nlast events: "
        f"{status['events'][-10:]}\nhosts files: {hosts}\nfrom the client {client}:\n{reach}"
    )


def test_an_az_outage_takes_its_node_out_of_the_vpc_resolver(twin: RunningTwin) -> None:
    """Last: the outage stops the AZ's tasks. AZ b's node fails; HAProxy runs in AZ a's
    node and stays; the VPC resolver answers AZ a's node alone, which keeps serving."""
    lb = _balancer(twin)
    (dns_name,) = lb["dns_names"]
    (node_a,) = [ip for ip in lb["private_ips"] if IPv4Address(ip) in ALLOWED]
    (node_b,) = [ip for ip in lb["private_ips"] if IPv4Address(ip) in DENIED]
    client = twin.task_netns(_task_in(twin, ALLOWED)["id"])
    fault = cli(
        "local", "fault", "az-outage", "us-east-1b", "--duration", "300", "--name", twin.name
    )  # fmt: skip
    assert f"load balancer node {node_b}" in fault.stdout + fault.stderr, fault.stdout
    try:
        deadline = time.monotonic() + 10
        answer = _resolve(client, dns_name)
        while answer != (0, [node_a]) and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = _resolve(client, dns_name)
        if answer != (0, [node_a]):
            pytest.fail(_outage_report(twin, client, dns_name, answer, fault), pytrace=False)
        code, out = _get(client, f"http://{dns_name}/")
        assert code == 0 and out.endswith("\n200"), (code, out)
    finally:
        cli("local", "fault", "--clear", "--name", twin.name)
    wait_for(
        "the resolver to answer both nodes again",
        lambda: _resolve(client, dns_name) == (0, sorted([node_a, node_b])),
        timeout=10,
    )


# ---------------------------------------------------------------- beside an internet-facing one


def mixed_templates(folder: Path) -> Path:
    """The default config's templates as they are (the internet-facing ALB in front of the
    service), plus an internal ALB in the private subnets with a listener on 8080 that
    answers a fixed response, open to the VPC through a group of its own."""
    docs = {name: t.to_dict() for name, t in synthesize(parse_config("")).items()}
    resources = docs["service.yml"]["Resources"]
    resources["InternalSG"] = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "the internal balancer's listener, from the VPC",
            "VpcId": {"Ref": "VpcId"},
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIp": "10.0.0.0/16"}
            ],
        },
    }
    add_internal_load_balancer(
        resources, security_group={"Ref": "InternalSG"}, body="inside the VPC"
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(to_yaml(doc), encoding="utf-8")
    return folder / "parent.yml"


def test_an_internal_balancer_beside_an_internet_facing_one(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """The internet-facing balancer serves the internet and this machine as before; the
    internal one answers tasks only, and gets no forwarder of its own."""
    name, prefix = twin_name
    fail_dir = tmp_path / f"{prefix}fail"
    fail_dir.mkdir()
    parent = mixed_templates(tmp_path / "templates")
    cli(
        "local", "up", "-t", str(parent), "--name", name, "--runtime", "process",
        "--run", flaky_run(fail_dir), "--time-scale", str(TIME_SCALE),
    )  # fmt: skip
    twin = RunningTwin(name, prefix, "mixed", "", fail_dir, TIME_SCALE)
    status = twin.status()
    public, internal = sorted(status["load_balancers"], key=lambda lb: lb["internal"])
    assert not public["internal"] and internal["internal"]
    assert status["load_balancer"] == public
    assert len(public["public_ips"]) == 2 and internal["public_ips"] == []
    assert list(status["ports"]) == ["80"]  # a forwarder for the public listener only
    (internal_name,) = internal["dns_names"]
    (public_name,) = public["dns_names"]
    assert internal_name.startswith("internal-internalloadbalancer-")
    # The internet: the public balancer by name, IP and this machine's forwarder.
    code, out = twin.get_from_internet(f"http://{public_name}/")
    assert code == 0 and out.endswith("\n200"), out
    code, out = twin.get_from_internet(f"http://{public['public_ips'][0]}/")
    assert code == 0 and out.endswith("\n200"), out
    proc = subprocess.run(
        ["curl", "-s", "--noproxy", "*", "-m", "3", "-w", "\\n%{http_code}", status["url"] + "/"],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.endswith("\n200"), proc.stdout
    # ... but not the internal one.
    assert _resolve(twin.internet, internal_name) == (GETENT_NOT_FOUND, [])
    for ip in internal["private_ips"]:
        code, out = _get(twin.internet, f"http://{ip}:8080/", timeout=2)
        assert code != 0 and not out.endswith("200"), (ip, code, out)
    # A task reaches both: the internal one by its private IPs, the public one by name.
    client = twin.task_netns(_task_in(twin, ALLOWED)["id"])
    assert _resolve(client, internal_name) == (0, sorted(internal["private_ips"]))
    code, out = _get(client, f"http://{internal_name}:8080/")
    assert code == 0 and out == "inside the VPC\n200", (code, out)
    assert _resolve(client, public_name) == (0, sorted(public["public_ips"]))
