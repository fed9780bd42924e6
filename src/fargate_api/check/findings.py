"""Findings are data: which rule, how bad, where (file, line, stack, resource, property).

Rule metadata lives next to them because every writer needs both: SARIF lists rules
once and points results at them; the text and JSON reports show the fix hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from fargate_api.templates import PropertyPath


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class References:
    """Where the same concern is named elsewhere, so findings map onto existing policies."""

    fsbp: tuple[str, ...] = ()  # AWS Security Hub Foundational Security Best Practices
    checkov: tuple[str, ...] = ()
    cfn_lint: tuple[str, ...] = ()  # cfn-lint rules this rule supersedes on the same resource
    aws_config: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()  # URLs

    def labels(self) -> list[str]:
        return (
            [f"FSBP {c}" for c in self.fsbp]
            + [f"checkov {c}" for c in self.checkov]
            + [f"cfn-lint {c}" for c in self.cfn_lint]
            + [f"AWS Config {c}" for c in self.aws_config]
        )


@dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str  # kebab-case slug, stable like the id
    severity: Severity
    title: str
    why: str
    fix: str
    references: References = field(default_factory=References)
    source: str = "fargate-api"
    help_uri: str | None = None


@dataclass(frozen=True)
class Location:
    file: str | None = None
    line: int | None = None
    stack: str | None = None
    resource: str | None = None
    path: PropertyPath = ()

    def path_text(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text


@dataclass(frozen=True)
class Suppression:
    rule_id: str
    reason: str
    file: str | None
    line: int | None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    location: Location
    source: str = "fargate-api"
    suppressed_by: Suppression | None = None

    @property
    def suppressed(self) -> bool:
        return self.suppressed_by is not None

    def sort_key(self) -> tuple[str, int, str, str]:
        loc = self.location
        return (loc.file or "", loc.line or 0, self.rule_id, self.message)
