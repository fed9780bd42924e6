"""The names that lead to a load balancer: its own DNS name, the Route 53 records the
templates point at it, and what its HTTPS listeners' certificates must carry.

Both resolvers (ec2/dns.py: the VPC's and the internet's) answer these names, and the
twin's CA (elbv2/tls.py) issues each HTTPS listener a certificate for them, so that a
client reaching `https://api.example.com/` from the twin's internet verifies the
certificate the way it would on AWS, without `-k`. Pure: plan in, names out.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from fargate_api.twin.ec2.addresses import ECHO_HOST
from fargate_api.twin.plan.model import Listener, LoadBalancer, TwinPlan

ECHO_NAME = "echo.internet.test"  # the internet's what-is-my-IP service, by name

Records = dict[str, list[IPv4Address]]


def load_balancer_dns_name(name: str, tag: str, region: str, *, internal: bool = False) -> str:
    """Shaped like an ALB's name (name-id.region.elb.amazonaws.com, an internal one's
    with AWS's `internal-` in front); answered only by the twin's resolvers."""
    scheme = "internal-" if internal else ""
    return f"{scheme}{name}-{tag}.{region}.elb.amazonaws.com".lower()


def dns_name_of(lb: LoadBalancer, tag: str, region: str) -> str:
    """The DNS name ELB gives `lb`, by its scheme."""
    return load_balancer_dns_name(lb.name, tag, region, internal=not lb.internet_facing)


def domain_names(plan: TwinPlan, lb: LoadBalancer) -> list[str]:
    """The names of the records leading to `lb`, in template order, each once."""
    names: dict[str, None] = {}
    for record in plan.dns_records:
        if record.load_balancer == lb.key:
            names.setdefault(record.name, None)
    return list(names)


def certificate_names(
    plan: TwinPlan, lb: LoadBalancer, listener: Listener, *, tag: str, region: str
) -> list[str]:
    """subjectAltNames of the twin's certificate for an HTTPS listener: its ACM
    certificates' names, the records leading to its load balancer, and the balancer's own
    DNS name, each once, the most specific first (the certificate's common name)."""
    names: dict[str, None] = {}
    for name in (
        *listener.certificate_names,
        *domain_names(plan, lb),
        dns_name_of(lb, tag, region),
    ):
        names.setdefault(name, None)
    return list(names)


def _addresses(lb: LoadBalancer, *, public: bool) -> list[IPv4Address]:
    if not public:
        return [node.private_ip for node in lb.nodes]
    return [node.public_ip for node in lb.nodes if node.public_ip is not None]


def vpc_records(plan: TwinPlan, *, tag: str, region: str) -> Records:
    """What the VPC resolver answers besides the tasks' own names: every load balancer's
    name and the records leading to it (an internet-facing one by its public addresses,
    as Amazon's resolver does; an internal one by its private ones), literal A records,
    and the internet's echo service."""
    records: Records = {}
    by_key = {lb.key: lb for lb in plan.load_balancers}
    for lb in plan.load_balancers:
        addresses = _addresses(lb, public=lb.internet_facing)
        records[dns_name_of(lb, tag, region)] = addresses
    for record in plan.dns_records:
        target = by_key.get(record.load_balancer or "")
        if target is not None:
            records.setdefault(record.name, _addresses(target, public=target.internet_facing))
        elif record.addresses:
            records.setdefault(record.name, list(record.addresses))
    if plan.internet_gateway:
        records[ECHO_NAME] = [ECHO_HOST]
    return records


def internet_records(plan: TwinPlan, *, tag: str, region: str) -> Records:
    """What the internet's resolver answers: the public names only. An internet-facing
    load balancer's name and the records leading to it, by its public addresses; literal
    A records; the echo service. Internal load balancers and the tasks' private names
    are the VPC's own and stay unknown outside it."""
    records: Records = {}
    by_key = {lb.key: lb for lb in plan.load_balancers}
    for lb in plan.load_balancers:
        if lb.internet_facing:
            records[dns_name_of(lb, tag, region)] = _addresses(lb, public=True)
    for record in plan.dns_records:
        target = by_key.get(record.load_balancer or "")
        if target is not None:
            if target.internet_facing:
                records.setdefault(record.name, _addresses(target, public=True))
        elif record.addresses:
            records.setdefault(record.name, list(record.addresses))
    if plan.internet_gateway:
        records[ECHO_NAME] = [ECHO_HOST]
    return records


def primary_listener(lb: LoadBalancer) -> Listener | None:
    """The listener a URL names: the first HTTPS one, else the first one."""
    https = [listener for listener in lb.listeners if listener.protocol == "HTTPS"]
    return https[0] if https else (lb.listeners[0] if lb.listeners else None)


def listener_url(listener: Listener, host: str) -> str:
    """`scheme://host[:port]` of a listener, the scheme's default port left out."""
    scheme = listener.protocol.lower()
    default = 443 if scheme == "https" else 80
    port = "" if listener.port == default else f":{listener.port}"
    return f"{scheme}://{host}{port}"


def domain_urls(plan: TwinPlan) -> list[str]:
    """The URL of every record leading to an internet-facing load balancer, through its
    primary listener (`https://api.example.com`): what a client on the twin's internet
    opens, resolved by the internet's resolver and verified with the twin's CA."""
    urls: list[str] = []
    for lb in plan.load_balancers:
        listener = primary_listener(lb)
        if listener is None or not lb.internet_facing:
            continue
        urls += [listener_url(listener, name) for name in domain_names(plan, lb)]
    return urls
