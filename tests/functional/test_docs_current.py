"""Generated docs stay in step with the code they describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fargate_api.check.registry import load_rules

REPO = Path(__file__).resolve().parents[2]


def test_rules_doc_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_rules_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_rules_doc_lists_every_rule() -> None:
    text = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    for rule in load_rules():
        assert f"## {rule.meta.id} {rule.meta.name}" in text
