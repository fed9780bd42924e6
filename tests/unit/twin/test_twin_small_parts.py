"""Names, image mapping, prerequisites and template resolution of the twin."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.templates import StackInput
from fargate_api.twin.cli.lifecycle import wait_timeout
from fargate_api.twin.cli.template_source import templates_for
from fargate_api.twin.ecs.images import (
    is_stand_in_image,
    match_run_option,
    parse_run_options,
    repository_name,
    substitute_port,
)
from fargate_api.twin.host import prerequisites
from fargate_api.twin.naming import TwinNames, check_name
from fargate_api.twin.plan.load import load_plan


def test_names_carry_the_prefix_and_fit_interface_limits() -> None:
    names = TwinNames("demo")
    assert names.router == "fa-demo-vpc" and names.internet == "fa-demo-inet"
    assert names.task("0" * 32).startswith("fa-demo-t-")
    assert names.state_dir.name == "fa-demo-twin"
    assert len(names.link("e99999")) <= 15 and names.link("b0").startswith("fa")
    with pytest.raises(ValueError, match="15"):
        names.link("x" * 10)


def test_a_twin_never_claims_another_twins_namespaces() -> None:
    short, longer = TwinNames("a"), TwinNames("a-b")
    assert short.owns_netns("fa-a-vpc") and short.owns_netns("fa-a-t-" + "f" * 32)
    assert not short.owns_netns("fa-a-b-vpc")  # twin "a-b"'s router
    assert not short.owns_netns("fa-a-b-t-" + "f" * 32)
    assert longer.owns_netns("fa-a-b-vpc")
    assert not short.owns_netns("fa-a-somethingelse")


def test_names_are_validated() -> None:
    assert check_name("demo-2") == "demo-2"
    for bad in ("", "Demo", "-x", "a" * 21, "a_b", "a/b"):
        with pytest.raises(UserError):
            check_name(bad)


def test_run_options_parse_and_match() -> None:
    mapping = parse_run_options(["nginx=serve {port}", "example.com/*:*=api --port {port}"])
    assert match_run_option("public.ecr.aws/docker/library/nginx:latest", mapping) == "serve {port}"
    assert match_run_option("example.com/team:1", mapping) == "api --port {port}"
    assert match_run_option("redis:7", mapping) is None
    assert substitute_port("api --port {port}", 8080) == "api --port 8080"
    for bad in ("nginx", "=cmd", "nginx="):
        with pytest.raises(UserError, match="IMAGE=COMMAND"):
            parse_run_options([bad])


def test_repository_names_and_stand_in_images() -> None:
    assert repository_name("public.ecr.aws/docker/library/nginx:latest") == "nginx"
    assert repository_name("nginx@sha256:abc") == "nginx"
    assert repository_name("amazon/amazon-ecs-sample") == "amazon/amazon-ecs-sample"
    assert is_stand_in_image("amazon/amazon-ecs-sample")
    assert is_stand_in_image("httpd:2.4") and not is_stand_in_image("example.com/api:1")


def test_prerequisites_name_root_and_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 1000)
    with pytest.raises(UserError, match="needs root") as caught:
        prerequisites.check_prerequisites()
    assert "sudo" in (caught.value.fix or "")
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 0)
    monkeypatch.setattr(prerequisites, "missing_commands", lambda commands: ["haproxy", "nft"])
    with pytest.raises(UserError, match="haproxy") as caught:
        prerequisites.check_prerequisites()
    assert "apt-get install -y haproxy nftables" in (caught.value.fix or "")


STACK = '{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}'


def test_templates_are_a_file_a_parent_folder_or_every_top_level_template(
    tmp_path: Path, reference_dir: Path
) -> None:
    def given(*texts: str) -> list[StackInput]:
        return templates_for(None, list(texts), tmp_path / "unused")

    parent = reference_dir / "parent.yml"
    # A folder with a parent: the parent alone (its children are nested, not top level).
    assert given(str(reference_dir)) == [StackInput(parent.resolve())]
    assert given(f"app={parent}") == [StackInput(parent.resolve(), "app")]
    single = tmp_path / "one"
    single.mkdir()
    (single / "stack.json").write_text(STACK)
    assert given(str(single)) == [StackInput((single / "stack.json").resolve())]
    # Several top-level templates in a folder are each a stack; a file that is not a
    # template is skipped.
    (single / "other.yml").write_text(STACK)
    (single / "notes.yml").write_text("x: 1")
    assert [s.path.name for s in given(str(single))] == ["other.yml", "stack.json"]
    with pytest.raises(UserError, match="holds 2 top-level templates"):
        given(f"app={single}")
    with pytest.raises(UserError, match="no such"):
        given(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="two stacks are named 'a'"):
        given(f"a={single / 'stack.json'}", f"a={single / 'other.yml'}")
    with pytest.raises(UserError, match="not a valid stack name"):
        given(f"1a={single / 'stack.json'}")


def test_wait_timeout_follows_the_health_checks(reference_dir: Path) -> None:
    plan = load_plan(reference_dir / "parent.yml")
    # interval 6 s x (2 healthy + 1) + 5 s timeout = 23 s, plus a minute of margin.
    assert wait_timeout(plan, 1.0) == pytest.approx(83.0)
    assert wait_timeout(plan, 0.1) == pytest.approx(62.3)
