"""cfn-lint, run in-process through its Python API, its matches turned into our findings.

Informational checks are included: some of them are exactly the pattern's concerns
(I3011 DeletionPolicy, I3042 hard-coded partition). A cfn-lint failure on one file is
reported as a finding, not a crash, because check must survive odd templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fargate_api.check.findings import Finding, Location, References, RuleMeta, Severity
from fargate_api.templates import TemplateFile

RULES_DOC = "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md"
_SEVERITY = {"E": Severity.ERROR, "W": Severity.WARNING, "I": Severity.INFO}

CFN_LINT_FAILED = RuleMeta(
    id="FA003",
    name="cfn-lint-failed",
    severity=Severity.WARNING,
    title="cfn-lint could not check a template",
    why="The template was checked by fargate-api's rules only; cfn-lint's schema checks "
    "did not run on it.",
    fix="Run cfn-lint on the file directly to see its error, and report it if it is a bug.",
)


@dataclass(frozen=True)
class LintResult:
    findings: list[Finding]
    rules: dict[str, RuleMeta]


def lint_template(file: TemplateFile, region: str) -> LintResult:
    # Imported here: cfn-lint takes half a second to import, and only check needs it.
    from cfnlint.api import ManualArgs, lint  # noqa: PLC0415

    try:
        matches = lint(file.text, config=ManualArgs(include_checks=["I"], regions=[region]))
    except Exception as exc:  # cfn-lint bugs must not take check down
        finding = Finding(
            rule_id=CFN_LINT_FAILED.id,
            severity=CFN_LINT_FAILED.severity,
            message=f"cfn-lint failed on this file: {type(exc).__name__}: {exc}",
            location=Location(file=file.display),
        )
        return LintResult([finding], {CFN_LINT_FAILED.id: CFN_LINT_FAILED})
    findings: list[Finding] = []
    rules: dict[str, RuleMeta] = {}
    for match in matches:
        meta = _meta(match.rule)
        rules[meta.id] = meta
        findings.append(_finding(file, match, meta))
    return LintResult(findings, rules)


def _meta(rule: Any) -> RuleMeta:
    rule_id = str(rule.id)
    url = str(getattr(rule, "source_url", "") or "") or RULES_DOC
    title = str(getattr(rule, "shortdesc", "") or rule_id)
    return RuleMeta(
        id=rule_id,
        name="cfn-lint-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        severity=_SEVERITY.get(rule_id[:1], Severity.WARNING),
        title=title,
        why=str(getattr(rule, "description", "") or title),
        fix=f"See cfn-lint rule {rule_id}: {url}",
        references=References(docs=(url,)),
        source="cfn-lint",
        help_uri=url,
    )


def _finding(file: TemplateFile, match: Any, meta: RuleMeta) -> Finding:
    path = [p for p in (getattr(match, "path", None) or []) if isinstance(p, str | int)]
    resource = str(path[1]) if len(path) >= 2 and path[0] == "Resources" else None
    line = getattr(match, "linenumber", None)
    return Finding(
        rule_id=meta.id,
        severity=meta.severity,
        message=str(match.message),
        location=Location(
            file=file.display,
            line=line if isinstance(line, int) and line > 0 else None,
            resource=resource,
            path=tuple(path[2:]) if resource else tuple(path),
        ),
        source="cfn-lint",
    )
