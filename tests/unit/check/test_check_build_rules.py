"""The rules on what `fargate-api build` makes: the ECR repository it pushes to (FA701-FA703,
FSBP ECR.1-ECR.3) and the CPU the image is built for (FA506).

Each case mutates the clean template once; values a template cannot show (parameters
without a value, imports) must never be findings."""

from __future__ import annotations

import pytest

from fargate_api.check.findings import Severity
from fargate_api.check.registry import load_rules
from unit.check.clean_template import CLEAN
from unit.check.conftest import CheckText, rule_hits

SCAN = "ImageScanningConfiguration: {ScanOnPush: true}"
MUTABILITY = "ImageTagMutability: IMMUTABLE"
LIFECYCLE = next(line for line in CLEAN.splitlines(keepends=True) if "LifecyclePolicy:" in line)
PLATFORM = "DockerPlatform: linux/arm64"
ARCHITECTURE = "CpuArchitecture: ARM64"
RUNTIME = "RuntimePlatform: {OperatingSystemFamily: LINUX, CpuArchitecture: ARM64}"
NO_RUNTIME = (f"      {RUNTIME}\n", "")
NO_PLATFORM = (f", {PLATFORM}", "")
BUILD = next(line for line in CLEAN.splitlines(keepends=True) if "build: {" in line)
# A parameter without a value and an import: known only at deploy time.
UNKNOWN_PARAMETER = "  Unknown: {Type: String}\nResources:\n"


def mutate(*replacements: tuple[str, str]) -> str:
    text = CLEAN
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must match the clean template exactly once"
        text = text.replace(old, new)
    return text


def with_unknown_parameter(*replacements: tuple[str, str]) -> str:
    return mutate(("Resources:\n", UNKNOWN_PARAMETER), *replacements)


def only(check_text: CheckText, text: str, rule: str, resource: str) -> str:
    """The message of the one finding that text has, which must be rule's on resource."""
    report = check_text(text)
    assert rule_hits(report) == {(rule, resource)}, [f.message for f in report.active]
    (finding,) = report.active
    assert finding.location.line
    return finding.message


def test_the_ecr_rules_cite_their_fsbp_controls() -> None:
    refs = {rule.meta.id: rule.meta.references for rule in load_rules()}
    assert refs["FA701"].fsbp == ("ECR.1",)
    assert refs["FA702"].fsbp == ("ECR.2",)
    assert refs["FA703"].fsbp == ("ECR.3",)


def test_a_platform_mismatch_is_an_error() -> None:
    (rule,) = (r for r in load_rules() if r.meta.id == "FA506")
    assert rule.meta.severity is Severity.ERROR


# -- FA701 image scanning (ECR.1) ------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("ImageScanningConfiguration: {ScanOnPush: 'false'}", "ScanOnPush is false"),
        ("ImageScanningConfiguration: {}", "ScanOnPush is not set"),
        ("Tags: []", "ScanOnPush is not set"),  # no ImageScanningConfiguration at all
    ],
)
def test_fa701_no_scan_on_push(check_text: CheckText, new: str, why: str) -> None:
    message = only(check_text, mutate((SCAN, new)), "FA701", "Repository")
    assert why in message


def test_fa701_points_at_scan_on_push(check_text: CheckText) -> None:
    report = check_text(mutate(("ScanOnPush: true", "ScanOnPush: false")))
    (finding,) = report.active
    assert finding.location.path == ("Properties", "ImageScanningConfiguration", "ScanOnPush")


# -- FA702 tag immutability (ECR.2) ----------------------------------------------------


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("Tags: []", "the default is MUTABLE"),  # ImageTagMutability absent
        ("ImageTagMutability: MUTABLE", "a push can overwrite any tag"),
        ("ImageTagMutability: IMMUTABLE_WITH_EXCLUSION", "exclusion filters match"),
        ("ImageTagMutability: MUTABLE_WITH_EXCLUSION", "do not match can be overwritten"),
    ],
)
def test_fa702_mutable_tags(check_text: CheckText, new: str, why: str) -> None:
    message = only(check_text, mutate((MUTABILITY, new)), "FA702", "Repository")
    assert why in message


# -- FA703 lifecycle policy (ECR.3) ----------------------------------------------------


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("      LifecyclePolicy: {LifecyclePolicyText: ' '}\n", "an empty lifecycle policy"),
        ("      LifecyclePolicy: {RegistryId: '123456789012'}\n", "no lifecycle policy"),
        ("", "no lifecycle policy"),
    ],
)
def test_fa703_no_lifecycle_policy(check_text: CheckText, new: str, why: str) -> None:
    message = only(check_text, mutate((LIFECYCLE, new)), "FA703", "Repository")
    assert why in message


# -- FA506 image platform vs runtime platform ------------------------------------------


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        (((ARCHITECTURE, "CpuArchitecture: X86_64"),), "runs on X86_64, but its image is built"),
        ((NO_RUNTIME,), "X86_64 (no CpuArchitecture"),
        (((RUNTIME, "RuntimePlatform: {OperatingSystemFamily: LINUX}"),), "the default"),
        (((PLATFORM, "DockerPlatform: linux/amd64"),), "built for linux/amd64, which needs X86_64"),
        (((PLATFORM, "DockerPlatform: linux/riscv64"),), "neither linux/amd64 nor linux/arm64"),
        (((PLATFORM, "DockerPlatform: arm64"),), "neither"),
        ((NO_PLATFORM,), "built for linux/amd64 (no DockerPlatform: the default)"),
        (
            ((RUNTIME, "RuntimePlatform: {OperatingSystemFamily: WINDOWS_SERVER_2022_CORE}"),),
            "runs Windows",
        ),
    ],
)
def test_fa506_mismatch(
    check_text: CheckText, replacements: tuple[tuple[str, str], ...], expected: str
) -> None:
    text = mutate(*replacements)
    # Windows and the bare RuntimePlatform also trip other rules: look at FA506 only.
    hits = [f for f in check_text(text).active if f.rule_id == "FA506"]
    assert [f.location.resource for f in hits] == ["Task"], [f.message for f in hits]
    assert expected in hits[0].message


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            ARCHITECTURE,
            "CpuArchitecture: X86_64",
            ("Properties", "RuntimePlatform", "CpuArchitecture"),
        ),
        (
            PLATFORM,
            "DockerPlatform: linux/mips",
            ("Metadata", "fargate-api", "build", "DockerPlatform"),
        ),
    ],
)
def test_fa506_points_at_the_value_to_change(
    check_text: CheckText, old: str, new: str, path: tuple[str, ...]
) -> None:
    text = mutate((old, new))
    (finding,) = check_text(text).active
    assert finding.rule_id == "FA506" and finding.location.path == path
    assert finding.location.line == text[: text.index(new)].count("\n") + 1


def test_fa506_without_docker_platform_points_at_the_architecture(check_text: CheckText) -> None:
    """No DockerPlatform means linux/amd64, as the build reader takes it."""
    (finding,) = check_text(mutate(NO_PLATFORM)).active
    assert finding.rule_id == "FA506"
    assert finding.location.path == ("Properties", "RuntimePlatform", "CpuArchitecture")


@pytest.mark.parametrize(
    "replacements",
    [
        # amd64 on the default architecture: no RuntimePlatform needed
        ((PLATFORM, "DockerPlatform: linux/amd64"), NO_RUNTIME),
        ((PLATFORM, "DockerPlatform: linux/amd64"), (ARCHITECTURE, "CpuArchitecture: X86_64")),
        # a task definition that fargate-api does not build: nothing to compare
        (("build: {Container: api", "unused: {Container: api"),),
        (NO_PLATFORM, (ARCHITECTURE, "CpuArchitecture: X86_64")),  # linux/amd64 by default
        (NO_PLATFORM, NO_RUNTIME),
    ],
)
def test_fa506_matching_or_absent_platforms(
    check_text: CheckText, replacements: tuple[tuple[str, str], ...]
) -> None:
    assert rule_hits(check_text(mutate(*replacements))) == set()


# -- unknown values are never findings -------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ScanOnPush: true", "ScanOnPush: !Ref Unknown"),
        (SCAN, "ImageScanningConfiguration: !ImportValue scanning"),
        (MUTABILITY, "ImageTagMutability: !Ref Unknown"),
        (MUTABILITY, "ImageTagMutability: !ImportValue mutability"),
        (LIFECYCLE, "      LifecyclePolicy: {LifecyclePolicyText: !Ref Unknown}\n"),
        (LIFECYCLE, "      LifecyclePolicy: !ImportValue policy\n"),
        (
            LIFECYCLE,
            "      LifecyclePolicy: {LifecyclePolicyText: !Sub '{\"rules\":[]}${Unknown}'}\n",
        ),
        (ARCHITECTURE, "CpuArchitecture: !Ref Unknown"),
        (RUNTIME, "RuntimePlatform: !ImportValue runtime"),
        (PLATFORM, "DockerPlatform: !Ref Unknown"),
        (BUILD, "        build: !ImportValue build-instructions\n"),
    ],
)
def test_unknown_values_are_not_findings(check_text: CheckText, old: str, new: str) -> None:
    report = check_text(with_unknown_parameter((old, new)))
    assert [f.message for f in report.active] == []


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("ScanOnPush: true", "ScanOnPush: false", "FA701"),
        (MUTABILITY, "ImageTagMutability: MUTABLE", "FA702"),
        (LIFECYCLE, "", "FA703"),
        (ARCHITECTURE, "CpuArchitecture: X86_64", "FA506"),
    ],
)
def test_the_unknown_parameter_alone_is_no_finding_so_the_cases_above_can_fail(
    check_text: CheckText, old: str, new: str, rule: str
) -> None:
    """The template the unknown cases start from still reports each rule's defect."""
    assert rule_hits(check_text(with_unknown_parameter())) == set()
    assert {r for r, _ in rule_hits(check_text(with_unknown_parameter((old, new))))} == {rule}
