"""Tiny base images built locally, so image tests need no registry to pull from, and the
clean-up that removes everything those tests built.

Every image carries the label `fa13-test-run=<run id>` (one id per pytest process), set
in the base and so inherited by each image built FROM it, intermediate layers included:
teardown removes exactly the images with that label, plus any tag or container named
with the run's prefix (`fa13-test-<run id>-`), and nothing of anyone else's. The label
also keeps other builds from sharing these layers as cache.

* `busybox_base`: Debian's static busybox from this machine (busybox-static), FROM
  scratch, built with `--network none`.
* `busybox_arm64_base`: the arm64 busybox, unpacked from Debian's package by `mmdebstrap
  --variant=extract` (about 3 s, needs the Debian mirror); its busybox `--install` step
  runs under QEMU, so it needs binfmt emulation (see fargate_api.images.platforms).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fargate_api.images.platforms import host_architecture
from support.commands import require_commands

PREFIX = "fa13-test-"
LABEL = "fa13-test-run"
BUSYBOX = Path("/bin/busybox")
COMMAND_TIMEOUT = 300.0
MMDEBSTRAP_TIMEOUT = 300.0
LIST_RETRIES = 10

BASE_DOCKERFILE = """\
FROM scratch
LABEL {label}={run}
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
"""


def podman(*args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Runs podman (never through a shell); the caller checks the result."""
    return subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def listing(*args: str) -> str:
    """A podman listing (`images`, `ps`). Retried: while other test processes remove
    images, podman may fail on one that vanished mid-listing ("image not known"), and an
    empty answer taken at face value would skip the clean-up."""
    proc = podman(*args)
    for _ in range(LIST_RETRIES):
        if proc.returncode == 0:
            break
        time.sleep(0.2)
        proc = podman(*args)
    return checked(proc)


def checked(proc: subprocess.CompletedProcess[str]) -> str:
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(proc.args)}` failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )
    return proc.stdout


@dataclass
class ImageRun:
    """The names this test process may create, and their removal."""

    run: str = field(default_factory=lambda: secrets.token_hex(4))

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.run}-"

    def repository(self, name: str) -> str:
        """A local repository name inside this run, e.g. `localhost/fa13-test-1a2b3c4d-app`."""
        return f"localhost/{self.prefix}{name}"

    def container(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def build_base(self, folder: Path, busybox: Path, platform: str, name: str) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(busybox, folder / "busybox")
        (folder / "Dockerfile").write_text(BASE_DOCKERFILE.format(label=LABEL, run=self.run))
        tag = f"{self.repository(name)}:latest"
        checked(
            podman("build", "--network", "none", "--platform", platform, "-t", tag, str(folder))
        )
        return tag

    def leftovers(self) -> list[str]:
        """Everything of this run still in podman's store: containers, tags, images."""
        found: list[str] = []
        ps = listing("ps", "--all", "--external", "--format", "{{.ID}} {{.Names}}")
        for line in ps.splitlines():
            cid, _, names = line.partition(" ")
            if self.prefix in names:
                found.append(f"container {cid}")
        images = listing("images", "--all", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")
        labelled = listing("images", "--all", "--quiet", "--filter", f"label={LABEL}={self.run}")
        ids = set(labelled.split())
        for line in images.splitlines():
            image_id, _, reference = line.partition(" ")
            if image_id in ids or self.prefix in reference:
                found.append(f"image {image_id} {reference}")
        return sorted(set(found))

    def cleanup(self) -> None:
        """Removes this run's containers and images; fails the session if any remain."""
        ps = listing("ps", "--all", "--external", "--format", "{{.ID}} {{.Names}}")
        containers = [line.split()[0] for line in ps.splitlines() if self.prefix in line]
        if containers:
            podman("rm", "--force", *containers)
        for _ in range(3):  # children first is podman's job; a retry covers races
            labelled = listing(
                "images", "--all", "--quiet", "--filter", f"label={LABEL}={self.run}"
            ).split()
            tags = [
                ref
                for ref in listing("images", "--format", "{{.Repository}}:{{.Tag}}").split()
                if self.prefix in ref
            ]
            if not labelled and not tags:
                return
            podman("rmi", "--force", *_unique([*tags, *labelled]))
        left = self.leftovers()
        if left:
            raise AssertionError(f"test images/containers left behind: {left}")


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


@pytest.fixture(scope="session")
def image_run() -> Iterator[ImageRun]:
    """This process's run id; removes every image and container of the run at the end."""
    require_commands("podman")
    run = ImageRun()
    try:
        yield run
    finally:
        run.cleanup()


@pytest.fixture(scope="session")
def busybox_base(image_run: ImageRun, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`localhost/fa13-test-<run>-busybox:latest` for this machine's CPU."""
    require_commands("busybox")
    folder = tmp_path_factory.mktemp("busybox-base")
    platform = f"linux/{host_architecture()}"
    return image_run.build_base(folder, BUSYBOX.resolve(), platform, "busybox")


@pytest.fixture(scope="session")
def busybox_arm64_base(image_run: ImageRun, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`localhost/fa13-test-<run>-busybox-arm64:latest`, an arm64 image."""
    require_commands("mmdebstrap")
    rootfs = tmp_path_factory.mktemp("arm64-rootfs")
    proc = subprocess.run(
        [
            "mmdebstrap",
            "--quiet",
            "--variant=extract",
            "--arch=arm64",
            "--include=busybox-static",
            "bookworm",
            str(rootfs),
        ],
        capture_output=True,
        text=True,
        timeout=MMDEBSTRAP_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    busybox = rootfs / "bin" / "busybox"
    if proc.returncode != 0 or not busybox.is_file():
        pytest.fail(
            "mmdebstrap could not unpack the arm64 busybox-static (it needs the Debian "
            f"mirror):\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )
    folder = tmp_path_factory.mktemp("busybox-arm64-base")
    return image_run.build_base(folder, busybox, "linux/arm64", "busybox-arm64")
