"""ContainerCli and find_builder, without podman or docker: pure command lines, output
parsing, the credential file, and the whole build/push flow against fake_cli.py."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fargate_api.errors import OperationError, UserError
from fargate_api.images import (
    BuildFailedError,
    BuildRequest,
    BuiltImage,
    ContainerCli,
    RegistryAuth,
    SourceTag,
    find_builder,
)
from fargate_api.images.argv import (
    build_argv,
    docker_push_argv,
    inspect_argv,
    podman_push_argv,
    remove_argv,
)
from fargate_api.images.cli_output import (
    docker_pushed_digest,
    is_missing_image,
    parse_image_inspect,
)
from fargate_api.images.platforms import host_architecture
from fargate_api.images.registry_auth import auth_document, private_auth_file, registry_host

FAKE_CLI = Path(__file__).with_name("fake_cli.py")
RECORDED = Path(__file__).with_name("recorded")
IMAGE_ID = "sha256:" + "c205ad96a6bd" + "a" * 52
LOCAL_DIGEST = "sha256:" + "4" * 64
PUSHED = "sha256:" + "2" * 64
SECRET = "p4ssw0rd-never-in-argv"


def request(tmp_path: Path, **changes: Any) -> BuildRequest:
    context = tmp_path / "ctx"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text("FROM scratch AS base\nFROM base AS runtime\n")
    fields: dict[str, Any] = {
        "context": context,
        "dockerfile": context / "Dockerfile",
        "repository": "localhost/fa13-test-unit",
        "platform": f"linux/{host_architecture()}",
    }
    fields.update(changes)
    return BuildRequest.model_validate(fields)


# ---- models ---------------------------------------------------------------------------


def test_build_request_needs_absolute_paths_and_a_repository_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="absolute"):
        request(tmp_path, context=Path("relative"))
    with pytest.raises(ValidationError, match="not a repository name"):
        request(tmp_path, repository="Has-Upper/Case")
    with pytest.raises(ValidationError):
        request(tmp_path, platform="linux/s390x")
    for name in (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api",
        "127.0.0.1:5000/team/my-api",
        "localhost/fa13-test-x",
        "my-api",
    ):
        assert request(tmp_path, repository=name).repository == name
    assert request(tmp_path, platform="linux/arm64").architecture == "arm64"


def test_built_image_id_shape() -> None:
    with pytest.raises(ValidationError):
        BuiltImage(
            reference="r:t",
            repository="r",
            tag="t",
            image_id="c205ad96a6bd",
            architecture="amd64",
            os="linux",
            builder="podman",
            local_digest=None,
            source=SourceTag(),
        )


# ---- command lines --------------------------------------------------------------------


def test_podman_build_argv(tmp_path: Path) -> None:
    req = request(tmp_path, target="runtime", build_args={"A": "1", "B": "x y"})
    argv = build_argv("podman", "/usr/bin/podman", req, "localhost/fa13-test-unit:tmp-1")
    assert argv == [
        "/usr/bin/podman",
        "build",
        "--network",
        "host",
        "--platform",
        req.platform,
        "-f",
        str(req.dockerfile),
        "--target",
        "runtime",
        "--build-arg",
        "A=1",
        "--build-arg",
        "B=x y",
        "-t",
        "localhost/fa13-test-unit:tmp-1",
        str(req.context),
    ]


def test_docker_build_argv_has_plain_progress(tmp_path: Path) -> None:
    req = request(tmp_path, platform="linux/arm64")
    argv = build_argv("docker", "docker", req, "r:tmp")
    assert argv[:4] == ["docker", "build", "--progress", "plain"]
    assert argv[argv.index("--platform") + 1] == "linux/arm64"
    assert argv[argv.index("--network") + 1] == "host"
    assert "--target" not in argv
    assert argv[-3:] == ["-t", "r:tmp", str(req.context)]


def test_push_argv() -> None:
    podman = podman_push_argv(
        "podman",
        "localhost/x:1",
        "127.0.0.1:5000/x:1",
        digest_file=Path("/t/d"),
        auth_file=Path("/t/a.json"),
        tls_verify=False,
    )
    assert podman == [
        "podman",
        "push",
        "--digestfile",
        "/t/d",
        "--tls-verify=false",
        "--authfile",
        "/t/a.json",
        "localhost/x:1",
        "docker://127.0.0.1:5000/x:1",
    ]
    secure = podman_push_argv(
        "podman", "s", "d", digest_file=Path("/t/d"), auth_file=None, tls_verify=True
    )
    assert "--tls-verify=false" not in secure
    assert "--authfile" not in secure
    assert docker_push_argv("docker", "h/x:1", config_dir=Path("/t")) == [
        "docker",
        "--config",
        "/t",
        "push",
        "h/x:1",
    ]
    assert docker_push_argv("docker", "h/x:1", config_dir=None) == ["docker", "push", "h/x:1"]


def test_inspect_and_remove_argv() -> None:
    assert inspect_argv("podman", "r:t") == ["podman", "image", "inspect", "r:t"]
    assert remove_argv("podman", "podman", "r:t") == ["podman", "rmi", "--ignore", "r:t"]
    assert remove_argv("docker", "docker", "r:t") == ["docker", "rmi", "r:t"]


# ---- reading output -------------------------------------------------------------------


def test_parse_podman_inspect() -> None:
    text = json.dumps(
        [
            {
                "Id": IMAGE_ID.removeprefix("sha256:"),
                "Digest": LOCAL_DIGEST,
                "Architecture": "arm64",
                "Os": "linux",
            }
        ]
    )
    image = parse_image_inspect(text)
    assert (image.image_id, image.architecture, image.os, image.digest) == (
        IMAGE_ID,
        "arm64",
        "linux",
        LOCAL_DIGEST,
    )


def test_parse_docker_inspect() -> None:
    image = parse_image_inspect(json.dumps([{"Id": IMAGE_ID, "Architecture": "amd64"}]))
    assert image.image_id == IMAGE_ID
    assert image.digest is None


@pytest.mark.parametrize("text", ["", "[]", "not json", '[{"Id": "xyz"}]'])
def test_parse_inspect_junk(text: str) -> None:
    with pytest.raises(ValueError):
        parse_image_inspect(text)


def test_docker_pushed_digest() -> None:
    lines = [
        "The push refers to repository [127.0.0.1:5000/my-api]",
        "5f70bf18a086: Pushed",
        f"0123456789ab: digest: {PUSHED} size: 528",
    ]
    assert docker_pushed_digest(lines) == PUSHED
    assert docker_pushed_digest(lines[:2]) is None


def test_missing_image_spellings() -> None:
    assert is_missing_image("Error: inspecting object: r:t: image not known")
    assert is_missing_image("Error response from daemon: No such image: r:t")
    assert is_missing_image("Error: No such object: r:t")
    assert not is_missing_image(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
    )


# ---- credentials ----------------------------------------------------------------------


def test_registry_host() -> None:
    assert registry_host("https://123456789012.dkr.ecr.us-east-1.amazonaws.com") == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    )
    assert registry_host("127.0.0.1:5000/team/x:1") == "127.0.0.1:5000"
    assert registry_host("localhost/x") == "localhost"
    assert registry_host("library/nginx:1") == "docker.io"
    assert registry_host("registry.example.com") == "registry.example.com"


def test_auth_file_is_private_and_gone_afterwards() -> None:
    auth = RegistryAuth("AWS", SECRET, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert SECRET not in repr(auth)
    with private_auth_file(auth, ["127.0.0.1:5000"]) as path:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        auths = json.loads(path.read_text())["auths"]
    assert not path.exists()
    assert not path.parent.exists()
    assert set(auths) == {"127.0.0.1:5000", "123456789012.dkr.ecr.us-east-1.amazonaws.com"}
    for entry in auths.values():
        assert base64.b64decode(entry["auth"]).decode() == f"AWS:{SECRET}"
    assert json.loads(auth_document(auth, []))["auths"].keys() == {
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    }


# ---- find_builder ---------------------------------------------------------------------


def fake_which(present: dict[str, str]) -> Any:
    seen: list[str | None] = []

    def which(cmd: str, mode: int = 0, path: str | None = None) -> str | None:
        seen.append(path)
        return present.get(cmd)

    which.seen = seen  # type: ignore[attr-defined]
    return which


def test_podman_first() -> None:
    which = fake_which({"podman": "/usr/bin/podman", "docker": "/usr/bin/docker"})
    builder = find_builder({"PATH": "/opt/bin"}, which)
    assert (builder.name, builder.executable) == ("podman", "/usr/bin/podman")
    assert which.seen == ["/opt/bin"]
    assert builder.environ == {"PATH": "/opt/bin"}


def test_docker_when_podman_is_absent() -> None:
    builder = find_builder({"PATH": "/x"}, fake_which({"docker": "/usr/local/bin/docker"}))
    assert (builder.name, builder.executable) == ("docker", "/usr/local/bin/docker")


def test_no_builder_at_all() -> None:
    with pytest.raises(UserError) as caught:
        find_builder({"PATH": "/nothing"}, fake_which({}))
    assert caught.value.exit_code == 2
    assert "no container builder" in caught.value.what
    assert caught.value.fix is not None
    assert "apt-get install podman" in caught.value.fix


def test_real_which_with_an_empty_path(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        find_builder({"PATH": str(tmp_path)})


# ---- the flow, against fake_cli.py ----------------------------------------------------


class Fake:
    """A fake podman/docker executable in tmp_path and the state it keeps."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.dir = tmp_path / f"fake-{name}"
        self.dir.mkdir()
        self.executable = self.dir / name
        self.executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" {name} "$@"\n')
        self.executable.chmod(0o755)
        self.scenario(image_id=IMAGE_ID, local_digest=LOCAL_DIGEST, pushed_digest=PUSHED)
        environ = {"PATH": "/usr/bin:/bin", "FAKE_CLI_DIR": str(self.dir)}
        self.cli = ContainerCli(name, str(self.executable), environ=environ)  # type: ignore[arg-type]

    def scenario(self, **values: Any) -> None:
        path = self.dir / "scenario.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**current, **values}))

    def calls(self) -> list[dict[str, Any]]:
        path = self.dir / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def images(self) -> dict[str, Any]:
        path = self.dir / "images.json"
        return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("name", ["podman", "docker"])
def test_build_tags_from_the_source_and_drops_the_temporary_tag(tmp_path: Path, name: str) -> None:
    fake = Fake(tmp_path, name)
    fake.scenario(build_output=["STEP 1/1: FROM scratch", "done"])
    lines: list[str] = []
    built = fake.cli.build(request(tmp_path, target="runtime"), lines.append)
    assert lines == ["STEP 1/1: FROM scratch", "done"]
    assert built.tag == "build-c205ad96a6bd"  # tmp_path is not in a git repository
    assert built.reference == "localhost/fa13-test-unit:build-c205ad96a6bd"
    assert built.image_id == IMAGE_ID
    assert built.builder == name
    assert built.local_digest == (LOCAL_DIGEST if name == "podman" else None)
    assert list(fake.images()) == [built.reference]
    commands = [call["argv"][1] for call in fake.calls()]
    assert commands == ["build", "image", "tag", "rmi"]
    temporary = fake.calls()[0]["argv"][fake.calls()[0]["argv"].index("-t") + 1]
    assert temporary.startswith("localhost/fa13-test-unit:tmp-")
    assert fake.calls()[-1]["argv"][-1] == temporary


def test_failed_build_names_the_step_and_cleans_up(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "podman")
    output = (RECORDED / "podman-run-fails.txt").read_text().splitlines()
    fake.scenario(build_output=output, build_rc=3)
    req = request(tmp_path)
    with pytest.raises(BuildFailedError) as caught:
        fake.cli.build(req, lambda line: None)
    assert caught.value.step is not None
    assert caught.value.step.startswith("STEP 3/4: RUN")
    assert caught.value.where == str(req.dockerfile)
    assert [call["argv"][1] for call in fake.calls()] == ["build", "rmi"]


def test_bad_inputs_fail_before_the_builder_runs(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "podman")
    with pytest.raises(UserError, match="not a stage"):
        fake.cli.build(request(tmp_path, target="nope"), lambda line: None)
    assert fake.calls() == []


def test_podman_push_returns_the_registry_digest_and_hides_the_password(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "podman")
    (fake.dir / "images.json").write_text(json.dumps({"localhost/x:1": {"Id": IMAGE_ID}}))
    fake.scenario(push_output=["Copying blob sha256:abc", "Writing manifest to image destination"])
    auth = RegistryAuth("AWS", SECRET, "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    lines: list[str] = []
    digest = fake.cli.push(
        "localhost/x:1",
        "127.0.0.1:5000/my-api:1",
        auth=auth,
        tls_verify=False,
        on_line=lines.append,
    )
    assert digest == PUSHED
    assert lines[-1] == "Writing manifest to image destination"
    (call,) = fake.calls()
    assert SECRET not in " ".join(call["argv"])
    assert "--tls-verify=false" in call["argv"]
    assert call["argv"][-1] == "docker://127.0.0.1:5000/my-api:1"
    assert call["auth_mode"] == 0o600
    assert "127.0.0.1:5000" in call["auth_content"]["auths"]
    auth_file = Path(call["argv"][call["argv"].index("--authfile") + 1])
    assert not auth_file.exists()
    assert not auth_file.parent.exists()


def test_podman_push_of_a_built_image_without_auth(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "podman")
    fake.scenario(build_output=[])
    built = fake.cli.build(request(tmp_path), lambda line: None)
    digest = fake.cli.push(built, "r.example/x:1", auth=None, tls_verify=True, on_line=print)
    assert digest == PUSHED
    push = fake.calls()[-1]["argv"]
    assert push[-2:] == [built.reference, "docker://r.example/x:1"]
    assert "--authfile" not in push
    assert "--tls-verify=false" not in push


def test_failed_push_is_translated(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "podman")
    output = (RECORDED / "podman-push-unauthorized.txt").read_text().splitlines()
    fake.scenario(push_output=output, push_rc=125)
    auth = RegistryAuth("AWS", SECRET, "127.0.0.1:5000")
    with pytest.raises(OperationError) as caught:
        fake.cli.push("s:1", "127.0.0.1:5000/x:1", auth=auth, tls_verify=False, on_line=print)
    assert "refused the credentials" in caught.value.what
    assert caught.value.where == "127.0.0.1:5000/x:1"
    assert SECRET not in caught.value.render()


def test_push_that_reports_no_digest(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "podman")
    fake.scenario(pushed_digest="garbage")
    with pytest.raises(OperationError, match="no digest"):
        fake.cli.push("s:1", "h.example/x:1", auth=None, tls_verify=True, on_line=print)


def test_docker_push_tags_pushes_with_a_private_config_and_untags(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "docker")
    (fake.dir / "images.json").write_text(json.dumps({"localhost/x:1": {"Id": IMAGE_ID}}))
    auth = RegistryAuth("AWS", SECRET, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
    destination = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1"
    digest = fake.cli.push("localhost/x:1", destination, auth=auth, tls_verify=True, on_line=print)
    assert digest == PUSHED
    commands = [call["argv"] for call in fake.calls()]
    assert [c[1] for c in commands] == ["image", "tag", "--config", "rmi"]
    push = fake.calls()[2]
    assert push["argv"][3:] == ["push", destination]
    assert push["auth_mode"] == 0o600
    assert push["dir_mode"] == 0o700
    assert SECRET not in " ".join(push["argv"])
    (host,) = push["auth_content"]["auths"]
    assert host == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert list(fake.images()) == ["localhost/x:1"]  # the push tag is gone again


def test_docker_push_keeps_a_tag_that_existed_before(tmp_path: Path) -> None:
    fake = Fake(tmp_path, "docker")
    store = {"localhost/x:1": {"Id": IMAGE_ID}, "h.example/x:1": {"Id": IMAGE_ID}}
    (fake.dir / "images.json").write_text(json.dumps(store))
    fake.cli.push("localhost/x:1", "h.example/x:1", auth=None, tls_verify=True, on_line=print)
    assert set(fake.images()) == set(store)
    push = fake.calls()[-1]["argv"]
    assert push == ["docker", "push", "h.example/x:1"]  # no auth: no --config


def test_architecture_and_remove(tmp_path: Path) -> None:
    for name in ("podman", "docker"):
        fake = Fake(tmp_path, name)
        store = {"r:1": {"Id": IMAGE_ID, "Architecture": "arm64"}}
        (fake.dir / "images.json").write_text(json.dumps(store))
        assert fake.cli.architecture("r:1") == "arm64"
        assert fake.cli.architecture("r:2") is None
        fake.cli.remove("r:1")
        fake.cli.remove("r:1")  # already gone: fine
        assert fake.images() == {}


def test_a_builder_that_cannot_run(tmp_path: Path) -> None:
    cli = ContainerCli("podman", str(tmp_path / "missing-podman"), environ={})
    with pytest.raises(OperationError, match="missing-podman"):
        cli.architecture("r:1")
