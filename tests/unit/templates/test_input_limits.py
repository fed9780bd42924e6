"""Hostile or out-of-limits templates (from a fuzzing run) are bad input with a line, never a
traceback or a hang: nesting, recursive aliases, numbers JSON cannot hold, and
CloudFormation's own quotas (1 MB body, 500 resources)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fargate_api.templates import DiskReader, TemplateError
from fargate_api.templates.limits import MAX_DEPTH, MAX_RESOURCES, MAX_TEMPLATE_BYTES
from fargate_api.templates.parse import parse_template
from fargate_api.templates.values import ResourceRef, Text, concat
from unit.templates.support import load


def parse(text: str, name: str = "t.yml"):  # type: ignore[no-untyped-def]
    return parse_template(Path(name), name, text)


JSON_P = '{"Resources": {"A": {"Type": "X",\n"Properties": {"P": '
YAML_P = "Resources:\n  A: {Type: X, Properties: {P: "
NOT_A_MAPPING = "Resources must be a mapping of logical ids to resources, not "


def _error(text: str, name: str = "t.yml") -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        parse(text, name)
    return caught.value


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 5000])
def test_yaml_nested_too_deep_is_refused_with_the_limit(depth: int) -> None:
    error = _error(YAML_P + "[" * depth + "]" * depth + "}}\n")
    assert f"more than {MAX_DEPTH} levels" in error.what
    assert error.where == "t.yml:2"


def test_yaml_block_nesting_too_deep_names_its_line() -> None:
    body = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(600)) + "  " * 601 + "v: 1\n"
    error = _error("Resources:\n" + body)
    assert f"more than {MAX_DEPTH} levels" in error.what
    assert error.where is not None and error.where.startswith("t.yml:")


def test_yaml_nesting_within_the_limit_still_parses() -> None:
    depth = MAX_DEPTH - 10
    file = parse(YAML_P + "[" * depth + "]" * depth + "}}\n")
    assert "A" in file.data["Resources"]


def test_yaml_aliases_nesting_past_the_limit_are_refused() -> None:
    # Each anchor is shallow, but expanded through the aliases the value is 10 x 30 deep.
    lines = ["a0: &a0 " + "[" * 30 + "x" + "]" * 30]
    lines += [f"a{i}: &a{i} " + "[" * 30 + f"*a{i - 1}" + "]" * 30 for i in range(1, 10)]
    lines += ["Resources:", "  A: {Type: X, Properties: {P: *a9}}"]
    error = _error("\n".join(lines) + "\n")
    assert f"more than {MAX_DEPTH} levels" in error.what


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 1000, 20000])
def test_json_nested_too_deep_is_refused_with_the_limit(depth: int) -> None:
    text = JSON_P + "[" * depth
    text += "]" * depth + "}}}}"
    error = _error(text, "t.json")
    assert f"more than {MAX_DEPTH} levels" in error.what
    assert error.where == "t.json:2"


def test_json_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"Resources": {"A": {"Type": "X", "Properties": {"P": "' + "[" * 500 + '\\"{"}}}}'
    assert parse(text, "t.json").data["Resources"]["A"]["Type"] == "X"


def test_recursive_yaml_alias_is_refused_with_its_line() -> None:
    error = _error("Resources:\n  R: &r {Type: AWS::SNS::Topic, Properties: {Self: *r}}\n")
    assert "recursive alias" in error.what
    assert error.where == "t.yml:2"


def test_repeated_non_recursive_alias_is_still_read() -> None:
    file = parse("x: &x {K: v}\nResources:\n  A: {Type: X, Properties: {P: *x, Q: *x}}\n")
    assert file.data["Resources"]["A"]["Properties"] == {"P": {"K": "v"}, "Q": {"K": "v"}}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (YAML_P + "1" * 4301 + "}}\n", "t.yml"),
        (JSON_P + "1" * 4301 + "}}}}", "t.json"),
        (
            '{"Resources": {"A": {"Type": "X",\n"Properties": {"P": -' + "9" * 5000 + "}}}}",
            "t.json",
        ),
    ],
)
def test_a_number_of_4301_digits_is_refused_with_its_line(text: str, name: str) -> None:
    error = _error(text, name)
    assert "too long" in error.what
    assert error.where == f"{name}:2"


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_refused_with_their_line(token: str) -> None:
    error = _error(JSON_P + token + "}}}}", "t.json")
    assert "NaN and Infinity are not JSON numbers" in error.what
    assert error.where == "t.json:2"


def test_json_number_beyond_a_float_is_refused() -> None:
    error = _error('{"Resources": {"A": {"Type": "X",\n"Properties": {"P": 1e400}}}}', "t.json")
    assert "range" in error.what
    assert error.where == "t.json:2"


@pytest.mark.parametrize("token", [".inf", "-.Inf", ".nan", "1.0e+400"])
def test_yaml_non_finite_numbers_are_refused(token: str) -> None:
    error = _error(YAML_P + token + "}}\n")
    assert "not a finite number" in error.what
    assert error.where == "t.yml:2"


def test_a_quoted_inf_stays_text() -> None:
    file = parse("Resources:\n  A: {Type: X, Properties: {P: '.inf'}}\n")
    assert file.data["Resources"]["A"]["Properties"]["P"] == ".inf"


@pytest.mark.parametrize("default", ["'inf'", "'-Infinity'", "'NaN'", "'1e400'"])
def test_number_parameter_that_is_not_finite_is_refused(default: str) -> None:
    with pytest.raises(TemplateError) as caught:
        load(
            f"Parameters:\n  N: {{Type: Number, Default: {default}}}\n"
            "Resources:\n  T: {Type: AWS::SNS::Topic}\n"
        )
    assert "parameter N" in caught.value.what
    assert "not a finite number" in caught.value.what
    assert caught.value.where == "t.yml:2"


def test_over_500_resources_is_refused_naming_the_limit() -> None:
    count = MAX_RESOURCES + 1
    body = "".join(f"  T{i}: {{Type: AWS::SNS::Topic}}\n" for i in range(count))
    error = _error("Resources:\n" + body)
    assert f"limit of {MAX_RESOURCES} per template" in error.what
    assert error.where == "t.yml:1"


def test_500_resources_are_within_the_limit() -> None:
    body = "".join(f"  T{i}: {{Type: AWS::SNS::Topic}}\n" for i in range(MAX_RESOURCES))
    assert len(parse("Resources:\n" + body).data["Resources"]) == MAX_RESOURCES


def test_a_body_over_1_mb_is_refused_naming_the_limit() -> None:
    text = "Resources:\n  T: {Type: AWS::SNS::Topic}\n# " + "x" * MAX_TEMPLATE_BYTES + "\n"
    error = _error(text)
    assert "1,048,576 bytes (1 MB)" in error.what
    assert error.where == "t.yml"


def test_a_body_over_1_mb_is_refused_by_the_disk_reader_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text("Resources:\n  T: {Type: AWS::SNS::Topic}\n# " + "x" * MAX_TEMPLATE_BYTES)
    with pytest.raises(TemplateError, match="1 MB"):
        DiskReader().read(path)


def test_concat_is_linear_in_the_number_of_pieces() -> None:
    # Quadratic, 320,000 pieces took 31 s; linear, well under a second.
    pieces: list[object] = ["us-east-1"] * 400_000
    started = time.monotonic()
    joined = concat(pieces)
    assert time.monotonic() - started < 5
    assert joined == "us-east-1" * 400_000


def test_concat_keeps_symbols_between_joined_runs() -> None:
    ref = ResourceRef("t.yml", "Topic")
    assert concat(["a", "b", ref, "c", "", Text(("d", ref)), "e"]) == Text(
        ("ab", ref, "cd", ref, "e")
    )
    assert concat(["", ""]) == ""
    assert concat(["a", ref]) == Text(("a", ref))


def test_sub_with_many_holes_resolves_quickly() -> None:
    holes = 60_000  # about 800 kB: within CloudFormation's 1 MB
    started = time.monotonic()
    stack_set = load(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"
        "    Properties: {TopicName: !Sub '" + "${AWS::Region}" * holes + "'}\n"
    )
    assert time.monotonic() - started < 20
    name = stack_set.root.resources["T"].properties["TopicName"]
    assert isinstance(name, str) and len(name) > holes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: []\n", NOT_A_MAPPING + "a list"),
        (
            "Resources: text\n",
            NOT_A_MAPPING + "a string",
        ),
        ("Resources:\n", "the Resources section is empty"),
        ("Name: x\n", "no Resources section"),
    ],
)
def test_resources_that_are_not_a_mapping_say_so(text: str, message: str) -> None:
    assert message in _error(text).what
