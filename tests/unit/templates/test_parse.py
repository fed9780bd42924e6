"""Parsing: short forms to long forms, lines of keys, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.templates import TemplateError
from fargate_api.templates.parse import parse_template


def parse(text: str, name: str = "t.yml"):  # type: ignore[no-untyped-def]
    return parse_template(Path(name), name, text)


def test_short_forms_become_long_forms() -> None:
    file = parse(
        "Resources:\n"
        "  A:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      R: !Ref P\n"
        "      G: !GetAtt B.Arn\n"
        "      GL: !GetAtt [B, Outputs.X]\n"
        "      S: !Sub 'a-${P}'\n"
        "      J: !Join [',', [!Ref P, b]]\n"
        "      Z: !Select [0, !GetAZs '']\n"
        "      I: !If [C, 1, 2]\n"
        "      N: !Not [!Condition C]\n"
    )
    props = file.data["Resources"]["A"]["Properties"]
    assert props["R"] == {"Ref": "P"}
    assert props["G"] == {"Fn::GetAtt": ["B", "Arn"]}
    assert props["GL"] == {"Fn::GetAtt": ["B", "Outputs.X"]}
    assert props["S"] == {"Fn::Sub": "a-${P}"}
    assert props["J"] == {"Fn::Join": [",", [{"Ref": "P"}, "b"]]}
    assert props["Z"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert props["I"] == {"Fn::If": ["C", 1, 2]}
    assert props["N"] == {"Fn::Not": [{"Condition": "C"}]}


def test_lines_of_resources_and_properties() -> None:
    file = parse("Resources:\n  A:\n    Type: X\n    Properties:\n      K:\n        - v\n")
    assert file.lines[("Resources", "A")] == 2
    assert file.lines[("Resources", "A", "Properties", "K")] == 5
    assert file.line_of(("Resources", "A", "Properties", "K", 0, "deeper")) == 6


def test_yaml_dates_stay_strings() -> None:
    file = parse("AWSTemplateFormatVersion: 2010-09-09\nResources:\n  A: {Type: X}\n")
    assert file.data["AWSTemplateFormatVersion"] == "2010-09-09"


def test_json_with_tabs_keeps_lines() -> None:
    text = (
        '{\n\t"Resources": {\n\t\t"A": {\n\t\t\t"Type": "X",\n'
        '\t\t\t"Properties": {"K": [1, "a\\"b"]}\n\t\t}\n\t}\n}\n'
    )
    file = parse(text, "t.json")
    assert file.format == "json"
    assert file.data["Resources"]["A"]["Properties"]["K"] == [1, 'a"b']
    assert file.lines[("Resources", "A")] == 3
    assert file.lines[("Resources", "A", "Properties", "K", 1)] == 5


@pytest.mark.parametrize(
    ("text", "name", "message", "line"),
    [
        ("Resources:\n  A:\n    Type: [x\n", "t.yml", "not valid YAML", 4),
        ('{\n "Resources": {"A": {"Type": "X",}}\n}', "t.json", "not valid JSON", 2),
        ("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n", "t.yml", "duplicate key 'A'", 3),
        ('{"Resources": {"A": {"Type": "X"},\n "A": {"Type": "Y"}}}', "t.json", "duplicate key", 2),
        ("Resources:\n  A:\n    Type: X\n    Properties: {B: !Frob x}\n", "t.yml", "!Frob", 4),
        ("base: &b {Type: X}\nResources:\n  A:\n    <<: *b\n", "t.yml", "merge keys", 4),
    ],
)
def test_bad_input_is_a_template_error_with_a_line(
    text: str, name: str, message: str, line: int
) -> None:
    with pytest.raises(TemplateError) as caught:
        parse(text, name)
    assert message in caught.value.what
    assert caught.value.where == f"{name}:{line}"


@pytest.mark.parametrize("text", ["name: x\n", "Resources: []\n", "", "Resources: {}\n"])
def test_not_a_template(text: str) -> None:
    with pytest.raises(TemplateError):
        parse(text)


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    lines += ["Resources:", "  A: {Type: X, Properties: {P: *a6}}"]
    with pytest.raises(TemplateError, match="aliases"):
        parse("\n".join(lines) + "\n")
