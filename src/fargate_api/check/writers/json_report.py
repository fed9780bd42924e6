"""The JSON report: every finding (suppressed ones marked), counts, and rule metadata.

Its shape is a contract for scripts (`jq '.findings[] | select(.suppressed == null)'`):
add keys, never rename them.
"""

from __future__ import annotations

import json
from typing import Any

from fargate_api import __version__
from fargate_api.check.findings import Finding, RuleMeta
from fargate_api.check.report import Report

SCHEMA_VERSION = 1


def to_json(report: Report) -> str:
    counts = report.counts()
    used = sorted({f.rule_id for f in report.findings})
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fargate-api", "version": __version__},
        "files": list(report.files),
        "strict": report.strict,
        "exit_code": report.exit_code,
        "summary": {
            **{severity.value: n for severity, n in counts.items()},
            "suppressed": len(report.suppressed),
        },
        "findings": [finding_json(f, report.rules.get(f.rule_id)) for f in report.findings],
        "rules": [rule_json(report.rules[r]) for r in used if r in report.rules],
        "notes": list(report.notes),
    }
    return json.dumps(document, indent=2)


def finding_json(finding: Finding, meta: RuleMeta | None) -> dict[str, Any]:
    loc = finding.location
    suppression = finding.suppressed_by
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "title": meta.title if meta else None,
        "message": finding.message,
        "source": finding.source,
        "file": loc.file,
        "line": loc.line,
        "stack": loc.stack,
        "resource": loc.resource,
        "path": loc.path_text() or None,
        "suppressed": None
        if suppression is None
        else {"reason": suppression.reason, "file": suppression.file, "line": suppression.line},
    }


def rule_json(meta: RuleMeta) -> dict[str, Any]:
    refs = meta.references
    return {
        "id": meta.id,
        "name": meta.name,
        "severity": meta.severity.value,
        "title": meta.title,
        "why": meta.why,
        "fix": meta.fix,
        "source": meta.source,
        "references": {
            "fsbp": list(refs.fsbp),
            "checkov": list(refs.checkov),
            "cfn_lint": list(refs.cfn_lint),
            "aws_config": list(refs.aws_config),
            "docs": list(refs.docs),
        },
    }
