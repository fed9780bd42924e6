"""An arm64 image built on this machine, through QEMU when the CPU is not arm64.

This test never skips: a machine without binfmt emulation FAILS it, naming the packages
(scripts/install-system-deps.sh installs them and enables the handler).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.images import find_builder
from fargate_api.images.platforms import emulation_problem
from support.base_images import ImageRun

from .support import request_for, write_context


def test_build_for_linux_arm64(
    image_run: ImageRun, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    problem = emulation_problem("linux/arm64")
    if problem is not None:
        pytest.fail(
            f"cannot build linux/arm64 images here: {problem.what}\n"
            f"install qemu-user-static and binfmt-support: {problem.fix}",
            pytrace=False,
        )
    base = request.getfixturevalue("busybox_arm64_base")
    # The RUN step really runs arm64 code: uname reports the emulated CPU.
    dockerfile = f'FROM {base}\nRUN test "$(uname -m)" = aarch64\n'
    context = write_context(tmp_path / "app", dockerfile)
    builder = find_builder()
    built = builder.build(
        request_for(context, image_run.repository("arm64"), platform="linux/arm64"),
        lambda line: None,
    )
    assert built.architecture == "arm64"
    assert builder.architecture(built.reference) == "arm64"
