"""`deploy --service` with [[services]] where one service builds its image: the built
service's deploy includes its repository stack and the push; the other's builds nothing.

moto on loopback for the AWS APIs, Debian's docker-registry on loopback for ECR's
registry (with moto's token as its password), podman for the build, as in
test_deploy_built_image.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from functional.aws.cli import Run, deploy_with_registry, run_cli
from support.base_images import ImageRun, busybox_base, image_run
from support.commands import require_commands
from support.git_repo import committed_repo
from support.registry import LoopbackRegistry

__all__ = ["busybox_base", "image_run"]

DOCKERFILE = """\
FROM {base}
RUN mkdir -p /www && echo hello > /www/index.html
USER 10001:10001
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""
CONFIG = """\
name = "{name}"

[[services]]
name = "api"
build = "app"
port = 8080
user = "10001:10001"
paths = ["/api/*"]

[[services]]
name = "web"
paths = ["/*"]
desired_count = {web}
"""


@pytest.fixture
def project(tmp_path: Path, image_run: ImageRun, busybox_base: str) -> Path:
    require_commands("git", "skopeo")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "app").mkdir()
    (folder / "app" / "Dockerfile").write_text(DOCKERFILE.format(base=busybox_base))
    name = f"{image_run.prefix}m{secrets.token_hex(3)}"
    (folder / "fargate-api.toml").write_text(CONFIG.format(name=name, web=2))
    return committed_repo(folder)


def _deploy(project: Path, moto_url: str, registry: LoopbackRegistry, *extra: str) -> Run:
    run = deploy_with_registry(project, moto_url, registry, "--json", *extra)
    assert run.code == 0, run.explain()
    return run


def test_deploy_service_builds_and_pushes_only_for_the_service_that_builds(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    first = _deploy(project, moto_url, ecr_registry).json()
    roles = [s["role"] for s in first["stacks"]]
    assert roles[0] == "repository"
    assert set(roles) == {
        "repository",
        "vpc",
        "cluster",
        "load-balancer",
        "service-api",
        "service-web",
    }
    [image] = first["images"]
    assert image["pushed"] is True

    # web does not build: its deploy builds nothing, and leaves the repository alone.
    # (The config lies outside the build context: editing it keeps api's image tag.)
    config = project / "fargate-api.toml"
    name = config.read_text().split('"', 2)[1]
    config.write_text(CONFIG.format(name=name, web=3))
    web = _deploy(project, moto_url, ecr_registry, "--service", "web")
    assert [(s["role"], s["result"]) for s in web.json()["stacks"]] == [("service-web", "updated")]
    assert web.json()["images"] == []
    assert "building " not in web.stderr and "pushing " not in web.stderr

    # api builds: the repository stack comes with it, and the image (already there) is
    # found in the registry and deployed by the same digest: nothing changes.
    api = _deploy(project, moto_url, ecr_registry, "--service", "api")
    assert [(s["role"], s["result"]) for s in api.json()["stacks"]] == [
        ("repository", "no changes"),
        ("service-api", "no changes"),
    ]
    [again] = api.json()["images"]
    assert again["digest"] == image["digest"] and again["pushed"] is False
    assert "building " in api.stderr and "is already in the registry" in api.stderr

    gone = run_cli(project, "destroy", "-c", "fargate-api.toml", "--yes", endpoint=moto_url)
    assert gone.code == 0, gone.explain()
