"""Dockerfile stages and the checks made before any builder runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.images import BuildRequest, check_inputs, stage_names
from fargate_api.images.dockerfile import instructions
from fargate_api.images.platforms import emulated, host_architecture

AARCH64_MAGIC = "7f454c460201010000000000000000000200b700"
X86_64_MAGIC = "7f454c4602010100000000000000000002003e00"


def test_stage_names_in_order_with_any_keyword_case() -> None:
    text = (
        "FROM python:3.12 AS builder\n"
        "run echo hi\n"
        "from --platform=$BUILDPLATFORM debian:bookworm as Tools\n"
        "FROM scratch\n"
        "From builder aS runtime\n"
    )
    assert stage_names(text) == ["builder", "Tools", "runtime"]


def test_stage_names_follow_continuations_and_skip_comments() -> None:
    text = (
        "# FROM commented AS nope\n"
        "FROM \\\n"
        "  # a comment inside the continuation\n"
        "  python:3.12 \\\n"
        "\n"
        "  AS build\n"
        "RUN echo 'FROM x AS not-a-stage'\n"
    )
    assert stage_names(text) == ["build"]


def test_stage_names_honour_the_escape_directive() -> None:
    text = "# escape=`\nFROM python:3.12 `\n  AS win\nRUN dir c:\\\n"
    assert stage_names(text) == ["win"]


def test_heredoc_bodies_are_not_instructions() -> None:
    text = (
        "FROM debian AS base\n"
        "RUN <<EOF\n"
        "FROM evil AS fake\n"
        "EOF\n"
        "COPY <<-CONF /etc/x.conf\n"
        "\tFROM y AS also-fake\n"
        "\tCONF\n"
        "FROM base AS final\n"
    )
    assert stage_names(text) == ["base", "final"]
    assert instructions(text)[-1] == "FROM base AS final"


def test_no_named_stages() -> None:
    assert stage_names("FROM scratch\nCOPY x /x\n") == []


def _request(tmp_path: Path, **changes: object) -> BuildRequest:
    context = tmp_path / "app"
    context.mkdir(exist_ok=True)
    dockerfile = context / "Dockerfile"
    if not dockerfile.exists():
        dockerfile.write_text("FROM scratch AS base\nFROM base AS runtime\n")
    fields: dict[str, object] = {
        "context": context,
        "dockerfile": dockerfile,
        "repository": "localhost/fa13-test-unit",
        "platform": f"linux/{host_architecture()}",
    }
    fields.update(changes)
    return BuildRequest.model_validate(fields)


def test_good_inputs_pass(tmp_path: Path) -> None:
    check_inputs(_request(tmp_path, target="RUNTIME"))  # stage names: case-insensitive


def test_missing_context(tmp_path: Path) -> None:
    request = _request(tmp_path, context=tmp_path / "nowhere")
    with pytest.raises(UserError) as caught:
        check_inputs(request)
    assert caught.value.exit_code == 2
    assert "does not exist" in caught.value.what
    assert caught.value.where == str(tmp_path / "nowhere")


def test_context_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is not a folder"):
        check_inputs(_request(tmp_path, context=tmp_path / "file"))


def test_missing_dockerfile_says_where_it_looked_and_how_to_set_it(tmp_path: Path) -> None:
    wanted = tmp_path / "app" / "docker" / "Containerfile"
    with pytest.raises(UserError) as caught:
        check_inputs(_request(tmp_path, dockerfile=wanted))
    error = caught.value
    assert error.where == str(wanted)
    assert error.fix is not None
    assert str(wanted) in error.fix
    assert "`dockerfile`" in error.fix


def test_unknown_target_lists_the_stages(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        check_inputs(_request(tmp_path, target="prod"))
    assert "'prod'" in caught.value.what
    assert "base, runtime" in caught.value.what


def test_unknown_target_without_stages(tmp_path: Path) -> None:
    request = _request(tmp_path, target="prod")
    request.dockerfile.write_text("FROM scratch\n")
    with pytest.raises(UserError, match="no `FROM image AS name` line"):
        check_inputs(request)


def _binfmt(folder: Path, *entries: tuple[str, str, str]) -> Path:
    folder.mkdir()
    (folder / "status").write_text("enabled\n")
    (folder / "register").write_text("")
    for name, state, magic in entries:
        (folder / name).write_text(
            f"{state}\ninterpreter /usr/libexec/qemu-binfmt/{name}\nflags: PF\noffset 0\n"
            f"magic {magic}\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
        )
    return folder


def test_foreign_platform_without_emulation_names_the_package(tmp_path: Path) -> None:
    request = _request(tmp_path, platform="linux/arm64")
    missing = tmp_path / "not-mounted"
    missing.mkdir()
    with pytest.raises(UserError) as caught:
        check_inputs(request, machine="x86_64", binfmt_dir=missing)
    error = caught.value
    assert "cannot build for linux/arm64" in error.what
    assert error.fix is not None
    assert "qemu-user-static" in error.fix
    assert "update-binfmts --enable qemu-aarch64" in error.fix
    assert f"mount -t binfmt_misc binfmt_misc {missing}" in error.fix


def test_foreign_platform_with_a_disabled_handler_fails(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path / "binfmt", ("qemu-aarch64", "disabled", AARCH64_MAGIC))
    with pytest.raises(UserError) as caught:
        check_inputs(
            _request(tmp_path, platform="linux/arm64"), machine="x86_64", binfmt_dir=binfmt
        )
    assert caught.value.fix is not None
    assert "mount -t" not in caught.value.fix  # mounted: only the enable step is needed


def test_foreign_platform_with_emulation_passes(tmp_path: Path) -> None:
    # The handler is found by its ELF machine, whatever its file is called.
    binfmt = _binfmt(tmp_path / "binfmt", ("arm64-anything", "enabled", AARCH64_MAGIC))
    check_inputs(_request(tmp_path, platform="linux/arm64"), machine="x86_64", binfmt_dir=binfmt)


def test_amd64_on_arm64_needs_the_x86_64_handler(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path / "binfmt", ("qemu-aarch64", "enabled", AARCH64_MAGIC))
    assert not emulated("amd64", binfmt)
    with pytest.raises(UserError) as caught:
        check_inputs(
            _request(tmp_path, platform="linux/amd64"), machine="aarch64", binfmt_dir=binfmt
        )
    assert "cannot run amd64 binaries" in caught.value.what
    assert "update-binfmts --enable qemu-x86_64" in str(caught.value.fix)
    (binfmt / "qemu-x86_64").write_text(f"enabled\nmagic {X86_64_MAGIC}\n")
    assert emulated("amd64", binfmt)


def test_native_platform_needs_no_emulation(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    check_inputs(_request(tmp_path, platform="linux/arm64"), machine="aarch64", binfmt_dir=empty)


def test_emulation_off_globally(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path / "binfmt", ("qemu-aarch64", "enabled", AARCH64_MAGIC))
    (binfmt / "status").write_text("disabled\n")
    assert not emulated("arm64", binfmt)
