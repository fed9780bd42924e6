"""Naming the failed step of a build, on recorded podman output and docker's formats."""

from __future__ import annotations

from pathlib import Path

from fargate_api.errors import OperationError
from fargate_api.images import BuildFailedError
from fargate_api.images.build_failure import OUTPUT_LINES, BuildTranscript, build_failure

RECORDED = Path(__file__).with_name("recorded")


def recorded(name: str) -> list[str]:
    return (RECORDED / name).read_text().splitlines()


def test_podman_run_step_and_its_output() -> None:
    error = build_failure("podman", recorded("podman-run-fails.txt"), Path("/src/Dockerfile"))
    assert isinstance(error, OperationError)
    assert error.exit_code == 1
    assert error.builder == "podman"
    assert error.step is not None
    assert error.step.startswith('STEP 3/4: RUN echo "compiling"')
    assert error.output[:2] == ("compiling", "error: missing header foo.h")
    assert error.output[-1].startswith("Error: building at STEP")
    assert "preparing" not in error.output  # the previous step's output is not this one's
    assert error.where == "/src/Dockerfile"
    rendered = error.render()
    assert "podman build failed at STEP 3/4" in rendered
    assert "| error: missing header foo.h" in rendered
    assert "fix:" in rendered


def test_podman_multistage_keeps_the_last_twenty_lines() -> None:
    error = build_failure("podman", recorded("podman-multistage-fails.txt"))
    assert error.step is not None
    assert error.step.startswith("[1/2] STEP 3/3: RUN for i in")
    assert len(error.output) == OUTPUT_LINES
    assert error.output[-2] == "line 25"
    assert "line 6" not in error.output  # 19 output lines and podman's Error line
    assert error.output[0] == "line 7"


def test_podman_copy_of_a_missing_file() -> None:
    error = build_failure("podman", recorded("podman-copy-missing.txt"))
    assert error.step == "STEP 2/2: COPY missing.txt /missing.txt"
    assert any('"/missing.txt": no such file or directory' in line for line in error.output)


def test_podman_base_image_that_cannot_be_pulled() -> None:
    error = build_failure("podman", recorded("podman-base-missing.txt"))
    assert error.step == "STEP 1/2: FROM localhost/fa13-test-does-not-exist:1"
    assert "connection refused" in error.output[-1]


def test_failure_before_any_step() -> None:
    lines = ["Error: no FROM statement found"]
    error = build_failure("podman", lines)
    assert error.step is None
    assert error.output == ("Error: no FROM statement found",)
    assert "failed before its first step" in error.what


def test_docker_buildkit_plain_names_the_failed_vertex() -> None:
    error = build_failure("docker", recorded("docker-buildkit-run-fails.txt"))
    assert error.builder == "docker"
    assert error.step == (
        '[3/3] RUN echo "compiling" && echo "error: missing header foo.h" >&2 && exit 3'
    )
    assert error.output[:2] == ("compiling", "error: missing header foo.h")
    assert error.output[2].startswith("ERROR: process")
    assert error.output[-1].startswith("ERROR: failed to solve")
    assert "preparing" not in error.output


def test_docker_buildkit_multistage_with_named_stages() -> None:
    error = build_failure("docker", recorded("docker-buildkit-multistage-fails.txt"))
    assert error.step == "[builder 3/3] RUN pip install --no-cache-dir -r /src/requirements.txt"
    assert any("no-such-package==9.9" in line for line in error.output)
    assert not any("CANCELED" in line for line in error.output)


def test_docker_tty_progress_error_line() -> None:
    error = build_failure("docker", recorded("docker-tty-fails.txt"))
    assert error.step == "[3/3] RUN exit 3"


def test_docker_legacy_builder_step() -> None:
    error = build_failure("docker", recorded("docker-classic-fails.txt"))
    assert error.step == 'Step 3/3 : RUN echo "error: missing header foo.h" >&2 && exit 3'
    assert "error: missing header foo.h" in error.output


def test_podman_output_is_not_read_as_docker_vertices() -> None:
    transcript = BuildTranscript("podman")
    for line in ["STEP 2/2: RUN ./check", "#5 ERROR: looks like buildkit", "ERROR [1/1] nope"]:
        transcript.add(line)
    error = transcript.failure()
    assert error.step == "STEP 2/2: RUN ./check"


def test_is_an_operation_error() -> None:
    error = BuildFailedError(builder="docker", step="[1/1] RUN x", output=["a"])
    assert isinstance(error, OperationError)
    assert error.render().startswith("docker build failed at [1/1] RUN x\n    | a")
