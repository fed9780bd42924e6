"""`Scheme: internal` load balancers in the twin: planned like internet-facing ones, with
their nodes in their own subnets and no public address, so that only the VPC reaches
them (plan/elbv2.py); named and resolved the way ELB and Route 53 do it (elbv2/names.py);
an AZ outage of an internal node (elbv2/load_balancers.py); what `local status` says of
a twin whose balancer is internal (cli/commands.py). Pure: no namespace, no HAProxy."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.config import parse_config
from fargate_api.synth import synthesize
from fargate_api.synth.render import to_yaml
from fargate_api.twin.cli.commands import _print_summary
from fargate_api.twin.daemon.contracts import LaunchSpec, LoadBalancerState, StackSource, TwinState
from fargate_api.twin.daemon.twin import Twin
from fargate_api.twin.ec2.addresses import PUBLIC_POOL
from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntime
from fargate_api.twin.elbv2.load_balancers import LoadBalancers, RunningBalancer
from fargate_api.twin.elbv2.names import (
    dns_name_of,
    domain_urls,
    internet_records,
    load_balancer_dns_name,
    vpc_records,
)
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import LoadBalancer, TwinPlan
from template_edits import add_internal_load_balancer

Json = dict[str, Any]
TAG = "fa1234"
LB = "ServiceStack/PublicLoadBalancer"
INTERNAL = "ServiceStack/InternalLoadBalancer"
PRIVATE = ("VpcStack/PrivateSubnetOne", "VpcStack/PrivateSubnetTwo")
PUBLIC = ("VpcStack/PublicSubnetOne", "VpcStack/PublicSubnetTwo")


def _docs() -> dict[str, Json]:
    return {name: template.to_dict() for name, template in synthesize(parse_config("")).items()}


def _write(docs: dict[str, Json], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(to_yaml(doc), encoding="utf-8")
    return folder / "parent.yml"


def _made_internal(docs: dict[str, Json]) -> dict[str, Json]:
    """The synth's ALB turned internal, in the private subnets (the tasks' own)."""
    props = docs["service.yml"]["Resources"]["PublicLoadBalancer"]["Properties"]
    props["Scheme"] = "internal"
    props["Subnets"] = {"Ref": "PrivateSubnetIds"}
    return docs


def _with_second_internal(docs: dict[str, Json]) -> dict[str, Json]:
    """A second ALB beside the synth's internet-facing one: internal, in the private
    subnets, with a listener on 8080 answering a fixed response."""
    resources = docs["service.yml"]["Resources"]
    add_internal_load_balancer(
        resources, security_group={"Ref": "PublicLoadBalancerSG"}, body="inside"
    )
    return docs


@pytest.fixture(scope="module")
def internal_plan(tmp_path_factory: pytest.TempPathFactory) -> TwinPlan:
    return load_plan(_write(_made_internal(_docs()), tmp_path_factory.mktemp("internal")))


@pytest.fixture(scope="module")
def mixed_plan(tmp_path_factory: pytest.TempPathFactory) -> TwinPlan:
    return load_plan(_write(_with_second_internal(_docs()), tmp_path_factory.mktemp("mixed")))


def _balancer(plan: TwinPlan, key: str) -> LoadBalancer:
    return next(lb for lb in plan.load_balancers if lb.key == key)


# ---------------------------------------------------------------- the plan


def test_an_internal_alb_is_built_in_its_subnets_without_public_addresses(
    internal_plan: TwinPlan,
) -> None:
    (lb,) = internal_plan.load_balancers
    assert lb.key == LB and not lb.internet_facing
    assert tuple(node.subnet for node in lb.nodes) == PRIVATE
    assert [node.az for node in lb.nodes] == ["us-east-1a", "us-east-1b"]
    for node in lb.nodes:
        assert node.public_ip is None
        assert node.private_ip in internal_plan.subnet(node.subnet).cidr
    # Everything else as for an internet-facing one: listener, target group, its groups.
    assert [listener.port for listener in lb.listeners] == [80]
    assert [g.key for g in internal_plan.target_groups] == ["ServiceStack/ServiceTargetGroup"]
    assert lb.security_groups == ("ServiceStack/PublicLoadBalancerSG",)
    assert not [n for n in internal_plan.notices if "LoadBalancer" in n.type]
    # No public address is spent on it: the NAT gateways' EIPs are the only ones.
    assert [n.public_ip for n in internal_plan.nat_gateways] == [
        PUBLIC_POOL.network_address + 10,
        PUBLIC_POOL.network_address + 11,
    ]


def test_an_internal_alb_in_public_subnets_still_gets_no_public_address(
    tmp_path: Path,
) -> None:
    docs = _made_internal(_docs())
    docs["service.yml"]["Resources"]["PublicLoadBalancer"]["Properties"]["Subnets"] = {
        "Ref": "PublicSubnetIds"
    }
    (lb,) = load_plan(_write(docs, tmp_path)).load_balancers
    assert tuple(node.subnet for node in lb.nodes) == PUBLIC
    assert all(node.public_ip is None for node in lb.nodes)


def test_an_internal_alb_without_subnets_is_refused_with_the_fix(tmp_path: Path) -> None:
    docs = _made_internal(_docs())
    del docs["service.yml"]["Resources"]["PublicLoadBalancer"]["Properties"]["Subnets"]
    with pytest.raises(PlanError) as caught:
        load_plan(_write(docs, tmp_path))
    assert "names no subnets" in str(caught.value)
    assert "private ones" in (caught.value.fix or "")


def test_an_internet_facing_and_an_internal_alb_side_by_side(mixed_plan: TwinPlan) -> None:
    public, internal = _balancer(mixed_plan, LB), _balancer(mixed_plan, INTERNAL)
    assert public.internet_facing and not internal.internet_facing
    assert tuple(n.subnet for n in public.nodes) == PUBLIC
    assert tuple(n.subnet for n in internal.nodes) == PRIVATE
    assert all(n.public_ip is not None for n in public.nodes)
    assert all(n.public_ip is None for n in internal.nodes)
    (listener,) = internal.listeners
    assert listener.port == 8080 and listener.default_actions[0].kind == "fixed-response"
    addresses = [n.private_ip for lb in mixed_plan.load_balancers for n in lb.nodes]
    assert len(set(addresses)) == len(addresses)  # every node its own private address


# ---------------------------------------------------------------- names


def test_internal_names_resolve_privately_inside_and_not_at_all_outside(
    mixed_plan: TwinPlan,
) -> None:
    public, internal = _balancer(mixed_plan, LB), _balancer(mixed_plan, INTERNAL)
    internal_name = dns_name_of(internal, TAG, "eu-west-1")
    assert internal_name == f"internal-internalloadbalancer-{TAG}.eu-west-1.elb.amazonaws.com"
    assert internal_name == load_balancer_dns_name(internal.name, TAG, "eu-west-1", internal=True)
    public_name = dns_name_of(public, TAG, "eu-west-1")
    assert not public_name.startswith("internal-")
    inside = vpc_records(mixed_plan, tag=TAG, region="eu-west-1")
    outside = internet_records(mixed_plan, tag=TAG, region="eu-west-1")
    assert inside[internal_name] == [n.private_ip for n in internal.nodes]
    assert internal_name not in outside
    assert not {ip for ips in outside.values() for ip in ips} & {
        n.private_ip for n in internal.nodes
    }
    assert inside[public_name] == outside[public_name] == [n.public_ip for n in public.nodes]
    assert domain_urls(mixed_plan) == []  # no Route 53 records in these templates


# ---------------------------------------------------------------- AZ outages


@dataclass
class _Network:
    mapped: dict[IPv4Address, IPv4Address] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def map_public_ip(self, public: IPv4Address, private: IPv4Address) -> None:
        self.calls.append(f"map {public}")
        self.mapped[public] = private

    def unmap_public_ip(self, public: IPv4Address, private: IPv4Address) -> None:
        self.calls.append(f"unmap {public}")
        self.mapped.pop(public)


@dataclass
class _Process:
    def poll(self) -> int | None:
        return None


def test_an_internal_node_goes_down_and_back_with_no_public_ip_to_unmap(
    internal_plan: TwinPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = _Network()
    balancers = LoadBalancers(
        names=TwinNames("unit"),
        plan=internal_plan,
        network=cast(Network, network),
        groups=cast(SecurityGroups, None),
        work_dir=tmp_path,
        time_scale=1.0,
    )
    (lb,) = internal_plan.load_balancers
    first, second = lb.nodes
    balancers.running.append(
        RunningBalancer(
            lb,
            ["fa-unit-lb0n0", "fa-unit-lb0n1"],
            cast(Any, _Process()),
            cast(HaproxyRuntime, None),
            tmp_path / "haproxy.cfg",
            frozenset(),
            tmp_path / "weights.map",
            {},
            index=0,
            home="fa-unit-lb0n0",
        )
    )
    moved: list[str | None] = []

    def restart(lb_key: str, home: str | None = None) -> str:
        moved.append(home)
        balancers.running[0].home = home or balancers.running[0].home
        return "with 0 targets"

    monkeypatch.setattr(balancers, "restart", restart)
    assert balancers.set_az_down(first.az, True) == [first.private_ip]
    assert moved == ["fa-unit-lb0n1"]  # HAProxy left the failed AZ's node
    assert balancers.down_addresses() == {first.private_ip}  # what the resolvers drop
    assert balancers.set_az_down(second.az, True) == sorted([first.private_ip, second.private_ip])
    assert moved == ["fa-unit-lb0n1"]  # no node left to move to: it stays
    assert balancers.set_az_down(first.az, False) == [second.private_ip]
    assert balancers.set_az_down(second.az, False) == []
    assert network.calls == []  # nothing was ever mapped at the internet gateway


# ---------------------------------------------------------------- local status


def _state(*balancers: LoadBalancerState, url: str | None) -> TwinState:
    return TwinState(
        name="demo",
        url=url,
        load_balancer=balancers[0],
        phase="running",
        load_balancers=list(balancers),
    )


INTERNAL_STATE = LoadBalancerState(
    public_ips=[],
    listeners=[80],
    dns_names=["internal-publicloadbalancer-fa1234.us-east-1.elb.amazonaws.com"],
    internal=True,
    private_ips=["10.0.128.4", "10.0.192.4"],
    vpc_url="http://internal-publicloadbalancer-fa1234.us-east-1.elb.amazonaws.com",
)


def test_status_of_an_internal_only_twin_gives_no_url_and_says_how_to_reach_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _print_summary(_state(INTERNAL_STATE, url=None))
    printed = capsys.readouterr().out
    assert "url:        (none: the load balancer is internal" in printed
    assert "None" not in printed and "127.0.0.1" not in printed
    assert (
        "internal:   http://internal-publicloadbalancer-fa1234.us-east-1.elb.amazonaws.com/ "
        "(10.0.128.4, 10.0.192.4)" in printed
    )
    assert "local exec --name demo TASK_ID -- curl -s http://internal-" in printed


def test_status_of_a_mixed_twin_shows_the_public_url_and_the_internal_balancer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    public = LoadBalancerState(public_ips=["198.51.100.12"], listeners=[80])
    internal = INTERNAL_STATE.model_copy(
        update={"listeners": [8080], "vpc_url": f"{INTERNAL_STATE.vpc_url}:8080"}
    )
    _print_summary(_state(public, internal, url="http://127.0.0.1:8080"))
    printed = capsys.readouterr().out
    assert "url:        http://127.0.0.1:8080" in printed
    assert "ALB IPs:    198.51.100.12" in printed
    assert (
        "internal:   http://internal-publicloadbalancer-fa1234.us-east-1.elb.amazonaws.com:8080/"
        in (printed)
    )


def test_the_daemon_gives_only_an_internal_balancer_a_url_inside_the_vpc(
    mixed_plan: TwinPlan,
) -> None:
    twin = object.__new__(Twin)
    twin.names = TwinNames("demo")
    twin.spec = LaunchSpec(stacks=[StackSource(path="/t/parent.yml")], region="eu-west-1")
    public = next(lb for lb in mixed_plan.load_balancers if lb.internet_facing)
    internal = next(lb for lb in mixed_plan.load_balancers if not lb.internet_facing)
    assert twin._balancer_state(public).vpc_url is None
    state = twin._balancer_state(internal)
    (name,) = state.dns_names
    assert name.startswith("internal-") and state.vpc_url == f"http://{name}:8080"
