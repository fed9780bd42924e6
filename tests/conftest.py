"""Shared pytest configuration for all test tiers.

Deliberately minimal: tier-specific setup lives in each tier's own conftest
(``tests/twin/conftest.py`` for the local-twin tier), so that running one tier
never needs the prerequisites of another.

The one shared piece is the banner below: when the twin tier could not run, its
tests are skipped (or, with CI=true, fail) with a reason starting with
``TWIN_NOT_RUN_TAG``. The banner is driven by the test reports, so it works with
pytest-xdist too (the controller process never runs the twin conftest's fixtures).
"""

from __future__ import annotations

import pytest

# Must match NOT_RUN_TAG in tests/twin/conftest.py.
TWIN_NOT_RUN_TAG = "twin tier did not run"


def _report_text(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, lineno, "Skipped: <reason>")
        return str(longrepr[2])
    return report.longreprtext


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    reasons: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not isinstance(report, pytest.TestReport) or report.passed:
                continue
            text = _report_text(report)
            start = text.find(TWIN_NOT_RUN_TAG)
            if start >= 0:
                reason = text[start:].splitlines()[0]
                reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    title = "TWIN TIER DID NOT RUN"
    terminalreporter.write_sep("!", title, red=True, bold=True)
    for reason, count in reasons.items():
        terminalreporter.write_line(f"  {count} twin test(s): {reason}", red=True, bold=True)
    only_containers = all("in container mode" in reason for reason in reasons)
    terminalreporter.write_line(
        "  The twin's containers (podman, images) were not verified; process mode was."
        if only_containers
        else "  Nothing about the local twin (namespaces, nftables, haproxy) was verified.",
        red=True,
        bold=True,
    )
    terminalreporter.write_sep("!", title, red=True, bold=True)
