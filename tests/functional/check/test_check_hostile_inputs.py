"""`check` on the inputs a fuzzing run found crashing (a traceback, exit 1) or hanging: each
is now bad input, exit 2 with one message naming the file and the limit, in seconds."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from functional.check.support import run_check

TOPIC = "Resources:\n  T: {Type: AWS::SNS::Topic}\n"


def _nested(url: str) -> str:
    return (
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n"
        f"    Properties: {{TemplateURL: '{url}'}}\n"
    )


def _deep_yaml(folder: Path) -> Path:
    path = folder / "deep.yml"
    path.write_text("Resources:\n  A: {Type: X, Properties: {P: " + "[" * 600 + "]" * 600 + "}}\n")
    return path


def _deep_json(folder: Path) -> Path:
    path = folder / "deep.json"
    inner = "[" * 1000 + "]" * 1000
    path.write_text('{"Resources": {"A": {"Type": "X", "Properties": {"P": ' + inner + "}}}}")
    return path


def _recursive_alias(folder: Path) -> Path:
    path = folder / "alias.yml"
    path.write_text("Resources:\n  R: &r {Type: AWS::SNS::Topic, Properties: {Self: *r}}\n")
    return path


def _long_int_yaml(folder: Path) -> Path:
    path = folder / "number.yml"
    path.write_text("Resources:\n  A: {Type: X, Properties: {P: " + "1" * 4301 + "}}\n")
    return path


def _long_int_json(folder: Path) -> Path:
    path = folder / "number.json"
    path.write_text('{"Resources": {"A": {"Type": "X",\n"Properties": {"P": ' + "1" * 4301 + "}}}}")
    return path


def _nan_json(folder: Path) -> Path:
    path = folder / "nan.json"
    path.write_text('{"Resources": {"A": {"Type": "X",\n"Properties": {"P": NaN}}}}')
    return path


def _symlink_loop(folder: Path) -> Path:
    (folder / "loop.yml").symlink_to("loop.yml")
    (folder / "parent.yml").write_text(_nested("loop.yml"))
    return folder / "parent.yml"


def _folder_url(folder: Path) -> Path:
    (folder / "parent.yml").write_text(_nested("."))
    return folder / "parent.yml"


def _dev_null_url(folder: Path) -> Path:
    (folder / "parent.yml").write_text(_nested("/dev/null"))
    return folder / "parent.yml"


def _fifo_url(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.yml")
    (folder / "parent.yml").write_text(_nested("pipe.yml"))
    return folder / "parent.yml"


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.yml")
    return folder / "pipe.yml"


def _thousand_subnets(folder: Path) -> Path:
    lines = ["Resources:", "  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}"]
    lines += [
        f"  S{i}: {{Type: AWS::EC2::Subnet, "
        "Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}}"
        for i in range(1000)
    ]
    (folder / "subnets.yml").write_text("\n".join(lines) + "\n")
    return folder / "subnets.yml"


def _huge_sub(folder: Path) -> Path:
    path = folder / "sub.yml"
    path.write_text(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"
        "    Properties: {TopicName: !Sub '" + "${AWS::Region}" * 400_000 + "'}\n"
    )
    return path


def _resources_list(folder: Path) -> Path:
    (folder / "list.yml").write_text("Resources: []\n")
    return folder / "list.yml"


def _loop_by_another_spelling(folder: Path) -> Path:
    x = folder / "X"
    x.mkdir()
    (x / "parent.yml").write_text(
        _nested("child.yml")
        + "  Sibling:\n    Type: AWS::CloudFormation::Stack\n"
        + "    Properties: {TemplateURL: sibling.yml}\n"
    )
    (x / "child.yml").write_text(_nested("../X/parent.yml"))
    (x / "sibling.yml").write_text(TOPIC)
    return x / "parent.yml"


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "yaml-600-deep": (_deep_yaml, "deep.yml:2: values nested more than 100 levels deep"),
    "json-1000-deep": (_deep_json, "deep.json:1: values nested more than 100 levels deep"),
    "recursive-alias": (_recursive_alias, "alias.yml:2: recursive alias"),
    "yaml-4301-digits": (_long_int_yaml, "number.yml:2: a number too long to read"),
    "json-4301-digits": (_long_int_json, "number.json:2: a number too long to read"),
    "json-nan": (_nan_json, "nan.json:2: not valid JSON: NaN and Infinity"),
    "symlink-loop-url": (_symlink_loop, "loop.yml: is a symbolic link loop"),
    "folder-url": (_folder_url, "is a folder, not a template file"),
    "dev-null-url": (_dev_null_url, "/dev/null: is not a regular file"),
    "fifo-url": (_fifo_url, "pipe.yml: is not a regular file"),
    "fifo-path": (_fifo, "pipe.yml: is not a regular file"),
    "1000-subnets": (_thousand_subnets, "1,001 resources, over CloudFormation's limit of 500"),
    "sub-400k-holes": (_huge_sub, "over CloudFormation's limit of 1,048,576 bytes (1 MB)"),
    "resources-list": (_resources_list, "Resources must be a mapping"),
    "loop-via-dotdot": (
        _loop_by_another_spelling,
        "X/child.yml:4: nested stack Child includes X/parent.yml, a template that includes "
        "this one: a loop (X/parent.yml -> X/child.yml -> X/parent.yml)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_exits_2_with_one_message_quickly(case: str, tmp_path: Path) -> None:
    make, message = CASES[case]
    path = make(tmp_path)
    started = time.monotonic()
    result = run_check(path, "--format", "json", cwd=tmp_path)
    assert time.monotonic() - started < 30, "took longer than 30 s"
    assert result.returncode == 2, result.stdout[-500:] + result.stderr[-2000:]
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1, result.stderr
    assert result.stdout == ""


def test_template_url_through_a_missing_folder_is_checked(tmp_path: Path) -> None:
    (tmp_path / "parent.yml").write_text(_nested("nodir/../child.yml"))
    (tmp_path / "child.yml").write_text(TOPIC)
    result = run_check(tmp_path / "parent.yml", "--format", "json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    files = {Path(f).name for f in json.loads(result.stdout)["files"]}
    assert files == {"parent.yml", "child.yml"}
