"""Registry credentials, and the one way they reach a container CLI: a file.

A password on a command line is readable by every user of the machine (/proc/PID/cmdline)
and ends up in shell histories and error messages; `docker login` would write it into the
user's ~/.docker for good. So credentials go into a 0600 file in a private temporary
folder that lives exactly as long as one command, in the format both CLIs read
(`{"auths": {HOST: {"auth": base64(user:password)}}}`: podman's --authfile and docker's
--config folder's config.json are the same shape).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

AUTH_FILE = "auth.json"
DOCKER_CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class RegistryAuth:
    """A registry user name and password (for ECR: "AWS" and a 12-hour token) and the
    registry they are for (`123456789012.dkr.ecr.us-east-1.amazonaws.com`, or the
    `https://...` proxy endpoint ECR returns)."""

    username: str
    password: str = field(repr=False)
    server: str


def registry_host(text: str) -> str:
    """The host[:port] of a server (`x.example`, `https://x.example/`) or of an image
    reference (`x.example/repo:tag`; Docker Hub's when the first part is no host)."""
    if "://" in text:
        return text.split("://", 1)[1].split("/", 1)[0]
    first, sep, _ = text.partition("/")
    if not sep or "." in first or ":" in first or first == "localhost":
        return first
    return "docker.io"


def auth_document(auth: RegistryAuth, hosts: Iterable[str]) -> str:
    """The auth file's JSON: the credentials for each host given and for auth.server."""
    secret = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
    keys = dict.fromkeys([*hosts, registry_host(auth.server)])
    return json.dumps({"auths": {host: {"auth": secret} for host in keys}})


@contextlib.contextmanager
def private_auth_file(
    auth: RegistryAuth, hosts: Iterable[str], *, name: str = AUTH_FILE
) -> Iterator[Path]:
    """A 0600 auth file (in a 0700 temporary folder, removed afterwards) offering the
    credentials to `hosts`: the registry the command will contact, which an endpoint
    override (`--registry-url`) can make differ from auth.server."""
    with tempfile.TemporaryDirectory(prefix="fargate-api-auth-") as folder:
        path = Path(folder) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(auth_document(auth, hosts))
        yield path
