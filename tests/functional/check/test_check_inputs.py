"""Bad input exits 2 with one clear message; other tools' templates check without a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from functional.check.support import FIXTURES, active, run_check, run_json

MALFORMED = FIXTURES / "malformed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([MALFORMED / "bad_yaml.yml"], "bad_yaml.yml:7: not valid YAML"),
        ([MALFORMED / "bad_json.json"], "bad_json.json:3: not valid JSON"),
        (
            [MALFORMED / "unknown_tag.yml"],
            "unknown_tag.yml:6: unknown intrinsic function !Frobnicate",
        ),
        ([MALFORMED / "unknown_function.json"], "unknown intrinsic function Fn::Frobnicate"),
        ([MALFORMED / "missing_nested"], "template file not found"),
        ([MALFORMED / "duplicate_key.yml"], "duplicate key 'Bucket'"),
        ([MALFORMED / "not_a_template.yml"], "not a CloudFormation template"),
        ([MALFORMED / "nope.yml"], "no such file or folder"),
        ([FIXTURES / "cdk", "-c", "x.toml"], "not both"),
        (["--format", "xml", FIXTURES / "cdk"], "xml"),
    ],
)
def test_bad_input_exits_2_with_one_message(args: list[str | Path], message: str) -> None:
    result = run_check(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cdk_single_stack_gets_sensible_findings() -> None:
    code, document = run_json(FIXTURES / "cdk")
    assert code == 0  # warnings only
    found = active(document)
    expected = {
        ("FA106", "VpcPublic1Subnet5C2D37C4"),
        ("FA107", "Vpc8378EB38"),
        ("FA204", "ServiceLBPublicListener46709EAA"),
        ("FA206", "ServiceLBE9A1ADBC"),
        ("FA402", "Service9571FDD8"),
        ("FA404", "ServiceLBPublicListenerECSGroup0CC8688C"),
        ("FA501", "ServiceTaskDef1922A00F"),
        ("FA502", "ServiceTaskDef1922A00F"),
        ("FA601", "ServiceTaskDefwebLogGroup2A898F61"),
    }
    assert expected <= found
    # What CDK gets right must not be reported.
    wrong = {rule for rule, _ in found} & {
        "FA101", "FA102", "FA103", "FA104", "FA108", "FA202", "FA203", "FA301", "FA302",
        "FA303", "FA403", "FA602", "FA603",
    }  # fmt: skip
    assert not wrong
    assert any("manifest.json" in note for note in document["notes"])


def test_cdk_fails_with_strict_and_writes_sarif_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "check.sarif"
    result = run_check(FIXTURES / "cdk", "--strict", "--format", "sarif", "--output", out)
    assert result.returncode == 1
    assert result.stdout == ""
    assert out.read_text().lstrip().startswith("{") and "wrote sarif report" in result.stderr


def test_nested_json_and_yaml_children() -> None:
    code, document = run_json(FIXTURES / "nested")
    assert code == 1
    found = active(document)
    assert ("FA505", "TaskDefinition") in found  # an imported token in plain env
    assert ("FA501", "TaskDefinition") not in found  # prod picks the pinned image
    files = {Path(f).name for f in document["files"]}
    assert files == {"parent.yml", "network.yaml", "app.json"}
