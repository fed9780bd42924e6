"""The issue's "done when": `fargate-api deploy -c examples/api/fargate-api.toml` on a
fresh clone builds examples/api from its Dockerfile, pushes it and deploys it by digest;
a second run says "no changes". moto stands in for the AWS APIs, Debian's
docker-registry (with moto's ECR token as its password) for ECR's registry.

The Dockerfile's base, public.ecr.aws/docker/library/python:3.12-slim-bookworm, is not
reachable from CI: `make test-images` puts a Debian-built python image into podman's
store under that name (tests/images/build_test_images.py), and podman uses it as it is.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from functional.aws.cli import run_cli
from functional.support import REPO
from support.commands import require_commands
from support.registry import LoopbackRegistry, skopeo_inspect, start_registry

CONFIG = "examples/api/fargate-api.toml"
BASE = "public.ecr.aws/docker/library/python:3.12-slim-bookworm"
REPOSITORY = "fargate-example-api-api"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    require_commands("podman", "skopeo", "docker-registry")
    if subprocess.run(["podman", "image", "exists", BASE], check=False).returncode != 0:
        pytest.fail(f"{BASE} is not in podman's store: run `make test-images`", pytrace=False)
    with start_registry(tmp_path / "ecr", username="AWS", password="123456789012-auth-token") as r:
        yield r


def test_the_example_api_deploys_from_its_dockerfile_by_digest(
    registry: LoopbackRegistry, moto_url: str
) -> None:
    args = ("deploy", "-c", CONFIG, "--registry-url", registry.url, "--yes")
    first = run_cli(REPO, *args, "--json", endpoint=moto_url)
    tags = [i["tag"] for i in first.json()["images"]] if first.code == 0 else []
    try:
        assert first.code == 0, first.explain()
        [image] = first.json()["images"]
        assert image["pushed"] is True
        assert image["image"].endswith(f"/{REPOSITORY}@{image['digest']}")
        inspected = skopeo_inspect(registry, f"{REPOSITORY}@{image['digest']}")
        assert inspected["Digest"] == image["digest"]

        second = run_cli(REPO, *args, endpoint=moto_url)
        assert second.code == 0, second.explain()
        assert "no changes: every stack is up to date" in second.stderr
        assert f"image: {image['image']}" in second.stdout
    finally:  # the local tag deploy made; the image's layers stay in podman's cache
        for tag in tags:
            local = f"localhost/fargate-example-api-taskdefinition:{tag}"
            subprocess.run(["podman", "rmi", "--ignore", local], check=False, timeout=120)
