"""The stand-ins for what only a deployment knows: account, region, AZ names.

Rules compare values, they never call AWS, so a fixed, obviously fake account and a
region are enough; AZ names follow the region so that Select/GetAZs yields distinct,
stable names per index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

AZ_LETTERS = "abcdef"


@dataclass(frozen=True)
class ResolveOptions:
    region: str = "us-east-1"
    account_id: str = "123456789012"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    # Values for the root template's parameters, as a deploy would pass them (the twin
    # passes the digest of the image it built, for example); the rest keep their defaults.
    parameters: Mapping[str, str] = field(default_factory=dict)

    def availability_zones(self, region: str) -> list[str]:
        return [f"{region}{letter}" for letter in AZ_LETTERS]
