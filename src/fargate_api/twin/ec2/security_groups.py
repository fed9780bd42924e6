"""Security groups at run time: who is in which group, and every ENI's rules kept current.

On AWS a rule that names another security group follows that group's members as tasks
come and go. The twin keeps that: each ENI's nftables table has one set per referenced
group, and adding or removing an ENI updates the sets of every ENI that refers to one of
its groups, in the same order ECS would (members first, then the new ENI's own rules).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from ipaddress import IPv4Address

from fargate_api.twin.ec2.dns import resolver_address
from fargate_api.twin.ec2.security_group_apply import apply_eni_ruleset, update_membership
from fargate_api.twin.ec2.security_group_rules import referenced_groups
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import SecurityGroup, TwinPlan


@dataclass(frozen=True)
class Eni:
    netns: str
    ip: IPv4Address
    groups: tuple[str, ...]


class SecurityGroups:
    def __init__(self, names: TwinNames, plan: TwinPlan) -> None:
        self.names = names
        self.groups = {g.key: g for g in plan.security_groups}
        self.resolver = resolver_address(plan.vpc_cidr)  # never filtered, as on AWS
        self.enis: dict[str, Eni] = {}
        self._lock = threading.Lock()

    @property
    def table(self) -> str:
        return self.names.table("sg")

    def members(self) -> dict[str, list[IPv4Address]]:
        found: dict[str, list[IPv4Address]] = {key: [] for key in self.groups}
        for eni in self.enis.values():
            for group in eni.groups:
                found.setdefault(group, []).append(eni.ip)
        return {key: sorted(ips) for key, ips in found.items()}

    def _of(self, eni: Eni) -> list[SecurityGroup]:
        return [self.groups[key] for key in eni.groups if key in self.groups]

    def add(self, netns: str, ip: IPv4Address, groups: tuple[str, ...]) -> None:
        with self._lock:
            eni = Eni(netns, ip, groups)
            self.enis[netns] = eni
            self._refresh_referrers(set(groups), skip=netns)
            apply_eni_ruleset(
                netns,
                self.table,
                self.names.eni,
                self._of(eni),
                self.members(),
                resolver=self.resolver,
            )

    def remove(self, netns: str) -> None:
        with self._lock:
            eni = self.enis.pop(netns, None)
            if eni is not None:
                self._refresh_referrers(set(eni.groups), skip=netns)

    def _refresh_referrers(self, changed: set[str], *, skip: str) -> None:
        members = self.members()
        for other in self.enis.values():
            if other.netns == skip:
                continue
            for group in referenced_groups(self._of(other)) & changed:
                update_membership(other.netns, self.table, group, members.get(group, []))
