"""The one module of this package that runs podman or docker.

Podman first: it needs no daemon and is what this project's CI and twin use. docker is
the fallback where podman is absent; its paths (BuildKit output, `--config` auth, tag
then push) are covered by unit tests of the pure pieces only, because no docker engine
runs in CI. Failures come back as this project's errors: BuildFailedError naming the
failing step (build_failure.py), the translated registry refusal for a push
(push_errors.py), OperationError quoting the command for anything else. Nothing here
uses a shell; credentials only ever sit in a private 0600 file (registry_auth.py).

A build is first tagged `REPO:tmp-<random>`, because its real tag is derived from the
image id (source_tag.py), which exists only once the build has finished.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from fargate_api.errors import OperationError, UserError
from fargate_api.images.argv import (
    build_argv,
    docker_push_argv,
    inspect_argv,
    podman_push_argv,
    remove_argv,
    tag_argv,
)
from fargate_api.images.build_failure import BuildTranscript
from fargate_api.images.build_request import BuilderName, BuildRequest, BuiltImage
from fargate_api.images.cli_output import (
    DIGEST,
    LocalImage,
    docker_pushed_digest,
    is_missing_image,
    parse_image_inspect,
)
from fargate_api.images.dockerfile import check_inputs
from fargate_api.images.push_errors import translate_push_failure
from fargate_api.images.registry_auth import (
    DOCKER_CONFIG_FILE,
    RegistryAuth,
    private_auth_file,
    registry_host,
)
from fargate_api.images.source_tag import image_tag, read_source
from fargate_api.process_stream import stream_process

BUILD_TIMEOUT = 3600.0
PUSH_TIMEOUT = 1800.0
COMMAND_TIMEOUT = 120.0
TAIL_LINES = 40
BUILDERS: tuple[BuilderName, ...] = ("podman", "docker")

LineSink = Callable[[str], None]


class Which(Protocol):
    """shutil.which's shape, so tests can hand find_builder a fake."""

    def __call__(self, cmd: str, mode: int = ..., path: str | None = ...) -> str | None: ...


class ContainerCli:
    """podman or docker, found on the PATH by find_builder()."""

    def __init__(
        self,
        name: BuilderName,
        executable: str,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.name: BuilderName = name
        self.executable = executable
        self.environ = dict(os.environ if environ is None else environ)

    def __repr__(self) -> str:
        return f"ContainerCli({self.name!r}, {self.executable!r})"

    # ---- plumbing ---------------------------------------------------------------------

    def _failed(self, argv: Sequence[str], returncode: int, output: str) -> OperationError:
        text = output.strip() or "(no output)"
        return OperationError(
            f"`{' '.join(argv)}` failed (exit {returncode}): {text}",
            fix=f"run the command above by hand to see what {self.name} needs",
        )

    def _run(
        self, argv: Sequence[str], *, check: bool = True, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
                env=self.environ,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise self._failed(argv, 124, f"timed out after {timeout:.0f} s") from None
        except OSError as exc:
            raise self._failed(argv, 127, str(exc)) from None
        if check and proc.returncode != 0:
            raise self._failed(argv, proc.returncode, proc.stderr or proc.stdout)
        return proc

    def _stream(
        self, argv: Sequence[str], on_line: LineSink, *, timeout: float
    ) -> tuple[int, list[str]]:
        """Runs argv, handing each output line (stdout and stderr, in order) to on_line
        as it arrives; returns the exit code and the last lines. A timeout kills the
        process and adds a line saying so."""
        try:
            done = stream_process(argv, on_line, timeout=timeout, env=self.environ, keep=TAIL_LINES)
        except OSError as exc:
            raise self._failed(argv, 127, str(exc)) from None
        tail = done.tail
        if done.timed_out:
            line = f"{self.name} was stopped: timed out after {timeout:.0f} s"
            tail.append(line)
            on_line(line)
        return done.returncode, tail

    # ---- building ---------------------------------------------------------------------

    def build(self, request: BuildRequest, on_line: LineSink) -> BuiltImage:
        """Builds the request and tags the image `REPOSITORY:<source tag>`; raises
        UserError for bad inputs (before building) and BuildFailedError for a failed
        step."""
        check_inputs(request)
        temporary = f"{request.repository}:tmp-{secrets.token_hex(6)}"
        transcript = BuildTranscript(self.name)

        def take(line: str) -> None:
            transcript.add(line)
            on_line(line)

        argv = build_argv(self.name, self.executable, request, temporary)
        returncode, _ = self._stream(argv, take, timeout=BUILD_TIMEOUT)
        try:
            if returncode != 0:
                raise transcript.failure(request.dockerfile)
            local = self._inspect(temporary)
            if local is None:
                raise OperationError(
                    f"{self.name} reported a successful build, but {temporary} is not in "
                    "its image store",
                    where=str(request.dockerfile),
                    fix=f"run the build again; if it persists, check `{self.name} images`",
                )
            source = read_source(request.context)
            tag = image_tag(source, local.image_id)
            reference = f"{request.repository}:{tag}"
            self._run(tag_argv(self.executable, temporary, reference))
        finally:
            # A leftover temporary tag is clutter, not a failure worth masking the result.
            with contextlib.suppress(OperationError):
                self.remove(temporary)
        return BuiltImage(
            reference=reference,
            repository=request.repository,
            tag=tag,
            image_id=local.image_id,
            architecture=local.architecture,
            os=local.os,
            builder=self.name,
            local_digest=local.digest if self.name == "podman" else None,
            source=source,
        )

    def _inspect(self, reference: str) -> LocalImage | None:
        argv = inspect_argv(self.executable, reference)
        proc = self._run(argv, check=False)
        if proc.returncode != 0:
            if is_missing_image(proc.stderr + proc.stdout):
                return None
            raise self._failed(argv, proc.returncode, proc.stderr or proc.stdout)
        try:
            return parse_image_inspect(proc.stdout)
        except ValueError as exc:
            raise self._failed(argv, 0, str(exc)) from None

    def architecture(self, reference: str) -> str | None:
        """The image's CPU architecture ("amd64", "arm64"), None when it is not in the
        local store."""
        local = self._inspect(reference)
        return local.architecture if local is not None else None

    def remove(self, reference: str) -> None:
        """Removes a tag (and the image once no tag is left); a missing one is fine."""
        argv = remove_argv(self.name, self.executable, reference)
        proc = self._run(argv, check=False)
        if proc.returncode != 0 and not is_missing_image(proc.stderr + proc.stdout):
            raise self._failed(argv, proc.returncode, proc.stderr or proc.stdout)

    # ---- pushing ----------------------------------------------------------------------

    def push(
        self,
        image: BuiltImage | str,
        destination: str,
        *,
        auth: RegistryAuth | None,
        tls_verify: bool,
        on_line: LineSink,
    ) -> str:
        """Pushes a local image to `destination` (`host/repo:tag`) and returns the
        manifest digest the registry stored (`sha256:...`)."""
        source = image.reference if isinstance(image, BuiltImage) else image
        if self.name == "podman":
            digest = self._podman_push(source, destination, auth, tls_verify, on_line)
        else:
            digest = self._docker_push(source, destination, auth, on_line)
        if digest is None or not DIGEST.match(digest):
            raise OperationError(
                f"{self.name} pushed the image but reported no digest ({digest!r})",
                where=destination,
                fix=f"check the image is in the registry, and report this with the "
                f"{self.name} version",
            )
        return digest

    def _podman_push(
        self,
        source: str,
        destination: str,
        auth: RegistryAuth | None,
        tls_verify: bool,
        on_line: LineSink,
    ) -> str | None:
        with tempfile.TemporaryDirectory(prefix="fargate-api-push-") as folder:
            digest_file = Path(folder) / "digest"
            with contextlib.ExitStack() as stack:
                auth_file = (
                    stack.enter_context(private_auth_file(auth, [registry_host(destination)]))
                    if auth is not None
                    else None
                )
                argv = podman_push_argv(
                    self.executable,
                    source,
                    destination,
                    digest_file=digest_file,
                    auth_file=auth_file,
                    tls_verify=tls_verify,
                )
                returncode, tail = self._stream(argv, on_line, timeout=PUSH_TIMEOUT)
            if returncode != 0:
                raise translate_push_failure("\n".join(tail), destination)
            return digest_file.read_text().strip() if digest_file.is_file() else None

    def _docker_push(
        self, source: str, destination: str, auth: RegistryAuth | None, on_line: LineSink
    ) -> str | None:
        """docker pushes tags only: DEST is tagged for the push and untagged afterwards
        unless it existed before. Credentials go to a private `--config` folder, never
        to `docker login` (which would store them in ~/.docker for good)."""
        added = source != destination and self._inspect(destination) is None
        if source != destination:
            self._run(tag_argv(self.executable, source, destination))
        digests: list[str] = []

        def take(line: str) -> None:
            found = docker_pushed_digest([line])
            if found:
                digests.append(found)
            on_line(line)

        try:
            with contextlib.ExitStack() as stack:
                config_dir = (
                    stack.enter_context(
                        private_auth_file(
                            auth, [registry_host(destination)], name=DOCKER_CONFIG_FILE
                        )
                    ).parent
                    if auth is not None
                    else None
                )
                argv = docker_push_argv(self.executable, destination, config_dir=config_dir)
                returncode, tail = self._stream(argv, take, timeout=PUSH_TIMEOUT)
        finally:
            if added:
                self.remove(destination)
        if returncode != 0:
            raise translate_push_failure("\n".join(tail), destination)
        return digests[-1] if digests else None


def find_builder(
    environ: Mapping[str, str] = os.environ, which: Which = shutil.which
) -> ContainerCli:
    """podman when it is on environ's PATH, else docker; UserError when neither is."""
    path = environ.get("PATH", os.defpath)
    for name in BUILDERS:
        found = which(name, path=path)
        if found:
            return ContainerCli(name, found, environ=environ)
    raise UserError(
        "no container builder: neither podman nor docker is on the PATH",
        where=f"PATH={path}",
        fix="install podman (Debian/Ubuntu: `apt-get install podman`; it needs no daemon), "
        "or docker",
    )
