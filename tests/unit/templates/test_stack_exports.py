"""Several top-level stacks linked by Export / Fn::ImportValue, read as one set."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.templates import (
    MemoryReader,
    ResourceRef,
    StackInput,
    TemplateError,
    Unresolved,
    UnresolvedKind,
    load_stacks,
    parse_stack_inputs,
)
from fargate_api.templates.linked import linked_groups

NETWORK = """\
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
Outputs:
  VpcId:
    Value: !Ref Vpc
    Export:
      Name: !Sub "${AWS::StackName}:VpcId"
"""

SERVICE = """\
Parameters:
  Network: {Type: String, Default: net}
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: the service
      VpcId:
        Fn::ImportValue: !Sub "${Network}:VpcId"
Outputs:
  GroupId:
    Value: !Ref Group
    Export: {Name: service-group}
"""

LONE = """\
Resources:
  Topic: {Type: AWS::SNS::Topic}
"""


def _load(files: dict[str, str], *stacks: str) -> object:
    reader = MemoryReader({Path(name): text for name, text in files.items()})
    return load_stacks(parse_stack_inputs(list(stacks)), reader=reader)


def _error(files: dict[str, str], *stacks: str) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        _load(files, *stacks)
    return caught.value


def test_an_import_reaches_the_exporting_stacks_resource() -> None:
    files = {"svc.yml": SERVICE, "vpc.yml": NETWORK}
    stack_set = _load(files, "svc=svc.yml", "net=vpc.yml")
    group = stack_set.stacks["svc.yml"].resources["Group"]  # type: ignore[attr-defined]
    assert group.properties["VpcId"] == ResourceRef("vpc.yml", "Vpc")
    # The exporter is created first, whatever the order given.
    assert [s.name for s in stack_set.roots] == ["net", "svc"]  # type: ignore[attr-defined]
    (link,) = stack_set.imports  # type: ignore[attr-defined]
    assert (link.importer, link.exporter, link.name, link.output) == (
        "svc.yml",
        "vpc.yml",
        "net:VpcId",
        "VpcId",
    )
    assert link.where == "svc.yml:9"


def test_the_stack_name_decides_the_export_name() -> None:
    files = {"svc.yml": SERVICE, "vpc.yml": NETWORK}
    error = _error(files, "svc=svc.yml", "network=vpc.yml")
    assert error.what == "Fn::ImportValue 'net:VpcId': none of the given stacks exports it"
    assert error.where == "svc.yml:9"
    assert "network:VpcId" in (error.fix or "") and "-t NAME=PATH" in (error.fix or "")
    # Without NAME a stack is named after its file: vpc.yml exports vpc:VpcId.
    assert "vpc:VpcId" in (_error(files, "svc.yml", "vpc.yml").fix or "")


def test_one_template_alone_keeps_its_import_unresolved() -> None:
    stack_set = _load({"svc.yml": SERVICE}, "svc.yml")
    value = stack_set.root.resources["Group"].properties["VpcId"]  # type: ignore[attr-defined]
    assert isinstance(value, Unresolved) and value.kind is UnresolvedKind.IMPORT
    assert stack_set.imports == ()  # type: ignore[attr-defined]


def test_an_import_is_required_when_asked_even_for_one_template() -> None:
    reader = MemoryReader({Path("svc.yml"): SERVICE})
    with pytest.raises(TemplateError, match="none of the given stacks exports it"):
        load_stacks([StackInput(Path("svc.yml"))], reader=reader, missing_exports="error")


def test_two_stacks_exporting_one_name_is_bad_input() -> None:
    # One template twice under two names: the export names differ, no clash.
    _load({"a.yml": NETWORK, "b.yml": NETWORK}, "net=a.yml", "net2=b.yml")
    error = _error({"a.yml": SERVICE, "b.yml": SERVICE, "v.yml": NETWORK}, "a.yml", "b.yml")
    assert error.what.startswith("export 'service-group' is exported twice")
    assert error.where == "b.yml:13"
    assert "a.yml:13" in error.what


def test_an_import_cycle_names_every_step() -> None:
    first = SERVICE.replace("service-group", "first-group").replace(
        '!Sub "${Network}:VpcId"', "second-group"
    )
    second = SERVICE.replace("service-group", "second-group").replace(
        '!Sub "${Network}:VpcId"', "first-group"
    )
    error = _error({"one.yml": first, "two.yml": second}, "one.yml", "two.yml")
    assert error.what == (
        "an import cycle between top-level stacks: one.yml:9 imports 'second-group' from "
        "two.yml; two.yml:9 imports 'first-group' from one.yml"
    )
    assert error.where == "two.yml:9"


def test_a_stack_importing_its_own_export_is_a_cycle() -> None:
    own = SERVICE.replace('!Sub "${Network}:VpcId"', "service-group")
    error = _error({"own.yml": own, "x.yml": LONE}, "own.yml", "x.yml")
    assert error.what.endswith("own.yml:9 imports 'service-group' from own.yml")


def test_unlinked_stacks_are_separate_groups_linked_ones_one() -> None:
    files = {"svc.yml": SERVICE, "vpc.yml": NETWORK, "lone.yml": LONE}
    stack_set = _load(files, "svc=svc.yml", "net=vpc.yml", "lone.yml")
    groups = linked_groups(stack_set)  # type: ignore[arg-type]
    assert sorted(sorted(s.stacks) for s in groups) == [["lone.yml"], ["svc.yml", "vpc.yml"]]
    linked = next(g for g in groups if "svc.yml" in g.stacks)
    assert len(linked.imports) == 1 and [r.name for r in linked.roots] == ["net", "svc"]


def test_stack_names_are_checked() -> None:
    with pytest.raises(TemplateError, match="not a valid stack name"):
        parse_stack_inputs(["9lives=a.yml"])
    with pytest.raises(TemplateError, match="has no template path"):
        parse_stack_inputs(["net="])
    with pytest.raises(TemplateError, match="two stacks are named 'net'"):
        parse_stack_inputs(["net=a.yml", "net=b.yml"])
    assert parse_stack_inputs(["a.yml", "net=b.yml"]) == [
        StackInput(Path("a.yml")),
        StackInput(Path("b.yml"), "net"),
    ]


def test_a_path_holding_an_equals_sign_that_exists_is_a_path(tmp_path: Path) -> None:
    odd = tmp_path / "a=b.yml"
    odd.write_text(LONE)
    assert parse_stack_inputs([str(odd)]) == [StackInput(odd)]
