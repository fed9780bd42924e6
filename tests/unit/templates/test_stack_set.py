"""Nested stacks: files followed, parameters passed, outputs wired across stacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.templates import (
    DiskReader,
    ResourceRef,
    TemplateError,
    Unresolved,
    UnresolvedKind,
    discover,
    load_stack_set,
)
from unit.templates.conftest import LoadText


def test_nested_fixture_wires_parent_children_and_siblings(fixtures: Path) -> None:
    stack_set = load_stack_set(fixtures / "nested" / "parent.yml")
    root = stack_set.root
    keys = {key.rsplit("/", 1)[-1] for key in stack_set.stacks}
    assert keys == {"parent.yml", "Network", "App"}
    network = stack_set.stacks[f"{root.key}/Network"]
    app = stack_set.stacks[f"{root.key}/App"]
    # The parent's FindInMap reaches the child's parameter, and its Fn::Cidr uses it.
    assert network.parameters["Cidr"].value == "10.20.0.0/16"
    assert network.resources["PublicA"].properties["CidrBlock"] == "10.20.0.0/20"
    # A sibling's output (a Join of refs) arrives in a List parameter as refs into it.
    service = app.resources["Service"].properties
    subnets = service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert subnets == [ResourceRef(network.key, "PrivateA"), ResourceRef(network.key, "PrivateB")]
    assert [stack_set.resource(s).logical_id for s in subnets] == ["PrivateA", "PrivateB"]
    # Conditions in the parent pick the value passed; a Number parameter becomes a number.
    container = app.resources["TaskDefinition"].properties["ContainerDefinitions"][0]
    assert container["Image"] == "registry.example.com/app:1.4.2"
    assert service["DesiredCount"] == 3
    assert app.parameters["SharedToken"].value.kind is UnresolvedKind.IMPORT
    # A nested output travels back up.
    assert root.outputs["ServiceName"].value.logical_id == "Service"
    assert "Region" in root.outputs
    assert root.excluded == ("DevOnlyTopic",)
    link = next(link for link in stack_set.links if link.resource == "App")
    assert link.child == app.key and link.undeclared == () and link.missing == ()


def test_resources_know_their_file_and_lines(fixtures: Path) -> None:
    stack_set = load_stack_set(fixtures / "nested" / "parent.yml")
    app = next(s for s in stack_set.stacks.values() if s.name == "App")
    task = app.resources["TaskDefinition"]
    assert task.file.path.name == "app.json"
    assert task.line == 20
    assert task.line_of(("Properties", "ContainerDefinitions", 0, "Image")) == 31


def test_parameter_mismatch_is_recorded(fixtures: Path) -> None:
    stack_set = load_stack_set(fixtures / "nested_mismatch" / "parent.yml")
    (link,) = stack_set.links
    assert link.undeclared == ("Extra",)
    assert link.missing == ("Required",)


def test_missing_nested_file_is_an_input_error(fixtures: Path) -> None:
    with pytest.raises(TemplateError, match=r"does-not-exist\.yml") as caught:
        load_stack_set(fixtures / "malformed" / "missing_nested" / "parent.yml")
    assert caught.value.where is not None and caught.value.where.endswith("parent.yml:6")


def test_remote_children_are_not_followed(load_text: LoadText) -> None:
    stack_set = load_text(
        """\
        Resources:
          Child:
            Type: AWS::CloudFormation::Stack
            Properties: {TemplateURL: 'https://s3.amazonaws.com/b/child.yml'}
        Outputs:
          X: {Value: !GetAtt Child.Outputs.X}
        """
    )
    assert list(stack_set.stacks) == ["t.yml"]
    value = stack_set.root.outputs["X"].value
    assert isinstance(value, Unresolved) and value.kind is UnresolvedKind.NESTED_OUTPUT


def test_a_stack_that_nests_itself_is_refused(load_text: LoadText) -> None:
    loop = (
        "Resources:\n  Me:\n    Type: AWS::CloudFormation::Stack\n"
        "    Properties: {TemplateURL: t.yml}\n"
    )
    with pytest.raises(TemplateError, match="loop"):
        load_text(loop)


def test_discover_finds_roots_and_skips_other_files(fixtures: Path) -> None:
    found = discover([fixtures / "nested"], DiskReader())
    assert [p.name for p in found.roots] == ["parent.yml"]
    cdk = discover([fixtures / "cdk"], DiskReader())
    assert [p.name for p in cdk.roots] == ["CdkStack.template.json"]
    assert [p.name for p, _ in cdk.skipped] == ["manifest.json"]


@pytest.mark.parametrize("name", ["not_a_template.yml", "nope.yml"])
def test_discover_refuses_explicit_non_templates(fixtures: Path, name: str) -> None:
    with pytest.raises(TemplateError):
        discover([fixtures / "malformed" / name], DiskReader())


def test_discover_refuses_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(TemplateError, match="no CloudFormation templates"):
        discover([tmp_path], DiskReader())


def test_reference_set_resolves_across_stacks(reference_dir: Path) -> None:
    stack_set = load_stack_set(reference_dir / "parent.yml")
    service = next(s for s in stack_set.stacks.values() if s.name == "ServiceStack")
    subnets = service.resources["Service"].properties["NetworkConfiguration"][
        "AwsvpcConfiguration"
    ]["Subnets"]
    assert [stack_set.resource(s).logical_id for s in subnets] == [
        "PrivateSubnetOne",
        "PrivateSubnetTwo",
    ]
    vpc = next(s for s in stack_set.stacks.values() if s.name == "VpcStack")
    assert vpc.resources["PublicSubnetTwo"].properties["AvailabilityZone"] == "us-east-1b"
    assert vpc.resources["VPC"].properties["CidrBlock"] == "10.0.0.0/16"
