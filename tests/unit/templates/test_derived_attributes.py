"""Attributes CloudFormation derives from a literal name are known before deploy.

An ECR repository's RepositoryUri and Arn follow from the account, the region and its
RepositoryName; the twin runs built images under that URI, as a deploy pushes them there.
Without a literal name (CloudFormation makes one up, or it comes from a parameter without
a value) they stay symbolic.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from fargate_api.templates import (
    AttributeRef,
    MemoryReader,
    ResolveOptions,
    StackSet,
    Unresolved,
    load_stack_set,
)
from unit.templates.conftest import LoadText

REPOSITORY = """\
Parameters:
  RepositoryName: {Type: String, Default: shop-api}
  NoDefault: {Type: String}
Resources:
  Named:
    Type: AWS::ECR::Repository
    Properties: {RepositoryName: !Ref RepositoryName}
  Literal:
    Type: AWS::ECR::Repository
    Properties: {RepositoryName: literal-name}
  Generated:
    Type: AWS::ECR::Repository
    Properties: {ImageTagMutability: IMMUTABLE}
  FromUnknown:
    Type: AWS::ECR::Repository
    Properties: {RepositoryName: !Ref NoDefault}
  Loop:
    Type: AWS::ECR::Repository
    Properties: {RepositoryName: !GetAtt Loop.RepositoryUri}
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: named}}
"""


def value_of(load_text: LoadText, expression: str) -> Any:
    resource = f"  R:\n    Type: X\n    Properties:\n      V: {expression}\n"
    stack_set = load_text(REPOSITORY + resource)
    return stack_set.root.resources["R"].properties["V"]


def test_the_repository_uri_follows_from_a_literal_name(load_text: LoadText) -> None:
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert value_of(load_text, "!GetAtt Named.RepositoryUri") == f"{uri}/shop-api"
    assert value_of(load_text, "!GetAtt Literal.RepositoryUri") == f"{uri}/literal-name"
    assert value_of(load_text, "!Sub '${Named.RepositoryUri}:v1'") == f"{uri}/shop-api:v1"


def test_the_arn_follows_from_a_literal_name(load_text: LoadText) -> None:
    assert value_of(load_text, "!GetAtt Named.Arn") == (
        "arn:aws:ecr:us-east-1:123456789012:repository/shop-api"
    )


def test_without_a_literal_name_the_attributes_stay_symbolic(load_text: LoadText) -> None:
    assert value_of(load_text, "!GetAtt Generated.RepositoryUri") == AttributeRef(
        "t.yml", "Generated", "RepositoryUri"
    )
    assert value_of(load_text, "!GetAtt FromUnknown.Arn") == AttributeRef(
        "t.yml", "FromUnknown", "Arn"
    )
    # A name made from its own URI is a loop: no crash, no value.
    assert value_of(load_text, "!GetAtt Loop.RepositoryUri") == AttributeRef(
        "t.yml", "Loop", "RepositoryUri"
    )


def test_other_attributes_and_types_stay_symbolic(load_text: LoadText) -> None:
    assert value_of(load_text, "!GetAtt Named.RepositoryName") == AttributeRef(
        "t.yml", "Named", "RepositoryName"
    )
    assert value_of(load_text, "!GetAtt Topic.TopicArn") == AttributeRef(
        "t.yml", "Topic", "TopicArn"
    )


def _load(files: dict[str, str], options: ResolveOptions | None = None) -> StackSet:
    reader = MemoryReader({Path(name): textwrap.dedent(body) for name, body in files.items()})
    return load_stack_set(Path("parent.yml"), reader=reader, options=options)


NESTED = {
    "parent.yml": """\
        Parameters:
          ImageDigest: {Type: String}
        Resources:
          RepositoryStack:
            Type: AWS::CloudFormation::Stack
            Properties: {TemplateURL: repository.yml}
          ServiceStack:
            Type: AWS::CloudFormation::Stack
            Properties:
              TemplateURL: service.yml
              Parameters:
                ImageRepositoryUri: !GetAtt RepositoryStack.Outputs.RepositoryUri
                ImageDigest: !Ref ImageDigest
        """,
    "repository.yml": """\
        Parameters:
          RepositoryName: {Type: String, Default: demo-api}
        Resources:
          Repository:
            Type: AWS::ECR::Repository
            Properties: {RepositoryName: !Ref RepositoryName}
        Outputs:
          RepositoryUri: {Value: !GetAtt Repository.RepositoryUri}
        """,
    "service.yml": """\
        Parameters:
          ImageRepositoryUri: {Type: String}
          ImageDigest: {Type: String}
        Resources:
          Task:
            Type: X
            Properties:
              Image: !Sub '${ImageRepositoryUri}@${ImageDigest}'
        """,
}


def test_a_service_stack_gets_the_uri_across_nested_stacks_in_the_options_region() -> None:
    digest = "sha256:" + "a" * 64
    options = ResolveOptions(
        region="eu-west-1",
        account_id="111122223333",
        partition="aws-cn",
        url_suffix="amazonaws.com.cn",
        parameters={"ImageDigest": digest},
    )
    stack_set = _load(NESTED, options)
    service = stack_set.stacks["parent.yml/ServiceStack"]
    uri = "111122223333.dkr.ecr.eu-west-1.amazonaws.com.cn/demo-api"
    assert service.parameters["ImageRepositoryUri"].value == uri
    assert service.resources["Task"].properties["Image"] == f"{uri}@{digest}"


def test_without_a_digest_the_image_is_unknown_but_the_uri_is_not() -> None:
    stack_set = _load(NESTED)
    service = stack_set.stacks["parent.yml/ServiceStack"]
    assert service.parameters["ImageRepositoryUri"].value == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-api"
    )
    assert isinstance(service.resources["Task"].properties["Image"], Unresolved)
