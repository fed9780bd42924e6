"""Static resolution of intrinsics: values where they are knowable, markers otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.templates import AttributeRef, ResourceRef, TemplateError, Text, Unresolved
from fargate_api.templates import UnresolvedKind as Kind
from unit.templates.conftest import LoadText

HEADER = """\
Parameters:
  Name: {Type: String, Default: web}
  Port: {Type: Number, Default: '8080'}
  Ids: {Type: CommaDelimitedList, Default: 'a, b,c'}
  NoDefault: {Type: String}
  FromSsm: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /x/y}
  Env: {Type: String, Default: prod}
Mappings:
  Sizes:
    prod: {Cpu: 512}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [!Ref 'AWS::Region', us-east-1]]
  Either: !Or [!Condition IsDev, !Equals [a, b]]
  Unknown: !Equals [!Ref NoDefault, x]
Resources:
  Other: {Type: AWS::SNS::Topic}
  DevOnly: {Type: AWS::SNS::Topic, Condition: IsDev}
"""


def resolve(load_text: LoadText, value: str) -> Any:
    stack_set = load_text(HEADER + f"  R:\n    Type: X\n    Properties:\n      V: {value}\n")
    return stack_set.root.resources["R"].properties.get("V", "<removed>")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("!Ref Name", "web"),
        ("!Ref Port", 8080),
        ("!Ref Ids", ["a", "b", "c"]),
        ("!Ref 'AWS::Region'", "us-east-1"),
        ("!Ref 'AWS::Partition'", "aws"),
        ("!Ref 'AWS::AccountId'", "123456789012"),
        ("!Ref 'AWS::StackName'", "t"),
        ("!Ref 'AWS::NoValue'", "<removed>"),
        ("!Sub '${Name}-${AWS::Region}'", "web-us-east-1"),
        ("!Sub ['${A}/${Name}', {A: !Ref Port}]", "8080/web"),
        ("!Sub 'keep ${!Literal} ${Name}'", "keep ${Literal} web"),
        ("!Join ['-', [a, !Ref Name, 3]]", "a-web-3"),
        ("!Select [1, !Ref Ids]", "b"),
        ("!Select [1, !Split [',', 'x,y,z']]", "y"),
        ("!FindInMap [Sizes, !Ref Env, Cpu]", 512),
        ("!FindInMap [Sizes, dev, Cpu, {DefaultValue: 256}]", 256),
        ("!Select [2, !GetAZs '']", "us-east-1c"),
        ("!GetAZs eu-west-1", [f"eu-west-1{c}" for c in "abcdef"]),
        ("!If [IsProd, big, small]", "big"),
        ("!If [IsDev, big, small]", "small"),
        ("!If [Both, hit, miss]", "hit"),
        ("!If [Either, hit, miss]", "miss"),
        ("!If [IsProd, !Ref 'AWS::NoValue', x]", "<removed>"),
        ("!Cidr [10.0.0.0/16, 2, 8]", ["10.0.0.0/24", "10.0.1.0/24"]),
        ("!Base64 hi", "aGk="),
        ("!Length [1, 2]", 2),
        ("!ToJsonString {a: 1}", '{"a":1}'),
        ("[!Ref 'AWS::NoValue', 1]", [1]),
    ],
)
def test_resolves(load_text: LoadText, expression: str, expected: Any) -> None:
    assert resolve(load_text, expression) == expected


def test_references_stay_symbolic(load_text: LoadText) -> None:
    assert resolve(load_text, "!Ref Other") == ResourceRef("t.yml", "Other")
    assert resolve(load_text, "!GetAtt Other.TopicName") == AttributeRef(
        "t.yml", "Other", "TopicName"
    )
    text = resolve(load_text, "!Sub 'arn:${AWS::Partition}:x:${Other}'")
    assert text == Text(("arn:aws:x:", ResourceRef("t.yml", "Other")))
    assert resolve(load_text, "!Split [',', !Join [',', [!Ref Other, b]]]") == [
        ResourceRef("t.yml", "Other"),
        "b",
    ]


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("!Ref NoDefault", Kind.PARAMETER),
        ("!Ref FromSsm", Kind.SSM_PARAMETER),
        ("!ImportValue shared", Kind.IMPORT),
        ("!If [Unknown, a, b]", Kind.CONDITION),
        ("!Ref Missing", Kind.REFERENCE),
        ("!Ref DevOnly", Kind.REFERENCE),
        ("!GetAtt Missing.Arn", Kind.REFERENCE),
        ("!Select [5, [a]]", Kind.INVALID),
        ("!Join [',', notalist]", Kind.INVALID),
        ("!FindInMap [Sizes, nope, Cpu]", Kind.INVALID),
        ("!Select [0, !Ref NoDefault]", Kind.PARAMETER),
        ("!Transform {Name: X}", Kind.TRANSFORM),
        ("{'Fn::Join': 3}", Kind.INVALID),
        ("!Sub [1, 2, 3]", Kind.INVALID),
    ],
)
def test_unknowable_values_become_markers(load_text: LoadText, expression: str, kind: Kind) -> None:
    value = resolve(load_text, expression)
    assert isinstance(value, Unresolved), value
    assert value.kind is kind


def test_sub_with_an_unresolved_part_is_unresolved(load_text: LoadText) -> None:
    assert isinstance(resolve(load_text, "!Sub 'x-${NoDefault}'"), Unresolved)


def test_conditions_exclude_resources_and_are_reported(load_text: LoadText) -> None:
    stack = load_text(HEADER).root
    assert "DevOnly" not in stack.resources
    assert stack.excluded == ("DevOnly",)
    assert stack.conditions == {
        "IsProd": True,
        "IsDev": False,
        "Both": True,
        "Either": False,
        "Unknown": None,
    }


def test_unknown_function_is_an_input_error(load_text: LoadText) -> None:
    with pytest.raises(TemplateError, match=r"unknown intrinsic function Fn::Frob") as caught:
        load_text("Resources:\n  A:\n    Type: X\n    Properties:\n      P: {Fn::Frob: 1}\n")
    assert caught.value.where == "t.yml:5"
