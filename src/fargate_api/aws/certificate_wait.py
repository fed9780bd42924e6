"""What the live progress says while an ACM certificate waits for its DNS validation.

A stack with a custom domain sits on its Certificate for minutes with nothing to show:
ACM issues it only once it sees the validation CNAME that CloudFormation wrote into the
hosted zone. That wait is normal, and the watch says so once. When it lasts, the usual
cause is a zone that DNS never asks: the domain's registrar delegates to other name
servers (a zone created anew gets new ones), so the record is there but ACM cannot see
it. After HANG_AFTER the watch says what to compare, with the zone's name servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fargate_api.aws.clock import elapsed

CERTIFICATE_TYPE = "AWS::CertificateManager::Certificate"
HANG_AFTER = 600.0  # seconds; DNS validation usually completes in a few minutes
# ACM's own limit for a certificate pending validation.
ACM_GIVES_UP = "72 hours"

NameServers = Callable[[str], tuple[str, list[str]] | None]
"""zone id -> (zone name, its name servers), or None when they cannot be read."""


@dataclass
class CertificateWait:
    """Follows the certificates of one stack operation; `poll` returns the lines to show."""

    zone_id: str = ""  # the hosted zone the validation records go to; "" when not known
    name_servers: NameServers | None = None
    hang_after: float = HANG_AFTER
    _since: dict[str, float] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)

    def poll(self, rows: Iterable[tuple[str, str, str]], now: float) -> list[str]:
        """`rows`: (logical id, resource type, status) of the stack's resources so far."""
        lines: list[str] = []
        for logical_id, resource_type, status in rows:
            if resource_type != CERTIFICATE_TYPE or status != "CREATE_IN_PROGRESS":
                continue
            if logical_id not in self._since:
                self._since[logical_id] = now
                lines.append(self._explain(logical_id))
            waited = now - self._since[logical_id]
            if waited >= self.hang_after and logical_id not in self._warned:
                self._warned.add(logical_id)
                lines.append(self._what_to_check(logical_id, waited))
        return lines

    def _explain(self, logical_id: str) -> str:
        zone = f"hosted zone {self.zone_id}" if self.zone_id else "the domain's hosted zone"
        return (
            f"{logical_id}: ACM validates the certificate through DNS: CloudFormation wrote "
            f"the CNAME validation record into {zone}, and the stack waits until ACM sees "
            "it and issues the certificate, usually a few minutes"
        )

    def _what_to_check(self, logical_id: str, waited: float) -> str:
        found = self.name_servers(self.zone_id) if self.name_servers and self.zone_id else None
        if found is not None:
            name, servers = found
            delegation = (
                f"the registrar of {name} must delegate it to this zone's name servers "
                f"{', '.join(servers) or '(none listed)'}; compare 'dig NS {name} +short'"
            )
        elif self.zone_id:
            delegation = (
                "the domain's registrar must delegate it to the zone's name servers "
                f"('aws route53 get-hosted-zone --id {self.zone_id}' lists them; compare "
                "'dig NS <domain> +short')"
            )
        else:
            delegation = (
                "the domain's registrar must delegate it to the name servers of the hosted "
                "zone the stack wrote to (compare 'dig NS <domain> +short')"
            )
        return (
            f"{logical_id} is still waiting for validation after {elapsed(waited)}. ACM sees "
            f"the record only if that zone answers for the domain: {delegation}. Fix the "
            f"delegation and the validation goes on by itself; ACM gives up after "
            f"{ACM_GIVES_UP}"
        )
