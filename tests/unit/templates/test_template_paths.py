"""Template paths that are not plain files, or spelled the long way round (from a fuzzing
run): each is named for what it is, a FIFO is never opened, and paths are normalised so
that a nested stack loop is blamed on the templates that make it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fargate_api.templates import DiskReader, TemplateError, discover, load_stack_set
from fargate_api.templates.loader import local_child_path

TOPIC = "Resources:\n  T: {Type: AWS::SNS::Topic}\n"


def _parent(url: str) -> str:
    return (
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n"
        f"    Properties: {{TemplateURL: '{url}'}}\n"
    )


def _load_error(root: Path) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        load_stack_set(root)
    return caught.value


def test_template_url_that_is_a_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "parent.yml").write_text(_parent("."))
    error = _load_error(tmp_path / "parent.yml")
    assert "is a folder, not a template file" in error.what
    assert error.where is not None and error.where.endswith("parent.yml:4")
    assert error.fix is not None and "template file" in error.fix


def test_template_url_that_is_a_device_says_so(tmp_path: Path) -> None:
    (tmp_path / "parent.yml").write_text(_parent("/dev/null"))
    error = _load_error(tmp_path / "parent.yml")
    assert "/dev/null: is not a regular file" in error.what


def test_template_url_that_is_a_fifo_is_named_and_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yml")
    (tmp_path / "parent.yml").write_text(_parent("pipe.yml"))
    error = _load_error(tmp_path / "parent.yml")  # opening the FIFO would block here
    assert "is not a regular file" in error.what


def test_a_fifo_given_as_a_path_is_named_and_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yml")
    with pytest.raises(TemplateError, match="is not a regular file"):
        discover([tmp_path / "pipe.yml"], DiskReader())
    with pytest.raises(TemplateError, match="is not a regular file"):
        DiskReader().read(tmp_path / "pipe.yml")


def test_template_url_that_is_a_symlink_loop_says_so(tmp_path: Path) -> None:
    (tmp_path / "loop.yml").symlink_to("loop.yml")
    (tmp_path / "parent.yml").write_text(_parent("loop.yml"))
    found = discover([tmp_path], DiskReader())  # resolving the loop raised RuntimeError
    assert found.roots == [tmp_path / "parent.yml"]
    error = _load_error(tmp_path / "parent.yml")
    assert "loop.yml: is a symbolic link loop" in error.what


def test_a_symlink_loop_given_as_a_path_says_so(tmp_path: Path) -> None:
    (tmp_path / "loop.yml").symlink_to("loop.yml")
    with pytest.raises(TemplateError, match="is a symbolic link loop"):
        discover([tmp_path / "loop.yml"], DiskReader())


def test_a_missing_template_url_is_still_not_found(tmp_path: Path) -> None:
    (tmp_path / "parent.yml").write_text(_parent("gone.yml"))
    assert "gone.yml: template file not found" in _load_error(tmp_path / "parent.yml").what


def test_template_url_through_a_missing_folder_is_normalised(tmp_path: Path) -> None:
    (tmp_path / "parent.yml").write_text(_parent("nodir/../child.yml"))
    (tmp_path / "child.yml").write_text(TOPIC)
    stack_set = load_stack_set(tmp_path / "parent.yml")
    child = stack_set.stacks[f"{DiskReader().display(tmp_path / 'parent.yml')}/Child"]
    assert "T" in child.resources
    assert local_child_path(Path("a/parent.yml"), "nodir/../child.yml") == Path("a/child.yml")


def test_loop_back_to_the_parent_by_another_spelling_names_the_loop(tmp_path: Path) -> None:
    folder = tmp_path / "X"
    folder.mkdir()
    (folder / "parent.yml").write_text(
        _parent("child.yml")
        + "  Sibling:\n    Type: AWS::CloudFormation::Stack\n"
        + "    Properties: {TemplateURL: sibling.yml}\n"
    )
    (folder / "child.yml").write_text(
        "Resources:\n  Back:\n    Type: AWS::CloudFormation::Stack\n"
        "    Properties: {TemplateURL: ../X/parent.yml}\n"
    )
    (folder / "sibling.yml").write_text(TOPIC)
    error = _load_error(folder / "parent.yml")
    assert "nested stack Back includes" in error.what
    assert "parent.yml -> " in error.what and "child.yml -> " in error.what
    assert "sibling" not in error.what
    assert error.where is not None and error.where.endswith("child.yml:4")


def test_in_a_folder_a_file_over_1_mb_is_refused_only_if_it_is_a_template(
    tmp_path: Path,
) -> None:
    (tmp_path / "ok.yml").write_text(TOPIC)
    (tmp_path / "tree.json").write_text('{"tree": ["' + "x" * 1_100_000 + '"]}')
    found = discover([tmp_path], DiskReader())
    assert found.roots == [tmp_path / "ok.yml"]
    assert [path.name for path, _ in found.skipped] == ["tree.json"]
    (tmp_path / "huge.yml").write_text(TOPIC + "# " + "x" * 1_100_000 + "\n")
    with pytest.raises(TemplateError, match="1 MB"):
        discover([tmp_path], DiskReader())
