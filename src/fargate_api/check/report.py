"""The result of one check run, and the exit code it implies.

Suppressed findings are kept (the JSON and SARIF writers list them) but never counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fargate_api.check.findings import Finding, RuleMeta, Severity

CLEAN, FINDINGS = 0, 1


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    rules: Mapping[str, RuleMeta]
    files: tuple[str, ...]
    strict: bool = False
    notes: tuple[str, ...] = ()

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed]

    def counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for finding in self.active:
            counts[finding.severity] += 1
        return counts

    @property
    def exit_code(self) -> int:
        counts = self.counts()
        failing = counts[Severity.ERROR] + (counts[Severity.WARNING] if self.strict else 0)
        return FINDINGS if failing else CLEAN
