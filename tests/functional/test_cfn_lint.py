"""cfn-lint on every template of every variant (and of each of its environments): no
finding at all, informational included.

Rules run for three regions of different ages (us-east-1, eu-west-1, ap-southeast-2), so a
resource type or property missing in one of them is caught. The harness itself is tested
too: a deliberately broken template must produce findings, and an informational-only
problem must be reported, so a green run means something.
"""

from __future__ import annotations

import pytest
import yaml

from functional.support import (
    GOLDEN_DIR,
    Json,
    SynthCache,
    format_matches,
    lint_text,
    load_template,
    scanned_variant_files,
)


def _rule_ids(matches: list[object]) -> set[str]:
    return {str(getattr(getattr(m, "rule", None), "id", "?")) for m in matches}


@pytest.mark.parametrize(("variant", "name"), scanned_variant_files())
def test_template_has_no_cfn_lint_findings(
    synthesized: SynthCache, variant: str, name: str
) -> None:
    text = (synthesized.get(variant) / name).read_text(encoding="utf-8")
    matches = lint_text(text)
    assert matches == [], format_matches(f"{variant}/{name}", matches)


def _default_service() -> Json:
    return load_template(GOLDEN_DIR / "default" / "service.yml")


def test_lint_reports_an_invalid_property() -> None:
    broken = _default_service()
    service = broken["Resources"]["Service"]
    service["Properties"]["LaunchTypo"] = "FARGATE"
    matches = lint_text(yaml.safe_dump(broken, sort_keys=False))
    assert matches, "cfn-lint found nothing in a service.yml with an invalid property"
    assert "E3002" in _rule_ids(matches), format_matches("broken service.yml", matches)
    assert any("LaunchTypo" in str(getattr(m, "message", "")) for m in matches)


def test_lint_reports_a_dangling_reference() -> None:
    broken = _default_service()
    service = broken["Resources"]["Service"]
    service["Properties"]["TaskDefinition"] = {"Ref": "NoSuchTaskDefinition"}
    matches = lint_text(yaml.safe_dump(broken, sort_keys=False))
    assert any(rule.startswith("E") for rule in _rule_ids(matches)), format_matches(
        "service.yml with a dangling Ref", matches
    )


def test_lint_includes_informational_rules() -> None:
    """A stateful resource without a deletion policy is only an I-level finding (I3011)."""
    template = _default_service()
    log_group = template["Resources"]["LogGroup"]
    del log_group["DeletionPolicy"]
    del log_group["UpdateReplacePolicy"]
    matches = lint_text(yaml.safe_dump(template, sort_keys=False))
    assert "I3011" in _rule_ids(matches), (
        "informational rules are not enabled in the lint harness: "
        + format_matches("service.yml without DeletionPolicy", matches)
    )


def test_lint_reports_unparsable_text() -> None:
    matches = lint_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n")
    assert matches, "cfn-lint accepted a template that is not valid YAML"
