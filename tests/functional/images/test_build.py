"""Building with the real podman: target stage, build args, tags from git, failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.images import BuildFailedError, find_builder
from fargate_api.images.platforms import host_architecture
from support.base_images import ImageRun, checked, podman

from .support import git, request_for, write_context

# The runtime stage checks, as it builds, that the build arg and the builder stage's
# artifact arrived; the last stage fails, so building it instead of the target fails too.
MULTI_STAGE = """\
FROM {base} AS builder
RUN echo built-in-builder > /artifact
FROM {base} AS runtime
ARG GREETING=unset
COPY --from=builder /artifact /artifact
RUN test "$GREETING" = hello-fa13 && test "$(cat /artifact)" = built-in-builder
FROM {base} AS broken-last-stage
RUN echo "the last stage must not be built when target=runtime" && exit 9
"""


def test_build_a_target_stage_with_a_build_arg(
    busybox_base: str, image_run: ImageRun, tmp_path: Path
) -> None:
    builder = find_builder()
    assert builder.name == "podman"
    context = write_context(tmp_path / "app", MULTI_STAGE.format(base=busybox_base))
    repository = image_run.repository("target")
    request = request_for(
        context, repository, target="runtime", build_args={"GREETING": "hello-fa13"}
    )
    lines: list[str] = []
    built = builder.build(request, lines.append)

    assert any("STEP" in line and 'RUN test "$GREETING"' in line for line in lines)
    assert built.repository == repository
    assert built.tag == f"build-{built.image_id.removeprefix('sha256:')[:12]}"  # not in git
    assert built.reference == f"{repository}:{built.tag}"
    assert built.architecture == host_architecture()
    assert built.os == "linux"
    assert built.builder == "podman"
    assert built.source.commit is None
    # The id and digest are podman's own.
    assert checked(podman("image", "inspect", "--format", "{{.Id}}", built.reference)).strip() == (
        built.image_id.removeprefix("sha256:")
    )
    assert built.local_digest is not None
    assert podman("image", "exists", f"{repository}@{built.local_digest}").returncode == 0
    # Only the final tag is left: the temporary one is gone.
    tags = checked(podman("images", "--format", "{{.Tag}}", "--filter", f"reference={repository}"))
    assert tags.split() == [built.tag]
    assert builder.architecture(built.reference) == host_architecture()
    builder.remove(built.reference)
    assert builder.architecture(built.reference) is None


def test_tags_follow_the_git_commit_and_dirty_tree(
    busybox_base: str, image_run: ImageRun, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    context = write_context(
        repo / "app", f"FROM {busybox_base}\nCOPY main.txt /main.txt\n", {"main.txt": "v1\n"}
    )
    (repo / "README.md").write_text("outside the context\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")[:12]
    builder = find_builder()
    request = request_for(context, image_run.repository("git"))

    (repo / "README.md").write_text("edited, but not in the context\n")
    clean = builder.build(request, lambda line: None)
    assert clean.tag == commit
    assert clean.source.dirty is False

    (context / "main.txt").write_text("v2, uncommitted\n")
    dirty = builder.build(request, lambda line: None)
    assert dirty.tag == f"{commit}-dirty-{dirty.image_id.removeprefix('sha256:')[:12]}"
    assert dirty.image_id != clean.image_id


def test_failing_run_step_names_the_step(
    busybox_base: str, image_run: ImageRun, tmp_path: Path
) -> None:
    dockerfile = f"FROM {busybox_base}\nRUN echo step-output-before-failing && exit 7\n"
    context = write_context(tmp_path / "app", dockerfile)
    repository = image_run.repository("failing")
    builder = find_builder()
    with pytest.raises(BuildFailedError) as caught:
        builder.build(request_for(context, repository), lambda line: None)
    error = caught.value
    assert error.exit_code == 1
    assert error.step == "STEP 2/2: RUN echo step-output-before-failing && exit 7"
    assert "step-output-before-failing" in error.output
    assert "exit status 7" in error.output[-1]
    assert "podman build failed at STEP 2/2" in error.render()
    # No temporary tag survives the failure.
    tags = checked(podman("images", "--format", "{{.Tag}}", "--filter", f"reference={repository}"))
    assert tags.split() == []
