"""A registry API v2 stand-in on 127.0.0.1 for RegistryClient's unit tests: enough of
distribution and ECR to answer manifests and blobs, with Basic or Bearer auth.

It lets the unit tier cover what docker-registry (tests/functional/images) does not
produce: ECR's NAME_UNKNOWN, a Bearer token dance, a manifest list, a missing
Docker-Content-Digest header, a redirect for a blob.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass
class FakeRegistry:
    """What the fake holds and how it authenticates; `requests` records what it saw."""

    auth: str = "none"  # none | basic | bearer
    user: str = "AWS"
    password: str = "s3cret"
    repositories: dict[str, dict[str, bytes]] = field(default_factory=dict)  # repo -> ref -> body
    blobs: dict[str, bytes] = field(default_factory=dict)
    content_digest_header: bool = True
    redirect_blobs: bool = False
    status_override: int | None = None
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    port: int = 0
    token: str = "tok-123"

    def add_image(self, repo: str, tag: str, architecture: str) -> str:
        config = json.dumps({"architecture": architecture, "os": "linux"}).encode()
        self.blobs[digest_of(config)] = config
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"digest": digest_of(config), "size": len(config)},
                "layers": [],
            }
        ).encode()
        digest = digest_of(manifest)
        refs = self.repositories.setdefault(repo, {})
        refs[tag] = manifest
        refs[digest] = manifest
        return digest

    def add_index(self, repo: str, tag: str, architectures: list[str]) -> None:
        manifests: list[dict[str, Any]] = [
            {"digest": "sha256:" + "0" * 64, "platform": {"os": "linux", "architecture": a}}
            for a in architectures
        ]
        manifests.append(
            {
                "digest": "sha256:" + "1" * 64,
                "platform": {"os": "unknown", "architecture": "unknown"},
            }
        )
        body = json.dumps(
            {"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        ).encode()
        self.repositories.setdefault(repo, {})[tag] = body


def _handler(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str) -> None:
            body = json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
            self._send(status, body, {"Content-Type": "application/json"})

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization")
            if registry.auth == "none":
                return True
            basic = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
            if registry.auth == "basic":
                if header == f"Basic {basic}":
                    return True
                self._send(401, b"{}", {"WWW-Authenticate": 'Basic realm="fake"'})
                return False
            if header == f"Bearer {registry.token}":
                return True
            realm = f"http://127.0.0.1:{registry.port}/token"
            challenge = f'Bearer realm="{realm}",service="fake",scope="repository:x:pull"'
            self._error_with(401, "UNAUTHORIZED", {"WWW-Authenticate": challenge})
            return False

        def _error_with(self, status: int, code: str, headers: dict[str, str]) -> None:
            body = json.dumps({"errors": [{"code": code}]}).encode()
            self._send(status, body, headers)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            registry.requests.append((self.command, parts.path, self.headers.get("Authorization")))
            if parts.path == "/token":
                query = parse_qs(parts.query)
                basic = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {basic}" or query.get(
                    "service"
                ) != ["fake"]:
                    self._send(401, b"{}")
                    return
                self._send(200, json.dumps({"token": registry.token}).encode())
                return
            if parts.path.startswith("/redirected/"):
                digest = parts.path.rsplit("/", 1)[1]
                self._send(200, registry.blobs[digest])
                return
            if not self._authorized():
                return
            if registry.status_override is not None:
                self._error(registry.status_override, "DENIED")
                return
            _, _, rest = parts.path.partition("/v2/")
            if "/manifests/" in rest:
                repo, _, ref = rest.partition("/manifests/")
                if repo not in registry.repositories:
                    self._error(404, "NAME_UNKNOWN")
                    return
                body = registry.repositories[repo].get(ref)
                if body is None:
                    self._error(404, "MANIFEST_UNKNOWN")
                    return
                media = json.loads(body).get("mediaType", "application/json")
                headers = {"Content-Type": media}
                if registry.content_digest_header:
                    headers["Docker-Content-Digest"] = digest_of(body)
                self._send(200, body, headers)
                return
            if "/blobs/" in rest:
                digest = rest.rsplit("/", 1)[1]
                if registry.redirect_blobs:
                    location = f"http://127.0.0.1:{registry.port}/redirected/{digest}"
                    self._send(307, b"", {"Location": location})
                    return
                blob = registry.blobs.get(digest)
                if blob is None:
                    self._error(404, "BLOB_UNKNOWN")
                    return
                self._send(200, blob)
                return
            self._error(404, "NOT_FOUND")

    return Handler


@contextmanager
def serving(registry: FakeRegistry) -> Iterator[FakeRegistry]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
