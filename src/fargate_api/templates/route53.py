"""Route 53 record sets, as typed records: which names the templates give, and to what.

A custom domain reaches a load balancer through a record set: an A (or AAAA) alias whose
target's DNSName is the load balancer's `DNSName` attribute, or a CNAME whose value is.
The twin answers those names from its resolvers and puts them on the certificates of
the load balancer's HTTPS listeners; `check` and the diagram may ask the same question.
Reading them once here keeps one answer to "which names lead to this load balancer?",
also when the record and the load balancer live in different stacks of a set (the
resolver turns a nested stack's output back into the GetAtt it came from).

Only reading and normalising happens here: a name that is not known statically stays
None, and a record whose target is not a load balancer of these templates keeps its
values with `load_balancer` None. What to do with them is the reader's call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fargate_api.templates.model import PropertyPath, Resource
from fargate_api.templates.props import as_bool, as_int, as_list, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import LOAD_BALANCER
from fargate_api.templates.values import AttributeRef, Text

RECORD_SET = "AWS::Route53::RecordSet"
RECORD_SET_GROUP = "AWS::Route53::RecordSetGroup"
DNS_NAME_ATTRIBUTE = "DNSName"


@dataclass(frozen=True)
class AliasTarget:
    dns_name: object  # as resolved: a string, or a GetAtt / Text marker
    hosted_zone_id: object
    evaluate_target_health: bool | None
    load_balancer: Resource | None  # DNSName is this load balancer's DNSName attribute


@dataclass(frozen=True)
class RecordView:
    """One record set: a RecordSet resource, or one item of a RecordSetGroup."""

    resource: Resource
    path: PropertyPath  # where it is written: ("Properties",) or ("Properties", "RecordSets", i)
    name: str | None  # lower case, without the trailing dot; None when not known statically
    type: str | None  # "A", "AAAA", "CNAME", ... (upper case)
    alias: AliasTarget | None
    values: tuple[object, ...]  # ResourceRecords as resolved (strings or markers)
    ttl: int | None
    hosted_zone: object  # HostedZoneId, else HostedZoneName, as resolved (may be a marker)
    # The load balancer the record leads to: the alias target's, or the one whose DNSName
    # is the CNAME's single value; None when it leads to none of these templates'.
    load_balancer: Resource | None = None

    @property
    def literal_values(self) -> tuple[str, ...]:
        """The ResourceRecords known as text (an A record's addresses, say)."""
        return tuple(v for v in self.values if isinstance(v, str))


def normalise_name(value: object) -> str | None:
    """A record name as DNS compares it: lower case, no trailing dot; None if unknown.

    Route 53 writes `*` wildcards as they are and `\\052` in listings; both read as `*`.
    """
    text = as_str(value)
    if text is None or not text.strip():
        return None
    return text.strip().rstrip(".").replace("\\052", "*").lower() or None


def load_balancer_of_dns_name(query: StackQuery, value: object) -> Resource | None:
    """The load balancer whose `DNSName` attribute `value` is, also inside a string such
    as CDK's ``dualstack.${Alb.DNSName}``; None for anything else."""
    refs: list[object]
    if isinstance(value, AttributeRef):
        refs = [value]
    elif isinstance(value, Text):
        refs = [p for p in value.parts if not isinstance(p, str)]
    else:
        return None
    if len(refs) != 1:
        return None
    ref = refs[0]
    if not isinstance(ref, AttributeRef) or ref.attribute != DNS_NAME_ATTRIBUTE:
        return None
    found = query.deref(ref)
    return found if found is not None and found.type == LOAD_BALANCER else None


def _alias(query: StackQuery, raw: object) -> AliasTarget | None:
    if not isinstance(raw, dict):
        return None
    dns_name = get(raw, "DNSName")
    return AliasTarget(
        dns_name=dns_name,
        hosted_zone_id=get(raw, "HostedZoneId"),
        evaluate_target_health=as_bool(get(raw, "EvaluateTargetHealth")),
        load_balancer=load_balancer_of_dns_name(query, dns_name),
    )


def _record(
    query: StackQuery, resource: Resource, raw: object, path: PropertyPath, zone: object
) -> RecordView:
    alias = _alias(query, get(raw, "AliasTarget"))
    values = tuple(as_list(get(raw, "ResourceRecords")))
    kind = as_str(get(raw, "Type"))
    target = alias.load_balancer if alias is not None else None
    if target is None and kind is not None and kind.upper() == "CNAME" and len(values) == 1:
        target = load_balancer_of_dns_name(query, values[0])
    own_zone = get(raw, "HostedZoneId")
    if own_zone is None:
        own_zone = get(raw, "HostedZoneName")
    return RecordView(
        resource=resource,
        path=path,
        name=normalise_name(get(raw, "Name")),
        type=kind.upper() if kind else None,
        alias=alias,
        values=values,
        ttl=as_int(get(raw, "TTL")),
        hosted_zone=zone if own_zone is None else own_zone,
        load_balancer=target,
    )


def records(query: StackQuery) -> list[RecordView]:
    """Every record of every RecordSet and RecordSetGroup, in template order."""
    found: list[RecordView] = []
    for resource in query.resources(RECORD_SET, RECORD_SET_GROUP):
        props = resource.properties
        if resource.type == RECORD_SET:
            zone = get(props, "HostedZoneId")
            zone = get(props, "HostedZoneName") if zone is None else zone
            found.append(_record(query, resource, props, ("Properties",), zone))
            continue
        zone = get(props, "HostedZoneId")
        zone = get(props, "HostedZoneName") if zone is None else zone
        for index, item in enumerate(as_list(get(props, "RecordSets"))):
            found.append(_record(query, resource, item, ("Properties", "RecordSets", index), zone))
    return found


def records_for(query: StackQuery, load_balancer: Resource) -> Iterator[RecordView]:
    """The records that lead to `load_balancer` (alias or CNAME)."""
    return (r for r in records(query) if r.load_balancer is load_balancer)


def names_for(query: StackQuery, load_balancer: Resource) -> list[str]:
    """The distinct known names of the records leading to `load_balancer`, in order."""
    names: dict[str, None] = {}
    for record in records_for(query, load_balancer):
        if record.name is not None:
            names.setdefault(record.name, None)
    return list(names)
