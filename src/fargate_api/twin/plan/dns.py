"""Which Route 53 records the twin's resolvers answer, and which names each load
balancer's certificates carry.

The records themselves are read by the reading layer (templates/route53.py). What is the
twin's own: it answers only names it can run, A records (alias or literal IPv4) and
CNAMEs leading to one of the load balancers it builds; everything else (AAAA, MX, TXT,
a name only known after deploy, a target outside these templates) is listed as a notice
and left out, so that a lookup of it fails the way an unknown name does.
"""

from __future__ import annotations

from ipaddress import AddressValueError, IPv4Address

from fargate_api.templates import Resource
from fargate_api.templates.certificates import listener_certificates
from fargate_api.templates.route53 import RecordView, records
from fargate_api.twin.plan.model import DnsRecord, LoadBalancer, Notice
from fargate_api.twin.plan.reads import Index, key_of

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.*")


def read_dns_records(
    index: Index, balancers: list[LoadBalancer]
) -> tuple[list[DnsRecord], list[Notice]]:
    built = {lb.key for lb in balancers}
    found: list[DnsRecord] = []
    notices: list[Notice] = []
    for view in records(index):
        key = _record_key(view)

        def skip(reason: str, view: RecordView = view, key: str = key) -> None:
            notices.append(Notice(key, view.resource.type, reason))

        if view.name is None or not _is_dns_name(view.name):
            skip("its name is not known before deploy; the twin's resolvers do not answer it")
        elif view.name.startswith("*"):
            skip("wildcard records are not answered by the twin's resolvers (hosts files)")
        elif view.load_balancer is not None:
            target = key_of(view.load_balancer)
            if target not in built:
                skip(f"it leads to {target}, which the twin does not build")
            elif view.type not in ("A", "CNAME"):
                skip(f"{view.type} records are not answered: the twin's network is IPv4 only")
            else:
                found.append(DnsRecord(key, view.name, load_balancer=target))
        elif view.type == "A" and view.alias is None:
            addresses = _addresses(view.literal_values)
            if addresses:
                found.append(DnsRecord(key, view.name, addresses=addresses))
            else:
                skip("no literal IPv4 address among its values")
        else:
            skip(f"a {view.type or 'typeless'} record that leads to none of the load balancers")
    return found, notices


def certificate_names(index: Index, listener: Resource) -> tuple[str, ...]:
    """DomainName and SubjectAlternativeNames of the ACM certificates a listener presents
    (its Certificates and those ListenerCertificate resources add), when they are
    certificates of these templates (templates/certificates.py)."""
    names: dict[str, None] = {}
    for view in listener_certificates(index, listener):
        for name in view.certificate.names if view.certificate is not None else ():
            if _is_dns_name(name):
                names.setdefault(name, None)
    return tuple(names)


def _record_key(view: RecordView) -> str:
    key = key_of(view.resource)
    if len(view.path) == 3 and isinstance(view.path[2], int):
        key += f"[{view.path[2]}]"
    return key


def _is_dns_name(name: str) -> bool:
    return len(name) <= 253 and set(name) <= _NAME_CHARS and not name.startswith(".")


def _addresses(values: tuple[str, ...]) -> tuple[IPv4Address, ...]:
    found = []
    for value in values:
        try:
            found.append(IPv4Address(value.strip()))
        except AddressValueError:
            continue
    return tuple(found)
