"""Banner for external scanners (checkov, cfn-guard) that could not run.

`make install` installs them (scripts/install-scanners.sh). When one is missing its tests
FAIL with CI=true and are skipped elsewhere, with a reason starting with NOT_RUN_TAG; this
hook repeats those reasons loudly at the end of the run so nobody mistakes a skip for a
pass. (Under pytest-xdist the reasons still appear in the -ra summary.)
"""

from __future__ import annotations

import pytest

from functional.check.support import NOT_RUN_TAG


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        if NOT_RUN_TAG in text:
            reasons.append(text[text.find(NOT_RUN_TAG) :])
    if not reasons:
        return
    terminalreporter.write_sep("!", NOT_RUN_TAG, red=True, bold=True)
    for reason in reasons:
        terminalreporter.write_line(f"  {reason}", red=True, bold=True)
    terminalreporter.write_sep("!", NOT_RUN_TAG, red=True, bold=True)
