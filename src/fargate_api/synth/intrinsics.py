"""CloudFormation intrinsic functions as plain dicts, in their long form.

The long form survives any YAML or JSON parser, so the templates we write can be read
back by tools that do not know CloudFormation's short-form tags.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(template: str) -> Json:
    return {"Fn::Sub": template}


def select_az(index: int) -> Json:
    return {"Fn::Select": [index, {"Fn::GetAZs": ""}]}


def join(delimiter: str, values: list[Any]) -> Json:
    return {"Fn::Join": [delimiter, values]}


def partition_arn(service: str, resource: str, region: bool = False, account: bool = False) -> Json:
    """An ARN that works in every partition (aws, aws-cn, aws-us-gov)."""
    region_part = "${AWS::Region}" if region else ""
    account_part = "${AWS::AccountId}" if account else ""
    return sub(f"arn:${{AWS::Partition}}:{service}:{region_part}:{account_part}:{resource}")


def tags(**pairs: Any) -> list[Json]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]
