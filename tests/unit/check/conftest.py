"""Fixtures for the check engine and template loader unit tests.

Rules run without cfn-lint here (it costs a second per template); the cfn-lint bridge
has its own tests, and the functional tier runs everything together.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from fargate_api.check import CheckOptions, Report, run_check
from fargate_api.templates import DiskReader, MemoryReader, StackSet, discover, load_stack_set
from unit.templates.support import listener

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"

CheckText = Callable[..., Report]
LoadText = Callable[..., StackSet]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def _memory(files: dict[str, str]) -> MemoryReader:
    return MemoryReader({Path(name): textwrap.dedent(text) for name, text in files.items()})


@pytest.fixture
def load_text() -> LoadText:
    """Loads templates given as text: load_text(template) or load_text(root, files={...})."""

    def load(
        text: str = "", *, files: dict[str, str] | None = None, root: str = "t.yml"
    ) -> StackSet:
        reader = _memory(files or {root: text})
        return load_stack_set(Path(root), reader=reader)

    return load


@pytest.fixture
def check_text() -> CheckText:
    def check(
        text: str = "", *, files: dict[str, str] | None = None, strict: bool = False
    ) -> Report:
        reader = _memory(files or {"t.yml": text})
        roots = discover(reader.paths(), reader).roots
        sets = [load_stack_set(root, reader=reader) for root in roots]
        return run_check(sets, CheckOptions(strict=strict, cfn_lint=False))

    return check


@pytest.fixture
def check_dir() -> Callable[[Path], Report]:
    def check(path: Path) -> Report:
        reader = DiskReader()
        sets = [load_stack_set(r, reader=reader) for r in discover([path], reader).roots]
        return run_check(sets, CheckOptions(cfn_lint=False))

    return check


def rule_hits(report: Report) -> set[tuple[str, str | None]]:
    """(rule, resource) of the findings that count."""
    return {(f.rule_id, f.location.resource) for f in report.active}


def listener_rules_template(*rules: str) -> str:
    """Two HTTP listeners answering 404 (Http and Other) of one load balancer, a target
    group, and ``rules`` (listener_rule texts) on them: the listener-rule checks' stack."""
    return (
        """
Parameters:
  Paths: {Type: CommaDelimitedList}
  Host: {Type: String}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Scheme: internal, Subnets: [subnet-1, subnet-2]}
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {TargetType: ip, Port: 80, Protocol: HTTP}"""
        + listener("Http", 80)
        + listener("Other", 8080)
        + "".join(rules)
        + "\n"
    )
