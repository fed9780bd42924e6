"""Runs every rule plugin and cfn-lint over the stack sets and applies suppressions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fargate_api.check.cfn_lint import CFN_LINT_FAILED, lint_template
from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta
from fargate_api.check.registry import load_rules
from fargate_api.check.report import Report
from fargate_api.check.rule import Rule
from fargate_api.check.suppressions import META_RULES, apply_suppressions, read_suppressions
from fargate_api.templates import StackSet, TemplateFile


@dataclass(frozen=True)
class CheckOptions:
    strict: bool = False
    cfn_lint: bool = True
    region: str = "us-east-1"


def run_check(
    stack_sets: Sequence[StackSet],
    options: CheckOptions | None = None,
    rules: Sequence[Rule] | None = None,
    notes: Sequence[str] = (),
) -> Report:
    options = options or CheckOptions()
    rules = load_rules() if rules is None else rules
    ctx = CheckContext(stack_sets)
    metas: dict[str, RuleMeta] = {**META_RULES, CFN_LINT_FAILED.id: CFN_LINT_FAILED}
    metas.update({rule.meta.id: rule.meta for rule in rules})
    findings: list[Finding] = [f for rule in rules for f in rule.check(ctx)]
    files = _files(stack_sets)
    if options.cfn_lint:
        lint_findings: list[Finding] = []
        for file in files:
            result = lint_template(file, options.region)
            metas.update(result.rules)
            lint_findings += result.findings
        findings += _not_superseded(lint_findings, findings, metas)
    entries, invalid = read_suppressions(ctx, metas)
    findings, unused = apply_suppressions(_unique(findings), entries)
    findings += invalid + unused
    findings.sort(key=Finding.sort_key)
    return Report(
        findings=tuple(findings),
        rules=metas,
        files=tuple(f.display for f in files),
        strict=options.strict,
        notes=tuple(notes),
    )


def _files(stack_sets: Sequence[StackSet]) -> list[TemplateFile]:
    files: dict[str, TemplateFile] = {}
    for stack_set in stack_sets:
        for file in stack_set.files.values():
            files.setdefault(file.display, file)
    return list(files.values())


def _not_superseded(
    lint: list[Finding], ours: list[Finding], metas: dict[str, RuleMeta]
) -> list[Finding]:
    """Drops a cfn-lint finding when one of our rules says the same on the same resource."""
    covered = {
        (f.location.file, f.location.resource, lint_id)
        for f in ours
        for lint_id in metas[f.rule_id].references.cfn_lint
    }
    return [f for f in lint if (f.location.file, f.location.resource, f.rule_id) not in covered]


def _unique(findings: list[Finding]) -> list[Finding]:
    """One finding per rule, place and message: a file nested twice reports once."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for f in findings:
        loc = f.location
        key = (f.rule_id, loc.file, loc.resource, loc.path, f.message)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
