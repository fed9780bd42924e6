"""The command lines builders.py runs, as pure functions: what podman and docker are asked
to do can be read and tested without either installed.

Both CLIs take nearly the same flags; the differences are spelled out here. Nothing in a
command line is secret: credentials travel in files (registry_auth.py).
"""

from __future__ import annotations

from pathlib import Path

from fargate_api.images.build_request import BuilderName, BuildRequest


def build_argv(builder: BuilderName, executable: str, request: BuildRequest, tag: str) -> list[str]:
    """`build`: RUN steps on the host network, so they reach package registries without
    a bridge network (which would leave a cni-podman0/docker0 bridge and iptables rules
    behind); docker's BuildKit prints one plain line per event for build_failure.py."""
    argv = [executable, "build"]
    if builder == "docker":
        argv += ["--progress", "plain"]
    argv += ["--network", "host", "--platform", request.platform, "-f", str(request.dockerfile)]
    if request.target is not None:
        argv += ["--target", request.target]
    for key, value in request.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    argv += ["-t", tag, str(request.context)]
    return argv


def inspect_argv(executable: str, reference: str) -> list[str]:
    """`image inspect` prints a JSON array by default in both CLIs."""
    return [executable, "image", "inspect", reference]


def tag_argv(executable: str, source: str, target: str) -> list[str]:
    return [executable, "tag", source, target]


def remove_argv(builder: BuilderName, executable: str, reference: str) -> list[str]:
    """`rmi` of a tag: only the tag goes while the image has another one. podman's
    --ignore makes a missing image a success; docker's "No such image" is read instead."""
    if builder == "podman":
        return [executable, "rmi", "--ignore", reference]
    return [executable, "rmi", reference]


def podman_push_argv(
    executable: str,
    source: str,
    destination: str,
    *,
    digest_file: Path,
    auth_file: Path | None,
    tls_verify: bool,
) -> list[str]:
    """podman pushes any local image straight to `docker://DEST` and writes the manifest
    digest the registry stored (after recompression: not the local one) to digest_file."""
    argv = [executable, "push", "--digestfile", str(digest_file)]
    if not tls_verify:
        argv.append("--tls-verify=false")
    if auth_file is not None:
        argv += ["--authfile", str(auth_file)]
    return [*argv, source, f"docker://{destination}"]


def docker_push_argv(executable: str, destination: str, *, config_dir: Path | None) -> list[str]:
    """docker pushes a tag (so DEST must be tagged first) and reads credentials from
    `--config DIR`/config.json; plain-HTTP registries are the engine's setting
    (`insecure-registries`, 127.0.0.0/8 included by default), not a flag."""
    argv = [executable]
    if config_dir is not None:
        argv += ["--config", str(config_dir)]
    return [*argv, "push", destination]
