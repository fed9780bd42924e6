"""The VPC resolver's names, dnsmasq command line, hosts file and resolv.conf: pure."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from fargate_api.twin.ec2.dns import (
    VpcResolver,
    dnsmasq_args,
    internal_domain,
    netns_etc_folders,
    private_dns_name,
    region_of_az,
    remove_netns_etc,
    render_hosts,
    resolver_address,
    task_records,
    write_netns_resolv_conf,
)
from fargate_api.twin.naming import TwinNames


def test_resolver_is_the_vpc_base_plus_two() -> None:
    assert resolver_address(IPv4Network("10.0.0.0/16")) == IPv4Address("10.0.0.2")
    assert resolver_address(IPv4Network("172.31.0.0/16")) == IPv4Address("172.31.0.2")


@pytest.mark.parametrize(
    ("region", "name"),
    [
        ("us-east-1", "ip-10-0-1-23.ec2.internal"),
        ("eu-west-1", "ip-10-0-1-23.eu-west-1.compute.internal"),
    ],
)
def test_private_dns_names(region: str, name: str) -> None:
    assert private_dns_name(IPv4Address("10.0.1.23"), region) == name


def test_region_of_az() -> None:
    assert region_of_az("eu-central-1c") == "eu-central-1"
    assert internal_domain(region_of_az("us-east-1b")) == "ec2.internal"


def test_hosts_file_lists_each_address_once_per_name_sorted_by_address() -> None:
    records = {
        "my-alb-1.us-east-1.elb.amazonaws.com": [IPv4Address("10.0.1.9"), IPv4Address("10.0.0.9")],
        **task_records([IPv4Address("10.0.1.23")], "us-east-1"),
    }
    lines = render_hosts(records).splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == [
        "10.0.0.9 my-alb-1.us-east-1.elb.amazonaws.com",
        "10.0.1.9 my-alb-1.us-east-1.elb.amazonaws.com",
        "10.0.1.23 ip-10-0-1-23.ec2.internal",
    ]


def test_hosts_file_keeps_the_given_order_of_one_addresses_names() -> None:
    """dnsmasq's PTR answer is the first name of an address: the private DNS name."""
    ip = [IPv4Address("10.0.1.23")]
    lines = render_hosts({"ip-10-0-1-23.ec2.internal": ip, "alias.internal": ip}).splitlines()
    assert lines[1:] == ["10.0.1.23 ip-10-0-1-23.ec2.internal", "10.0.1.23 alias.internal"]


@pytest.mark.parametrize("name", ["", "a b", "evil#comment", "x\n10.0.0.1 y", ".lead"])
def test_hosts_file_refuses_what_is_not_a_dns_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a DNS name"):
        render_hosts({name: [IPv4Address("10.0.0.1")]})


def test_dnsmasq_answers_only_from_its_hosts_file() -> None:
    args = dnsmasq_args(IPv4Address("10.0.0.2"), Path("/s/h"), Path("/s/p"))
    assert args[0] == "dnsmasq"
    for expected in (
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=10.0.0.2",
        "--port=53",
        "--addn-hosts=/s/h",
        "--local=/#/",
        "--pid-file=/s/p",
        "--user=root",
    ):
        assert expected in args
    assert not any(arg.startswith("--server") for arg in args)


def test_resolver_runs_in_the_router_namespace_with_the_prefix_on_its_command_line() -> None:
    names = TwinNames("demo", state_root=Path("/run/fargate-api"))
    resolver = VpcResolver(names, IPv4Network("10.0.0.0/16"))
    command = resolver.command()
    assert command[:4] == ["ip", "netns", "exec", "fa-demo-vpc"]
    assert "--pid-file=/run/fargate-api/fa-demo-twin/vpc-dns.pid" in command
    assert "--listen-address=10.0.0.2" in command


def test_netns_resolv_conf_round_trip(tmp_path: Path) -> None:
    path = write_netns_resolv_conf(
        "fa-demo-t-1", IPv4Address("10.0.0.2"), ["ec2.internal"], root=tmp_path
    )
    assert path == tmp_path / "fa-demo-t-1" / "resolv.conf"
    text = path.read_text()
    assert text.splitlines()[:2] == ["nameserver 10.0.0.2", "search ec2.internal"]
    write_netns_resolv_conf("fa-other-t-2", IPv4Address("10.0.0.2"), root=tmp_path)
    assert netns_etc_folders("fa-demo-", root=tmp_path) == ["fa-demo-t-1"]
    remove_netns_etc("fa-demo-t-1", root=tmp_path)
    remove_netns_etc("fa-demo-t-1", root=tmp_path)  # idempotent
    assert netns_etc_folders("fa-", root=tmp_path) == ["fa-other-t-2"]


@pytest.mark.parametrize("bad", ["", "..", "a/b"])
def test_remove_netns_etc_refuses_paths(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a namespace name"):
        remove_netns_etc(bad, root=tmp_path)
