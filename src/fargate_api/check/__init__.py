"""`fargate-api check`: pattern rules and cfn-lint over a set of templates, one report.

The engine (engine.py) loads nothing itself: it receives stack sets from the template
loader, runs every rule plugin found in `rules/` plus cfn-lint, applies the suppressions
written in the templates, and returns a Report that the writers turn into text, JSON or
SARIF.
"""

from fargate_api.check.engine import CheckOptions, run_check
from fargate_api.check.findings import Finding, Location, RuleMeta, Severity, Suppression
from fargate_api.check.report import Report

__all__ = [
    "CheckOptions",
    "Finding",
    "Location",
    "Report",
    "RuleMeta",
    "Severity",
    "Suppression",
    "run_check",
]
