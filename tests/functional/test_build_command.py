"""`fargate-api build`: the image the templates describe, built with podman into the
local store, tagged with the commit; its failures are one message with an exit code."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from functional.support import run_cli
from support.base_images import ImageRun, busybox_base, image_run
from support.commands import require_commands
from support.git_repo import committed_repo, git

__all__ = ["busybox_base", "image_run"]


@pytest.fixture
def project(tmp_path: Path, image_run: ImageRun, busybox_base: str) -> Path:
    require_commands("git")
    folder = tmp_path / "project"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "Dockerfile").write_text(
        f"FROM {busybox_base} AS base\nFROM base AS runtime\nRUN echo built > /built\n"
    )
    name = f"{image_run.prefix}{secrets.token_hex(3)}"
    (folder / "fargate-api.toml").write_text(f'name = "{name}"\n[service]\nbuild = "app"\n')
    return committed_repo(folder)


def test_build_tags_with_the_commit_and_says_which_builder_ran(project: Path) -> None:
    done = run_cli("build", "-c", "fargate-api.toml", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [image] = report["images"]
    commit = git(project, "rev-parse", "HEAD")[:12]
    assert report["builder"] == image["builder"] == "podman"
    assert image["tag"] == commit and image["dirty"] is False
    assert image["reference"].endswith(f":{commit}")
    assert "builder: podman" in done.stderr
    assert "STEP" in done.stderr, "the build's steps are shown as it goes"
    listed = subprocess.run(
        ["podman", "image", "exists", image["reference"]], check=False, timeout=30
    )
    assert listed.returncode == 0


def test_a_dirty_context_gets_a_dirty_tag_of_its_own(project: Path) -> None:
    (project / "app" / "extra.txt").write_text("not committed")
    done = run_cli("build", "-c", "fargate-api.toml", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    [image] = json.loads(done.stdout)["images"]
    assert image["dirty"] is True
    assert image["tag"].startswith(image["commit"] + "-dirty-")
    assert image["tag"].endswith(image["image_id"].removeprefix("sha256:")[:12])


def test_a_failing_step_is_exit_1_naming_the_step_with_its_output(project: Path) -> None:
    dockerfile = project / "app" / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("RUN echo built > /built", "RUN echo about-to-fail && false")
    )
    done = run_cli("build", "-c", "fargate-api.toml", cwd=project)
    assert done.returncode == 1, done.stderr
    assert "RUN echo about-to-fail && false" in done.stderr
    assert "about-to-fail" in done.stderr.split("RUN echo about-to-fail", 1)[1]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ('[service]\nbuild = "nowhere"\n', "the build context does not exist"),
        ('[service.build]\ncontext = "app"\ndockerfile = "Nope"\n', "no Dockerfile found"),
        ('[service.build]\ncontext = "app"\ntarget = "prod"\n', "its stages are: base, runtime"),
        ('[service]\nimage = "nginx:1"\n', "nothing to build"),
        ('[service]\nbuild = "app"\nimage = "nginx:1"\n', "image and build are both set"),
    ],
)
def test_bad_build_input_is_exit_2_with_the_fix(project: Path, config: str, says: str) -> None:
    (project / "fargate-api.toml").write_text(config)
    done = run_cli("build", "-c", "fargate-api.toml", cwd=project)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "fix:" in done.stderr and "Traceback" not in done.stderr


def test_build_reads_a_template_folder_written_by_synth(project: Path) -> None:
    out = project / "out"
    assert run_cli("synth", "-c", "fargate-api.toml", "-o", str(out), cwd=project).returncode == 0
    done = run_cli("build", "--templates", str(out), "--json", cwd=project / "app")
    assert done.returncode == 0, done.stderr
    [image] = json.loads(done.stdout)["images"]
    assert Path(image["context"]) == (project / "app").resolve()
