"""Suppressions written next to the resource they excuse, each with its reason.

    Metadata:
      fargate-api:
        suppress:
          - id: FA501
            reason: the demo image is only published as :latest

A suppression without a reason, or for a rule that does not exist, is itself a finding
(FA001) and suppresses nothing; one that matches no finding is stale (FA002). Suppressed
findings stay in the JSON and SARIF reports, marked, so that an audit sees them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity, Suppression
from fargate_api.check.rule import locate
from fargate_api.metadata_keys import SUPPRESSIONS
from fargate_api.templates import Resource
from fargate_api.templates.props import as_list, as_str, get

METADATA_KEY = SUPPRESSIONS
CFN_LINT_ID = re.compile(r"^[EWI]\d{4}$")
MIN_REASON_LENGTH = 10

INVALID_SUPPRESSION = RuleMeta(
    id="FA001",
    name="invalid-suppression",
    severity=Severity.ERROR,
    title="A suppression is malformed, has no reason, or names an unknown rule",
    why="Every suppression must say why the finding does not apply, so that a reviewer can "
    "judge it; one that cannot be applied silently leaves the finding it meant to excuse.",
    fix="Write each entry as {id: FA123, reason: <why this does not apply here>} under "
    "Metadata.fargate-api.suppress of the resource that has the finding.",
)
UNUSED_SUPPRESSION = RuleMeta(
    id="FA002",
    name="unused-suppression",
    severity=Severity.WARNING,
    title="A suppression matches no finding",
    why="A stale suppression would silently hide the finding if it came back for another "
    "reason; it also misleads readers about what the template does.",
    fix="Delete the suppression, or move it to the resource that has the finding.",
)
META_RULES = {meta.id: meta for meta in (INVALID_SUPPRESSION, UNUSED_SUPPRESSION)}


@dataclass(frozen=True)
class Entry:
    resource: Resource
    index: int
    rule_id: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.resource.file.display, self.resource.logical_id, self.rule_id)

    def suppression(self) -> Suppression:
        path = ("Metadata", METADATA_KEY, "suppress", self.index)
        return Suppression(
            rule_id=self.rule_id,
            reason=self.reason,
            file=self.resource.file.display,
            line=self.resource.line_of(path),
        )


def read_suppressions(
    ctx: CheckContext, known_ids: Iterable[str]
) -> tuple[list[Entry], list[Finding]]:
    known = set(known_ids)
    entries: dict[tuple[str, str, str], Entry] = {}
    problems: list[Finding] = []
    for resource in ctx.resources():
        block = resource.metadata.get(METADATA_KEY)
        if block is None:
            continue
        base = ("Metadata", METADATA_KEY, "suppress")
        items = get(block, "suppress")
        if items is None and isinstance(block, dict):
            continue  # the block holds other keys only (the twin's `local` command)
        if not isinstance(items, list):
            problems.append(_invalid(resource, base, "suppress must be a list of {id, reason}"))
            continue
        for index, item in enumerate(as_list(items)):
            rule_id = as_str(get(item, "id"))
            reason = (as_str(get(item, "reason")) or "").strip()
            problem = _problem(rule_id, reason, known)
            if problem:
                problems.append(_invalid(resource, (*base, index), problem))
                continue
            assert rule_id is not None
            entry = Entry(resource, index, rule_id, reason)
            entries.setdefault(entry.key, entry)
    return list(entries.values()), problems


def _problem(rule_id: str | None, reason: str, known: set[str]) -> str | None:
    if not rule_id:
        return "a suppression needs an id, e.g. {id: FA501, reason: ...}"
    if rule_id not in known and not CFN_LINT_ID.match(rule_id):
        return f"suppression names {rule_id}, which is not a fargate-api or cfn-lint rule id"
    if rule_id in META_RULES:
        return f"{rule_id} findings cannot be suppressed"
    if len(reason) < MIN_REASON_LENGTH:
        return (
            f"the suppression of {rule_id} needs a reason (a sentence saying why it does not apply)"
        )
    return None


def _invalid(resource: Resource, path: tuple[str | int, ...], message: str) -> Finding:
    return Finding(
        rule_id=INVALID_SUPPRESSION.id,
        severity=INVALID_SUPPRESSION.severity,
        message=message,
        location=locate(resource, path),
    )


def apply_suppressions(
    findings: Sequence[Finding], entries: Sequence[Entry]
) -> tuple[list[Finding], list[Finding]]:
    """Findings with their suppression attached, and FA002 findings for unused entries."""
    by_key = {entry.key: entry for entry in entries}
    used: set[tuple[str, str, str]] = set()
    result = []
    for finding in findings:
        loc = finding.location
        key = (loc.file or "", loc.resource or "", finding.rule_id)
        entry = by_key.get(key)
        if entry is not None and finding.rule_id not in META_RULES:
            used.add(key)
            result.append(replace(finding, suppressed_by=entry.suppression()))
        else:
            result.append(finding)
    unused = [
        Finding(
            rule_id=UNUSED_SUPPRESSION.id,
            severity=UNUSED_SUPPRESSION.severity,
            message=f"the suppression of {entry.rule_id} matches no finding on "
            f"{entry.resource.logical_id}",
            location=locate(entry.resource, ("Metadata", METADATA_KEY, "suppress", entry.index)),
        )
        for entry in entries
        if entry.key not in used
    ]
    return result, unused
