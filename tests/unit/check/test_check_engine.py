"""Registry, suppressions, cfn-lint bridge, writers and exit codes."""

from __future__ import annotations

import io
import json
import textwrap
import types
from pathlib import Path

import cfnlint.api
import pytest
from rich.console import Console

from fargate_api.check import CheckOptions, Report, run_check
from fargate_api.check.cfn_lint import lint_template
from fargate_api.check.findings import Severity
from fargate_api.check.registry import RuleRegistryError, load_rules, rule_of
from fargate_api.check.rules import fa501_mutable_image_tag
from fargate_api.check.writers.json_report import to_json
from fargate_api.check.writers.sarif import to_sarif
from fargate_api.check.writers.text import write_text
from fargate_api.templates import DiskReader, MemoryReader, discover, load_stack_set
from fargate_api.templates.parse import parse_template
from unit.check.clean_template import CLEAN
from unit.check.conftest import CheckText


def test_rules_are_discovered_with_complete_metadata() -> None:
    rules = load_rules()
    assert len(rules) >= 30
    for rule in rules:
        meta = rule.meta
        assert meta.title and meta.why and meta.fix and meta.name, meta.id
        assert meta.severity in Severity
        assert type(rule).__module__.rsplit(".", 1)[-1].startswith(meta.id.lower() + "_")


def test_a_broken_plugin_is_refused() -> None:
    empty = types.ModuleType("fargate_api.check.rules.fa999_nothing")
    with pytest.raises(RuleRegistryError, match="no RULE"):
        rule_of(empty)
    misnamed = types.ModuleType("fargate_api.check.rules.fa777_wrong")
    misnamed.RULE = fa501_mutable_image_tag.RULE  # type: ignore[attr-defined]
    with pytest.raises(RuleRegistryError, match="must be named fa501_"):
        rule_of(misnamed)


def _check(path: Path, *, cfn_lint: bool = False, strict: bool = False) -> Report:
    reader = DiskReader()
    sets = [load_stack_set(r, reader=reader) for r in discover([path], reader).roots]
    return run_check(sets, CheckOptions(cfn_lint=cfn_lint, strict=strict))


def test_suppressions(fixtures: Path) -> None:
    report = _check(fixtures / "suppressions")
    by = {(f.rule_id, f.location.resource): f for f in report.findings}
    assert by[("FA601", "Logs")].suppressed
    assert "retention policy" in by[("FA601", "Logs")].suppressed_by.reason  # type: ignore[union-attr]
    assert not by[("FA601", "UnjustifiedLogs")].suppressed
    assert "needs a reason" in by[("FA001", "UnjustifiedLogs")].message
    assert "FA999" in by[("FA001", "UnknownRule")].message
    assert by[("FA002", "Stale")].severity is Severity.WARNING
    assert ("FA001", "NotAList") in by
    assert report.counts()[Severity.ERROR] == 3
    assert len(report.suppressed) == 1


def test_a_suppression_also_covers_cfn_lint_findings(check_text: CheckText) -> None:
    text = """\
    Resources:
      Topic:
        Type: AWS::SNS::Topic
        DependsOn: Other
        Properties: {TopicName: !GetAtt Other.TopicName}
        Metadata:
          fargate-api:
            suppress: [{id: W3005, reason: kept explicit for readers of the template}]
      Other: {Type: AWS::SNS::Topic}
    """
    reader = MemoryReader({Path("t.yml"): textwrap.dedent(text)})
    report = run_check([load_stack_set(Path("t.yml"), reader=reader)])
    (finding,) = [f for f in report.findings if f.rule_id == "W3005"]
    assert finding.suppressed and finding.source == "cfn-lint"
    assert report.active == []


def test_cfn_lint_findings_have_resource_path_and_line(check_text: CheckText) -> None:
    text = (
        "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n"
        "      CidrBlock: 10.0.0.0/16\n      Colour: blue\n"
    )
    result = lint_template(parse_template(Path("t.yml"), "t.yml", text), "us-east-1")
    (finding,) = result.findings
    assert finding.rule_id == "E3002" and finding.severity is Severity.ERROR
    assert finding.location.resource == "Vpc" and finding.location.line == 6
    assert finding.location.path == ("Properties", "Colour")
    assert result.rules["E3002"].source == "cfn-lint"


def test_a_cfn_lint_crash_becomes_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cfnlint.api, "lint", boom)
    file = parse_template(Path("t.yml"), "t.yml", "Resources:\n  A: {Type: AWS::SNS::Topic}\n")
    (finding,) = lint_template(file, "us-east-1").findings
    assert finding.rule_id == "FA003" and "boom" in finding.message


def test_exit_codes(check_text: CheckText) -> None:
    warning_only = CLEAN.replace("UnhealthyThresholdCount: 2", "UnhealthyThresholdCount: 10")
    assert check_text(warning_only).exit_code == 0
    assert check_text(warning_only, strict=True).exit_code == 1
    info_only = CLEAN.replace("CidrIp: 0.0.0.0/0, Description: HTTPS}", "CidrIp: 0.0.0.0/0}")
    assert check_text(info_only, strict=True).exit_code == 0
    error = CLEAN.replace("AssignPublicIp: DISABLED", "AssignPublicIp: ENABLED")
    assert check_text(error).exit_code == 1


def test_json_report(fixtures: Path) -> None:
    document = json.loads(to_json(_check(fixtures / "suppressions")))
    assert document["summary"] == {"error": 3, "warning": 2, "info": 0, "suppressed": 1}
    assert document["exit_code"] == 1
    suppressed = [f for f in document["findings"] if f["suppressed"]]
    assert suppressed[0]["suppressed"]["reason"].startswith("audit logs")
    first = document["findings"][0]
    assert set(first) >= {
        "rule",
        "severity",
        "file",
        "line",
        "stack",
        "resource",
        "path",
        "message",
    }
    assert {r["id"] for r in document["rules"]} >= {"FA001", "FA002", "FA601"}


def test_sarif_report(reference_dir: Path) -> None:
    report = _check(reference_dir)
    log = json.loads(to_sarif(report))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and "FA203" in ids
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"].endswith((".yml", ".yaml", ".json"))
        assert physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"]
    fa203 = next(r for r in run["results"] if r["ruleId"] == "FA203")
    assert fa203["level"] == "error"
    assert fa203["locations"][0]["logicalLocations"][0]["name"] == "PublicLoadBalancerSG"


def test_sarif_marks_suppressed_results(fixtures: Path) -> None:
    log = json.loads(to_sarif(_check(fixtures / "suppressions")))
    suppressed = [r for r in log["runs"][0]["results"] if "suppressions" in r]
    assert len(suppressed) == 1
    assert suppressed[0]["suppressions"][0]["kind"] == "inSource"
    assert suppressed[0]["suppressions"][0]["justification"].startswith("audit logs")


def test_text_report(reference_dir: Path) -> None:
    console = Console(record=True, width=200, file=io.StringIO())
    write_text(_check(reference_dir), console)
    text = console.export_text()
    assert "service.yml:142 PublicLoadBalancerSG" in text
    assert "fix: Allow only TCP on the listener ports" in text
    assert "0 info" not in text and "failed" in text


def test_a_fargate_api_block_without_suppress_is_not_a_broken_suppression(
    check_text: CheckText,
) -> None:
    """The synth writes `local: {command}` for the twin in the same Metadata block."""
    local_only = CLEAN.replace(
        "  Vpc:\n    Type: AWS::EC2::VPC\n",
        "  Vpc:\n    Type: AWS::EC2::VPC\n"
        "    Metadata: {fargate-api: {local: {command: 'serve'}}}\n",
    )
    assert local_only != CLEAN
    report = check_text(local_only, strict=True)
    assert report.exit_code == 0, [f.message for f in report.findings]
    broken = local_only.replace("{local: {command: 'serve'}}", "{suppress: 'not a list'}")
    assert any(f.rule_id == "FA001" for f in check_text(broken).findings)
