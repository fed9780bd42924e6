"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run, one driver ("fargate-api") whose rules are ours plus the cfn-lint rules that
fired, so a single upload carries both. Suppressed findings are results with an
`inSource` suppression and the reason as justification: code scanning shows them as
suppressed instead of open. Locations are relative to the working directory
(%SRCROOT%), which is the repository root when run in CI.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fargate_api import __version__
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.report import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# GitHub orders security alerts by this score (0-10) when a rule is tagged "security".
SECURITY_SEVERITY = {Severity.ERROR: "8.0", Severity.WARNING: "5.0", Severity.INFO: "2.0"}


def to_sarif(report: Report) -> str:
    rule_ids = sorted({f.rule_id for f in report.findings} | _own_rules(report))
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    run = {
        "tool": {
            "driver": {
                "name": "fargate-api",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(report.rules[r]) for r in rule_ids],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "columnKind": "utf16CodeUnits",
        "invocations": [{"executionSuccessful": True}],
        "results": [_result(f, index) for f in report.findings],
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2)


def _own_rules(report: Report) -> set[str]:
    return {r for r, meta in report.rules.items() if meta.source == "fargate-api"}


def _rule(meta: RuleMeta) -> dict[str, Any]:
    refs = meta.references.labels()
    help_text = meta.fix + (f"\n\nSee also: {', '.join(refs)}." if refs else "")
    rule: dict[str, Any] = {
        "id": meta.id,
        "name": "".join(part.capitalize() for part in meta.name.split("-")),
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": meta.why},
        "help": {"text": help_text, "markdown": f"**Fix:** {help_text}"},
        "defaultConfiguration": {"level": LEVEL[meta.severity]},
        "properties": {
            "tags": ["security", "cloudformation", meta.source, *refs],
            "precision": "high",
            "problem.severity": {"info": "recommendation"}.get(
                meta.severity.value, meta.severity.value
            ),
            "security-severity": SECURITY_SEVERITY[meta.severity],
        },
    }
    if meta.help_uri:
        rule["helpUri"] = meta.help_uri
    return rule


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    loc = finding.location
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": loc.file or "", "uriBaseId": "%SRCROOT%"}
    }
    if loc.line:
        physical["region"] = {"startLine": loc.line}
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.resource:
        qualified = "/".join(p for p in (loc.stack, loc.resource) if p)
        location["logicalLocations"] = [
            {"name": loc.resource, "fullyQualifiedName": qualified, "kind": "resource"}
        ]
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {"fargateApiFinding/v1": _fingerprint(finding)},
    }
    if finding.suppressed_by is not None:
        result["suppressions"] = [
            {
                "kind": "inSource",
                "status": "accepted",
                "justification": finding.suppressed_by.reason,
            }
        ]
    return result


def _fingerprint(finding: Finding) -> str:
    """Stable across line moves, so code scanning keeps tracking the same alert."""
    loc = finding.location
    key = "|".join(
        [finding.rule_id, loc.file or "", loc.resource or "", loc.path_text(), finding.message]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]
