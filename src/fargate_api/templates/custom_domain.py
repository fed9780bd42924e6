"""The custom domain a template serves, from its own Metadata.

`deploy` must give the Route 53 hosted zone of the domain to the stack that requests the
certificate and writes the alias record. When the zone is configured, the template's
HostedZoneId parameter has it as default; when not, `deploy` looks the zone up by name,
and for that it needs the name and the parameter to fill: the synth writes both into the
template's Metadata (`fargate-api: domain: {name, hosted_zone_parameter}`), so that any
template set that carries them, ours or hand-written, deploys the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fargate_api.errors import UserError
from fargate_api.metadata_keys import DOMAIN, DOMAIN_NAME, DOMAIN_ZONE_PARAMETER, SUPPRESSIONS


@dataclass(frozen=True)
class CustomDomain:
    name: str  # lower case, without a trailing dot
    zone_parameter: str  # the template parameter that takes the hosted zone's id
    zone_default: str | None  # that parameter's Default, when it has one

    @property
    def where(self) -> str:
        return f"Metadata.{SUPPRESSIONS}.{DOMAIN}"


def custom_domain(file: str, document: Mapping[str, Any]) -> CustomDomain | None:
    """The domain a parsed template names in its Metadata, or None when it names none."""
    metadata = document.get("Metadata")
    block = metadata.get(SUPPRESSIONS) if isinstance(metadata, dict) else None
    raw = block.get(DOMAIN) if isinstance(block, dict) else None
    if raw is None:
        return None
    where = f"{file}: Metadata.{SUPPRESSIONS}.{DOMAIN}"
    fix = (
        f"write it as fargate-api synth does: {{{DOMAIN_NAME}: api.example.com, "
        f"{DOMAIN_ZONE_PARAMETER}: HostedZoneId}}"
    )
    name = raw.get(DOMAIN_NAME) if isinstance(raw, dict) else None
    parameter = raw.get(DOMAIN_ZONE_PARAMETER) if isinstance(raw, dict) else None
    if not isinstance(name, str) or not name.strip(".") or not isinstance(parameter, str):
        raise UserError(
            f"the domain Metadata needs a {DOMAIN_NAME} and a {DOMAIN_ZONE_PARAMETER}",
            where=where,
            fix=fix,
        )
    parameters = document.get("Parameters")
    body = parameters.get(parameter) if isinstance(parameters, dict) else None
    if not isinstance(body, dict):
        raise UserError(
            f"{DOMAIN_ZONE_PARAMETER} names {parameter}, which is not a parameter of {file}",
            where=where,
            fix=fix,
        )
    default = body.get("Default")
    return CustomDomain(
        name=name.strip().rstrip(".").lower(),
        zone_parameter=parameter,
        zone_default=str(default) if default not in (None, "") else None,
    )
