"""The stand-ins for what only a deployment knows: account, region, AZ names.

Rules compare values, they never call AWS, so a fixed, obviously fake account and a
region are enough; AZ names follow the region so that Select/GetAZs yields distinct,
stable names per index.
"""

from __future__ import annotations

from dataclasses import dataclass

AZ_LETTERS = "abcdef"


@dataclass(frozen=True)
class ResolveOptions:
    region: str = "us-east-1"
    account_id: str = "123456789012"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def availability_zones(self, region: str) -> list[str]:
        return [f"{region}{letter}" for letter in AZ_LETTERS]
