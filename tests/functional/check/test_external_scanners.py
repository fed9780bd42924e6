"""Cross-checks with independent scanners: checkov and cfn-guard with the AWS Control Tower
proactive rules (both installed by `make install`, see functional/check/scanners.py).

Our templates are the default synth plus every variant in tests/variants/*.toml, each of
its [env.NAME] environments too. On them:

- checkov (framework cloudformation) reports 0 failed checks. Every check it skips is
  skipped inline (`Metadata.checkov.skip`) with a comment, and each skip is needed: checkov
  fails that very check on that resource once the skips are removed.
- cfn-guard with every Control Tower rule reports 0 failures that the resource does not
  suppress inline (`Metadata.guard.SuppressedRules`, with its reason under
  `Metadata.guard.Reasons`). The Control Tower rules do not read that block themselves, so
  this test applies it; rules for resource types we do not have come back not applicable
  and pass. Every suppression must match a failure that cfn-guard really reports.

Each scanner must also be able to fail: on the reference pattern's templates both report
failures, among them the checkov ids and guard rules that our synth pairs with our own rule
ids (same reason) wherever our own check reports that rule on the reference.

Without the tools: FAIL when CI=true, otherwise skip with a reason that the end-of-run
banner (conftest.py) repeats.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from functional.check.scanners import (
    CFN_GUARD,
    CHECKOV,
    CONTROL_TOWER_RULES,
    MIN_REASON_LENGTH,
    Hit,
    checkov_skips,
    guard_suppressions,
    our_suppressions,
    require_tool,
    run_checkov,
    run_guard,
    template_files,
    without_metadata,
)
from functional.check.support import FIXTURES, require_reference_dir, run_json
from functional.support import (
    TEMPLATE_FILES,
    SynthCache,
    run_cli,
    scanned_variant_names,
    variant_template_files,
)

DEFAULT_SYNTH = "default-synth"  # `fargate-api synth` without a config
# Control Tower rules that our rule's finding on the reference does not trigger, and why.
GUARD_BLIND_ON_REFERENCE = {
    # CT.ELASTICLOADBALANCING.PR.6 filters on Type in [application, network]; the
    # reference's load balancer leaves Type implicit, so the rule skips it (our synth
    # writes Type: application, and the rule then applies).
    ("PublicLoadBalancer", "elbv2_logging_enabled_check"),
}


@pytest.fixture(scope="session")
def checkov() -> Path:
    """Listed first by the checkov tests, so that a missing tool stops them before the synth."""
    return require_tool(CHECKOV, "checkov")


@pytest.fixture(scope="session")
def cfn_guard() -> Path:
    require_tool(CONTROL_TOWER_RULES, "the Control Tower rules for cfn-guard")
    return require_tool(CFN_GUARD, "cfn-guard")


@pytest.fixture(scope="module")
def our_templates(synthesized: SynthCache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<tmp>/<variant>/*.yml for the default synth and every variant (the [[services]]
    ones with their load-balancer.yml and service-<name>.yml), so that one checkov or
    cfn-guard process scans them all."""
    root = tmp_path_factory.mktemp("scanned")
    result = run_cli("synth", "-o", root / DEFAULT_SYNTH, cwd=root)
    assert result.returncode == 0, result.stderr
    variants = scanned_variant_names()  # with each environment of a variant
    for variant in variants:
        shutil.copytree(synthesized.get(variant), root / variant)
    expected = len(TEMPLATE_FILES) + sum(len(variant_template_files(v)) for v in variants)
    assert len(template_files(root)) == expected
    return root


def _links(folder: Path, suppressions: dict[Hit, str]) -> dict[str, set[str]]:
    """Our rule id -> the scanner ids the synth suppresses with the same reason (one
    accepted risk), collected over every template under `folder`."""
    ours = our_suppressions(folder)
    links: dict[str, set[str]] = defaultdict(set)
    for hit, reason in suppressions.items():
        for our, our_reason in ours.items():
            if (our.file, our.resource, our_reason) == (hit.file, hit.resource, reason):
                links[our.rule].add(hit.rule)
    return links


def _reference_expectations(reference: Path, links: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(resource, scanner id) that the scanner must fail on the reference: for every finding
    of our own check there, the scanner ids linked to its rule."""
    _, document = run_json(reference)
    return {
        (finding["resource"], scanner_id)
        for finding in document["findings"]
        for scanner_id in links.get(finding["rule"], set())
    }


def _unjustified(suppressions: dict[Hit, str]) -> list[str]:
    return [
        f"  {hit}: {reason!r}"
        for hit, reason in sorted(suppressions.items())
        if len(reason.strip()) < MIN_REASON_LENGTH
    ]


# --- checkov ---------------------------------------------------------------------------


def test_checkov_reports_no_failed_check_on_our_templates(
    checkov: Path, our_templates: Path
) -> None:
    run = run_checkov(our_templates)
    assert not run.parsing_errors, f"checkov could not parse: {run.parsing_errors}"
    assert run.resources > 0, "checkov found no CloudFormation resources to check"
    assert not run.failed, (
        f"checkov fails {len(run.failed)} check(s) on our templates; change the synth, or "
        "accept the risk with a reason in src/fargate_api/synth/accepted_risks.py:\n"
        + run.describe(run.failed)
    )
    skips = checkov_skips(our_templates)
    assert run.skipped == set(skips), (
        "checkov did not honour the inline skips as written:\n"
        + run.describe(set(skips) ^ run.skipped)
    )


def test_checkov_skips_are_justified_and_needed(
    checkov: Path, our_templates: Path, tmp_path: Path
) -> None:
    skips = checkov_skips(our_templates)
    assert skips, "the default synth accepts risks that checkov reports; expected skips"
    unjustified = _unjustified(skips)
    assert not unjustified, "checkov skips without a real comment:\n" + "\n".join(unjustified)
    bare = run_checkov(without_metadata(our_templates, tmp_path / "bare", "checkov"))
    stale = set(skips) - bare.failed
    assert not stale, (
        "checkov skips of checks that pass anyway (emit them only while their condition "
        "holds):\n" + "\n".join(f"  {h}" for h in sorted(stale))
    )


def test_checkov_fails_the_reference(checkov: Path, our_templates: Path) -> None:
    reference = require_reference_dir()
    run = run_checkov(reference)
    assert not run.parsing_errors, f"checkov could not parse: {run.parsing_errors}"
    assert run.failed, "checkov reports no failure on the reference pattern: is it checking?"
    _, ours = run_json(reference)
    references = {r["id"]: set(r["references"]["checkov"]) for r in ours["rules"]}
    links = _links(our_templates, checkov_skips(our_templates))
    for rule_id, cited in references.items():
        links.setdefault(rule_id, set()).update(cited)
    expected = _reference_expectations(reference, links)
    assert expected, "none of our findings on the reference maps to a checkov id"
    failed = {(h.resource, h.rule) for h in run.failed}
    assert expected <= failed, f"checkov does not confirm: {sorted(expected - failed)}"


# --- cfn-guard with the AWS Control Tower proactive rules -------------------------------


def test_control_tower_rules_report_no_unsuppressed_failure(
    cfn_guard: Path, our_templates: Path
) -> None:
    run = run_guard(our_templates)
    assert run.files == {
        p.relative_to(our_templates).as_posix() for p in template_files(our_templates)
    }
    # The rules really ran: ones that apply to our resources passed on the default synth.
    assert {
        "ecs_service_assign_public_ip_disabled_check",
        "alb_http_drop_invalid_header_enabled_check",
        "ecs_containers_nonprivileged_check",
    } <= run.compliant[f"{DEFAULT_SYNTH}/service.yml"]
    suppressed = guard_suppressions(our_templates)
    unsuppressed = run.failed - set(suppressed)
    assert not unsuppressed, (
        f"the Control Tower rules fail {len(unsuppressed)} time(s) on our templates; change "
        "the synth, or accept the risk with a reason in "
        "src/fargate_api/synth/accepted_risks.py:\n" + run.describe(unsuppressed)
    )
    stale = set(suppressed) - run.failed
    assert not stale, (
        "guard suppressions that match no failure (emit them only while their condition "
        "holds):\n" + "\n".join(f"  {h}" for h in sorted(stale))
    )
    unjustified = _unjustified(suppressed)
    assert not unjustified, "guard suppressions without a reason:\n" + "\n".join(unjustified)


def test_control_tower_rules_fail_the_reference(cfn_guard: Path, our_templates: Path) -> None:
    reference = require_reference_dir()
    run = run_guard(reference)
    assert run.failed, "the Control Tower rules report no failure on the reference pattern"
    links = _links(our_templates, guard_suppressions(our_templates))
    expected = _reference_expectations(reference, links)
    assert expected >= GUARD_BLIND_ON_REFERENCE, "GUARD_BLIND_ON_REFERENCE is out of date"
    expected -= GUARD_BLIND_ON_REFERENCE
    assert expected, "none of our findings on the reference maps to a Control Tower rule"
    failed = {(h.resource, h.rule) for h in run.failed}
    assert expected <= failed, f"cfn-guard does not confirm: {sorted(expected - failed)}"
    assert not GUARD_BLIND_ON_REFERENCE & failed, "GUARD_BLIND_ON_REFERENCE is out of date"


def test_cfn_guard_agrees_on_the_pattern(cfn_guard: Path, our_templates: Path) -> None:
    """tests/fixtures/check/guard/pattern.guard: a few of the pattern's rules in Guard."""
    rules = FIXTURES / "guard" / "pattern.guard"
    passed = run_guard(our_templates, rules)
    assert not passed.failed, passed.describe(passed.failed)
    failed = run_guard(require_reference_dir(), rules)
    assert Hit("vpc.yml", "PublicSubnetOne", "subnets_assign_no_public_ip") in failed.failed
