"""The fault scripts of twin/fis/network_rules.py: what the rendered text says.

Pure text (plus the CPU stress sizing and the argument checks), no privileges; nft
itself loads every script in the twin tier (tests/twin/test_fis_network.py, in a
namespace), and what the rules do to real packets is measured there too.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from fargate_api.twin.fis import cpu_stress, network_faults
from fargate_api.twin.fis import network_rules as rules
from fargate_api.twin.fis.delay_proxy import Delay, parse_sockaddr_in
from fargate_api.twin.host.cgroups import TaskCgroups
from fargate_api.twin.naming import TwinNames

TABLE = "fa-abc123-fis-x"


def _lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip()]


def test_replacing_scripts_declare_delete_and_define_in_one_transaction() -> None:
    for script in (
        rules.nat_loss_ruleset(TABLE),
        rules.blackhole_ruleset(TABLE, port=80, protocol="tcp", traffic="both"),
        rules.latency_redirect_ruleset(TABLE, interface="fa12eni", port=40000, mark=0x10),
    ):
        lines = _lines(script)
        assert lines[:3] == [
            f"table ip {TABLE} {{}}",
            f"delete table ip {TABLE}",
            f"table ip {TABLE} {{",
        ]
        assert lines[-1] == "}"


def test_delete_table_is_idempotent_text() -> None:
    assert _lines(rules.delete_table(TABLE)) == [
        f"table ip {TABLE} {{}}",
        f"delete table ip {TABLE}",
    ]


def test_az_isolation_keeps_other_azs_elements() -> None:
    script = rules.az_isolation_add(TABLE, ["fa12b2", "fa12b0", "fa12b2"])
    lines = _lines(script)
    # declared without content: an existing set keeps the bridges of other AZs
    assert "delete table" not in script
    assert "flush set" not in script
    assert f"set {rules.AZ_SET} {{ type ifname; }}" in lines
    assert f"flush chain ip {TABLE} forward" in lines
    assert lines[-1] == f'add element ip {TABLE} {rules.AZ_SET} {{ "fa12b0", "fa12b2" }}'
    drops = [line for line in lines if line.startswith(f"add rule ip {TABLE} forward")]
    assert [d.split()[5] for d in drops] == ["iifname", "oifname"]
    assert all(f"@{rules.AZ_SET} counter drop" in d for d in drops)
    # the chain is a forward hook: traffic to the router itself (DNS) is not touched
    assert "type filter hook forward priority filter - 10; policy accept;" in lines


def test_az_isolation_remove_names_only_the_given_bridges() -> None:
    assert rules.az_isolation_remove(TABLE, ["fa12b1"]) == (
        f'delete element ip {TABLE} {rules.AZ_SET} {{ "fa12b1" }}\n'
    )
    assert rules.az_isolation_remove(TABLE, []) == ""


def test_az_isolation_needs_a_bridge() -> None:
    with pytest.raises(ValueError, match="at least one bridge"):
        rules.az_isolation_add(TABLE, [])


@pytest.mark.parametrize("bad", ['b"; flush ruleset', "a" * 16, "", "b 1"])
def test_hostile_or_invalid_interface_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="interface name"):
        rules.az_isolation_add(TABLE, [bad])
    with pytest.raises(ValueError, match="interface name"):
        rules.latency_redirect_ruleset(TABLE, interface=bad, port=1, mark=1)


@pytest.mark.parametrize("bad", ["t; flush ruleset", "1abc", "a b", ""])
def test_invalid_table_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="table name"):
        rules.nat_loss_ruleset(bad)
    with pytest.raises(ValueError, match="table name"):
        rules.delete_table(bad)


def test_parse_set_elements_reads_plain_and_wrapped_elements() -> None:
    listing = {
        "nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {
                "set": {
                    "family": "ip",
                    "name": "isolated",
                    "table": TABLE,
                    "type": "ifname",
                    "elem": ["fa12b3", {"elem": {"val": "fa12b1", "counter": {}}}],
                }
            },
        ]
    }
    assert rules.parse_set_elements(json.dumps(listing)) == ["fa12b1", "fa12b3"]
    empty = {"nftables": [{"set": {"name": "isolated", "type": "ifname"}}]}
    assert rules.parse_set_elements(json.dumps(empty)) == []
    with pytest.raises(ValueError, match="unexpected nft set element"):
        rules.parse_set_elements(json.dumps({"nftables": [{"set": {"elem": [{"range": []}]}}]}))


def test_nat_loss_drops_everything_forwarded() -> None:
    lines = _lines(rules.nat_loss_ruleset(TABLE))
    assert "type filter hook forward priority filter - 10; policy drop;" in lines
    assert not any("accept" in line for line in lines)


@pytest.mark.parametrize(
    ("traffic", "chains"),
    [("ingress", ["input"]), ("egress", ["output"]), ("both", ["input", "output"])],
)
def test_blackhole_chains_follow_the_traffic_type(
    traffic: rules.Traffic, chains: list[str]
) -> None:
    script = rules.blackhole_ruleset(TABLE, port=8080, protocol="tcp", traffic=traffic)
    lines = _lines(script)
    assert [line.split()[1] for line in lines if line.startswith("chain ")] == chains
    drops = [line for line in lines if "drop" in line]
    assert len(drops) == len(chains)
    assert all(line.startswith("tcp dport 8080 counter drop") for line in drops)


def test_blackhole_leaves_loopback_and_the_task_endpoint_alone() -> None:
    lines = _lines(rules.blackhole_ruleset(TABLE, port=None, protocol="udp", traffic="both"))
    assert lines.index('iif "lo" accept') < lines.index(next(x for x in lines if "inbound" in x))
    assert 'oif "lo" accept' in lines
    assert f"ip daddr {rules.LINK_LOCAL} accept" in lines
    assert rules.TASK_ENDPOINT in str(rules.LINK_LOCAL.network_address) or (
        rules.LINK_LOCAL.overlaps(rules.IPv4Network(f"{rules.TASK_ENDPOINT}/32"))
    )
    # no port: every packet of the protocol
    assert sum(line.startswith("meta l4proto udp counter drop") for line in lines) == 2


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_blackhole_port_out_of_range_is_refused(port: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        rules.blackhole_ruleset(TABLE, port=port, protocol="tcp", traffic="ingress")


def test_blackhole_refuses_an_unknown_protocol_or_traffic() -> None:
    with pytest.raises(ValueError, match="protocol"):
        rules.blackhole_ruleset(TABLE, port=1, protocol="icmp", traffic="ingress")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="traffic"):
        rules.blackhole_ruleset(TABLE, port=1, protocol="tcp", traffic="sideways")  # type: ignore[arg-type]


def test_latency_redirect_inbound_by_tproxy_outbound_by_nat_redirect() -> None:
    lines = _lines(
        rules.latency_redirect_ruleset(TABLE, interface="fa12eni", port=40123, mark=0x464953)
    )
    inbound = lines[lines.index("chain inbound {") : lines.index("chain outbound {")]
    outbound = lines[lines.index("chain outbound {") :]
    # inbound keeps the packet as it is (security groups see the real port): TPROXY
    assert "type filter hook prerouting priority mangle; policy accept;" in inbound
    assert any(
        line.startswith('iifname "fa12eni" meta l4proto tcp tproxy to :40123') for line in inbound
    )
    assert not any("redirect" in line for line in inbound)
    # outbound: exclusions first, the proxy's own mark among them, then the redirect
    assert "type nat hook output priority -110; policy accept;" in outbound
    redirect = next(i for i, line in enumerate(outbound) if "redirect to :40123" in line)
    exclusions = outbound[:redirect]
    for expected in (
        'oifname "lo" return',
        "meta mark 0x464953 return",
        "ip daddr 127.0.0.0/8 return",
        "ip daddr 169.254.0.0/16 return",
        "tcp dport 53 return",
    ):
        assert expected in exclusions
    assert outbound[redirect].startswith("meta l4proto tcp redirect to :40123")


@pytest.mark.parametrize(("port", "mark"), [(0, 1), (70000, 1), (1, 0), (1, 1 << 32)])
def test_latency_redirect_refuses_bad_port_or_mark(port: int, mark: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        rules.latency_redirect_ruleset(TABLE, interface="eth0", port=port, mark=mark)


def test_sockaddr_in_parsing() -> None:
    raw = bytes([2, 0, 0x1F, 0x90, 10, 0, 1, 5]) + bytes(8)
    assert parse_sockaddr_in(raw) == ("10.0.1.5", 8080)
    with pytest.raises(ValueError, match="16 bytes"):
        parse_sockaddr_in(raw[:6])


def test_delay_samples_stay_within_jitter_and_never_go_negative() -> None:
    rng = random.Random(7)
    samples = [Delay(100, 20).sample(rng) for _ in range(500)]
    assert min(samples) >= 0.080 and max(samples) <= 0.120
    assert max(samples) - min(samples) > 0.030  # jitter really varies
    assert all(Delay(5, 50).sample(rng) >= 0.0 for _ in range(200))
    assert Delay(30, 0).sample(rng) == pytest.approx(0.030)


# --------------------------------------------------------------------- CPU stress sizing
def _fake_cgroups(root: Path, *, v2: bool, quota: str) -> TaskCgroups:
    if v2:
        (root / "cgroup.controllers").parent.mkdir(parents=True, exist_ok=True)
        (root / "cgroup.controllers").write_text("cpu memory pids\n")
        folder = root / "fa-t" / "task1"
        folder.mkdir(parents=True)
        (folder / "cpu.max").write_text(f"{quota} 100000\n")
    else:
        folder = root / "cpu" / "fa-t" / "task1"
        folder.mkdir(parents=True)
        (folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        (folder / "cpu.cfs_period_us").write_text("100000\n")
    return TaskCgroups("fa-t", "task1", root=root)


@pytest.mark.parametrize(("v2", "quota", "cpus"), [(False, "50000", 0.5), (True, "25000", 0.25)])
def test_task_cpus_come_from_the_task_quota(
    tmp_path: Path, v2: bool, quota: str, cpus: float
) -> None:
    cgroups = _fake_cgroups(tmp_path, v2=v2, quota=quota)
    assert cpu_stress.task_cpus(cgroups) == pytest.approx(cpus)
    expected = tmp_path / ("" if v2 else "cpu") / "fa-t" / "task1"
    assert cpu_stress.task_cpu_dir(cgroups) == expected


@pytest.mark.parametrize(("v2", "quota"), [(False, "-1"), (True, "max")])
def test_an_unlimited_task_gets_every_cpu(tmp_path: Path, v2: bool, quota: str) -> None:
    cgroups = _fake_cgroups(tmp_path, v2=v2, quota=quota)
    assert cpu_stress.task_cpus(cgroups) == float(os.cpu_count() or 1)


def test_busy_fraction_spreads_the_task_share_over_workers() -> None:
    assert cpu_stress.busy_fraction(50, 0.25, 1) == pytest.approx(0.125)
    assert cpu_stress.busy_fraction(80, 2.0, 2) == pytest.approx(0.8)
    assert cpu_stress.busy_fraction(100, 4.0, 1) == 1.0  # never more than a whole CPU


def test_cpu_stress_refuses_a_missing_task_cgroup_or_a_bad_percent(tmp_path: Path) -> None:
    names = TwinNames("abc")
    cgroups = TaskCgroups("fa-t", "gone", root=tmp_path)
    with pytest.raises(cpu_stress.CpuStressError, match="does not exist"):
        cpu_stress.start_cpu_stress(names, cgroups, 50, tmp_path / "cpu.log")
    for percent in (0, 101):
        with pytest.raises(ValueError, match="1-100"):
            cpu_stress.start_cpu_stress(names, cgroups, percent, tmp_path / "cpu.log")


@pytest.mark.parametrize(("ms", "jitter"), [(0, 0), (-5, 0), (10, -1)])
def test_latency_needs_a_positive_delay(tmp_path: Path, ms: int, jitter: int) -> None:
    with pytest.raises(ValueError, match="need ms > 0"):
        network_faults.add_latency(
            TwinNames("abc"),
            "fa-abc-t-x",
            interface="eth0",
            ms=ms,
            jitter_ms=jitter,
            log=tmp_path / "proxy.log",
        )


def test_proxy_label_carries_the_prefix_and_the_task() -> None:
    names = TwinNames("abc")
    label = network_faults.proxy_label(names, names.task("0" * 32))
    assert label == f"fa-abc-fis-lat-t-{'0' * 32}"
