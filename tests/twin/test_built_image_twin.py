"""`[service] build` in the twin: `local up -c CONFIG` builds the image with podman into
the store the twin runs from and serves it, `local deploy` rebuilds and rolls to the new
image, and a build that cannot work stops `local up` with nothing left behind.

The images are built from a tiny Dockerfile on the busybox test image (busybox httpd
serving a page the test writes), so no registry is needed. Every image a test builds
carries the label `fa13-test=<token>` (its Dockerfile's first step), by which the
teardown removes them all, cached layers of a failed build included.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fargate_api.twin.host.containers_conf import write_containers_conf
from twin.conftest import cleanup, leftovers, registered_prefix
from twin.container_stacks import BUSYBOX, STATE_ROOT
from twin.twin_support import cli, in_netns, wait_for

pytestmark = pytest.mark.twin_container

SCALE = "0.1"
PORT = 8080
ACCOUNT_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@dataclass
class BuiltTwin:
    """A twin name, its prefix, and a config that builds `context` (not started yet)."""

    name: str
    prefix: str
    token: str
    context: Path
    config: Path
    conf: Path  # a containers.conf for this test's own podman calls

    @property
    def repository(self) -> str:
        return f"{ACCOUNT_REGISTRY}/fa13-test-{self.token}-api"

    def write_app(self, page: str, dockerfile: str | None = None) -> None:
        (self.context / "www").mkdir(parents=True, exist_ok=True)
        (self.context / "www" / "index.html").write_text(page + "\n")
        (self.context / "Dockerfile").write_text(
            dockerfile
            if dockerfile is not None
            else (
                f"FROM {BUSYBOX}\n"
                f"LABEL fa13-test={self.token}\n"
                "COPY www /www\n"
                f'CMD ["httpd", "-f", "-p", "{PORT}", "-h", "/www"]\n'
            )
        )

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CONTAINERS_CONF": str(self.conf)}
        return subprocess.run(
            ["podman", *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    def images(self) -> list[str]:
        """Every image this test built (its label), intermediate layers included."""
        out = self.podman(
            "images", "--all", "--filter", f"label=fa13-test={self.token}", "--format", "{{.ID}}"
        ).stdout
        return sorted({line.strip() for line in out.splitlines() if line.strip()})

    def tags(self) -> list[str]:
        out = self.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        return [line for line in out.splitlines() if self.token in line]

    def up(self) -> subprocess.CompletedProcess[str]:
        return cli(
            "local",
            "up",
            "-c",
            str(self.config),
            "--name",
            self.name,
            "--time-scale",
            SCALE,
            "--runtime",
            "container",
            check=False,
            timeout=600,
        )

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            cli("local", "status", "--name", self.name, "--json", timeout=60).stdout
        )
        return data

    def page(self) -> str:
        """What the load balancer answers on `/`, asked from the twin's internet host."""
        address = self.status()["load_balancer"]["public_ips"][0]
        got = in_netns(
            f"{self.prefix}inet", "curl", "-s", "--noproxy", "*", "-m", "3", f"http://{address}/"
        )
        return got.stdout.strip()


@pytest.fixture
def built(tmp_path: Path) -> Iterator[BuiltTwin]:
    prefix = registered_prefix()
    token = secrets.token_hex(3)
    context = tmp_path / "app"
    context.mkdir()
    config = tmp_path / "fargate-api.toml"
    config.write_text(
        f'name = "fa13-test-{token}"\n'
        "[service]\n"
        'name = "api"\n'
        f"build = {json.dumps(str(context))}\n"
        f"port = {PORT}\n"
        "desired_count = 1\n"
        "health_check_interval = 5\n"
        "health_check_timeout = 2\n"
    )
    twin = BuiltTwin(
        name=prefix.removeprefix("fa-").rstrip("-"),
        prefix=prefix,
        token=token,
        context=context,
        config=config,
        conf=write_containers_conf(tmp_path / "podman" / "containers.conf"),
    )
    try:
        yield twin
    finally:
        cli("local", "down", "--name", twin.name, timeout=180, check=False)
        left = cleanup(prefix)
        images = twin.images()
        if images:
            twin.podman("rmi", "--force", *images)
        assert not left, f"local down left: {left}"
        assert twin.images() == [], "the test's images could not be removed"


def _served_image(twin: BuiltTwin) -> str:
    (task,) = twin.status()["tasks_detail"]
    (container,) = task["containers"]
    image: str = container["image"]
    return image


def test_up_builds_and_serves_the_image_and_deploy_rolls_to_a_rebuilt_one(
    built: BuiltTwin,
) -> None:
    built.write_app(f"first-{built.token}")
    up = built.up()
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"building {built.context}" in up.stderr, up.stderr
    assert "STEP 3/4: COPY www /www" in up.stderr  # the builder's steps, as they go
    assert built.page() == f"first-{built.token}"

    first = _served_image(built)
    repository, _, digest = first.partition("@")
    assert repository == built.repository and digest.startswith("sha256:"), first
    assert built.podman("image", "exists", first).returncode == 0
    # One name per build, the repository's: the builder's own local name is gone.
    (tag,) = built.tags()
    assert tag.startswith(f"{built.repository}:build-"), tag
    notices = {n["type"]: n["reason"] for n in built.status()["notices"]}
    assert notices["AWS::ECR::Repository"] == (
        "images are built into the local store; nothing is pushed"
    )

    # The same source again: podman's cache gives the same image, hence no new revision.
    again = cli("local", "deploy", "-c", str(built.config), "--name", built.name, timeout=600)
    assert "no task definition changed" in again.stderr, again.stderr

    built.write_app(f"second-{built.token}")
    deploy = cli("local", "deploy", "-c", str(built.config), "--name", built.name, timeout=600)
    assert "deploying revision 2" in deploy.stderr, deploy.stderr
    assert "deployment completed" in deploy.stderr, deploy.stderr
    wait_for("the new page", lambda: built.page() == f"second-{built.token}", 30)
    second = _served_image(built)
    assert second != first and second.startswith(f"{built.repository}@sha256:"), second
    assert {t["revision"] for t in built.status()["tasks"]} == {2}


def _assert_nothing_left(built: BuiltTwin) -> None:
    assert leftovers(built.prefix) == []
    assert not (STATE_ROOT / f"{built.prefix}twin").exists()
    assert built.tags() == []  # no image under the repository or the builder's name
    # No build container left behind (podman build removes them, also on failure).
    external = built.podman("ps", "--all", "--external", "--format", "{{.ImageID}}").stdout
    layers = {image[:12] for image in built.images()}
    assert not [line for line in external.splitlines() if line.strip()[:12] in layers]


def test_a_failing_build_step_exits_1_naming_the_step_and_leaves_nothing(
    built: BuiltTwin,
) -> None:
    built.write_app(
        "never served",
        f"FROM {BUSYBOX}\n"
        f"LABEL fa13-test={built.token}\n"
        "COPY www /www\n"
        "RUN echo fa13-step-output && exit 3\n",
    )
    up = built.up()
    message = " ".join(up.stderr.split())
    assert up.returncode == 1, up.stdout + up.stderr
    assert "podman build failed at STEP 4/4: RUN echo fa13-step-output && exit 3" in message
    assert "| fa13-step-output" in up.stderr, up.stderr
    _assert_nothing_left(built)


def test_a_missing_dockerfile_exits_2_and_leaves_nothing(built: BuiltTwin) -> None:
    built.write_app("never served")
    (built.context / "Dockerfile").unlink()
    up = built.up()
    assert up.returncode == 2, up.stdout + up.stderr
    assert "no Dockerfile found" in up.stderr, up.stderr
    assert str(built.context / "Dockerfile") in " ".join(up.stderr.split())
    _assert_nothing_left(built)
