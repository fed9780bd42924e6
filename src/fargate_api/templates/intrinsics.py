"""The intrinsic function names CloudFormation knows, and their YAML short forms.

An unknown `Fn::` name or `!Tag` is a typo that CloudFormation rejects at deploy time;
we reject it up front (exit 2) rather than guessing what it meant.
"""

from __future__ import annotations

from typing import Any

from fargate_api.templates.errors import TemplateError

# Functions the resolver evaluates, plus those valid only in Rules or through transforms.
KNOWN_FUNCTIONS = frozenset(
    {
        "Ref",
        "Fn::Base64",
        "Fn::Cidr",
        "Fn::FindInMap",
        "Fn::GetAtt",
        "Fn::GetAZs",
        "Fn::GetStackOutput",
        "Fn::ImportValue",
        "Fn::Join",
        "Fn::Length",
        "Fn::Select",
        "Fn::Split",
        "Fn::Sub",
        "Fn::ToJsonString",
        "Fn::Transform",
        "Fn::If",
        "Fn::Equals",
        "Fn::And",
        "Fn::Or",
        "Fn::Not",
        "Fn::Contains",
        "Fn::EachMemberEquals",
        "Fn::EachMemberIn",
        "Fn::RefAll",
        "Fn::ValueOf",
        "Fn::ValueOfAll",
        "Fn::ForEach",
    }
)

# YAML short form -> long form key. !GetAtt's scalar form "A.B" is handled by the parser.
SHORT_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name.removeprefix('Fn::')}": name
        for name in KNOWN_FUNCTIONS
        if name.startswith("Fn::") and name != "Fn::ForEach"
    },
}


def function_name(node: dict[str, Any], where: str | None) -> str | None:
    """The intrinsic a one-key mapping calls, None for ordinary data.

    `Fn::ForEach::Name` keys only appear in section bodies, not as one-key values.
    """
    if len(node) != 1:
        return None
    (key,) = node
    if key == "Ref":
        return key
    if not isinstance(key, str) or not key.startswith("Fn::"):
        return None
    if key in KNOWN_FUNCTIONS or key.startswith("Fn::ForEach::"):
        return key
    raise TemplateError(
        f"unknown intrinsic function {key}",
        where=where,
        fix="use one of " + ", ".join(sorted(n for n in KNOWN_FUNCTIONS if n.startswith("Fn::"))),
    )
