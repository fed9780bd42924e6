"""The source tag, against real git repositories in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.images import SourceTag, image_tag, read_source
from support.git_repo import git

IMAGE_ID = "sha256:" + "ab12cd34ef56" + "0" * 52


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git configuration may change the outcome."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a committed context folder `app/` and a file outside it."""
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / "app" / "Dockerfile").write_text("FROM scratch\n")
    (root / "README.md").write_text("readme\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_context_is_tagged_with_the_commit(repo: Path) -> None:
    source = read_source(repo / "app")
    assert source == SourceTag(commit=git(repo, "rev-parse", "HEAD")[:12], dirty=False)
    assert image_tag(source, IMAGE_ID) == source.commit


def test_modified_file_inside_the_context_is_dirty(repo: Path) -> None:
    (repo / "app" / "main.py").write_text("print('changed')\n")
    source = read_source(repo / "app")
    assert source.dirty
    assert image_tag(source, IMAGE_ID) == f"{source.commit}-dirty-ab12cd34ef56"


def test_untracked_file_inside_the_context_is_dirty(repo: Path) -> None:
    (repo / "app" / "new").mkdir()
    (repo / "app" / "new" / "x.py").write_text("")
    assert read_source(repo / "app").dirty


def test_staged_deletion_inside_the_context_is_dirty(repo: Path) -> None:
    git(repo, "rm", "-q", "app/main.py")
    assert read_source(repo / "app").dirty


def test_change_outside_the_context_only_is_clean(repo: Path) -> None:
    (repo / "README.md").write_text("edited\n")
    (repo / "untracked-elsewhere.txt").write_text("x")
    source = read_source(repo / "app")
    assert source.dirty is False
    assert source.commit == git(repo, "rev-parse", "HEAD")[:12]
    # ...while the repository root, as a context, sees them.
    assert read_source(repo).dirty


def test_new_commit_changes_the_tag(repo: Path) -> None:
    before = read_source(repo / "app").commit
    (repo / "app" / "main.py").write_text("print('v2')\n")
    git(repo, "commit", "-q", "-am", "second")
    after = read_source(repo / "app")
    assert after.commit != before
    assert not after.dirty


def test_folder_outside_any_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    source = read_source(folder)
    assert source == SourceTag(commit=None, dirty=False)
    assert image_tag(source, IMAGE_ID) == "build-ab12cd34ef56"


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assert read_source(tmp_path).commit is None


def test_no_git_on_the_path(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert read_source(repo / "app") == SourceTag()


def test_image_tag_accepts_ids_without_prefix() -> None:
    assert image_tag(SourceTag(), "0123456789abcdef" * 4) == "build-0123456789ab"
    dirty = SourceTag(commit="a" * 12, dirty=True)
    assert image_tag(dirty, "0123456789abcdef" * 4) == "aaaaaaaaaaaa-dirty-0123456789ab"
    assert image_tag(SourceTag(commit="b" * 12), IMAGE_ID) == "bbbbbbbbbbbb"


def test_commit_must_be_twelve_hex() -> None:
    with pytest.raises(ValueError):
        SourceTag(commit="xyz", dirty=False)
