"""Reading a registry over the Docker Registry HTTP API v2: is this tag there, with which
digest, built for which CPU. `deploy` asks after every push, so a task definition never
names a digest the registry does not hold.

Plain urllib (no new dependency) and two calls: HEAD/GET /v2/<repo>/manifests/<ref> and
GET /v2/<repo>/blobs/<config digest>. Authentication, smallest that covers ECR and
distribution's htpasswd: with credentials, `Authorization: Basic` goes with every request
(both accept it). A registry that answers 401 with `WWW-Authenticate: Bearer realm=...,
service=..., scope=...` gets the token dance instead: GET realm?service=&scope= with the
Basic credentials, then the returned token as `Authorization: Bearer`. Authorization
headers are never forwarded on redirects (ECR redirects blob reads to S3, which rejects
a second credential). Refusals become the same errors a failed push gives
(push_errors.py).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fargate_api.errors import UserError
from fargate_api.images.push_errors import PushFailure, push_error
from fargate_api.images.registry_auth import RegistryAuth

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
MAX_BODY = 4 * 1024 * 1024  # manifests and image configs are kilobytes
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_URL_FIX = (
    "give the registry as HOST[:PORT] (HTTPS) or http://HOST:PORT for one without TLS, "
    "e.g. --registry-url http://127.0.0.1:5000"
)


class RegistryEndpoint(BaseModel):
    """Where a registry answers: `https` unless told otherwise, and its host[:port]."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Literal["http", "https"]
    host: str = Field(pattern=_HOST.pattern)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


def parse_registry_url(text: str) -> RegistryEndpoint:
    """`http://127.0.0.1:5000`, `https://r.example`, or `127.0.0.1:5000` (HTTPS); a
    trailing `/` or `/v2/` is accepted, anything else (a path, credentials, a query) is a
    UserError."""
    raw = text.strip()

    def junk(why: str) -> UserError:
        return UserError(f"{text!r} is not a registry URL: {why}", fix=_URL_FIX)

    if not raw or any(ch.isspace() for ch in raw):
        raise junk("it is empty or has spaces")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "https", raw
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise junk(f"the scheme must be http or https, not {scheme!r}")
    try:
        parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError as exc:
        raise junk(str(exc)) from None
    if parts.username is not None or parts.password is not None:
        raise junk("credentials do not belong in the URL")
    if parts.path.rstrip("/") not in ("", "/v2") or parts.query or parts.fragment:
        raise junk("it has a path, query or fragment; give the registry's address only")
    if not parts.hostname or not _HOST.match(parts.netloc):
        raise junk("no valid host")
    if port == 0:
        raise junk("port 0")
    return RegistryEndpoint(scheme=scheme, host=parts.netloc.lower())


def repository_path(repository_uri: str) -> str:
    """`123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api` -> `my-api`: the repository
    name inside its registry."""
    _, sep, path = repository_uri.partition("/")
    if not sep or not path:
        raise UserError(
            f"{repository_uri!r} is not a repository URI (REGISTRY/NAME)",
            fix="use the repository stack's RepositoryUri output, "
            "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api",
        )
    return path


def push_destination(repository_uri: str, tag: str, endpoint: RegistryEndpoint | None) -> str:
    """Where to push: `URI:tag`, or with an endpoint override (a local registry standing
    in for ECR) the same repository path on that host: `127.0.0.1:5000/my-api:tag`."""
    if endpoint is None:
        return f"{repository_uri}:{tag}"
    return f"{endpoint.host}/{repository_path(repository_uri)}:{tag}"


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Message
    body: bytes

    def error_codes(self) -> list[str]:
        """The distribution error codes in the body (`{"errors": [{"code": ...}]}`)."""
        try:
            data = json.loads(self.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return []
        errors = data.get("errors") if isinstance(data, dict) else None
        if not isinstance(errors, list):
            return []
        return [str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")]

    def detail(self) -> str:
        text = self.body[:500].decode("utf-8", errors="replace").strip()
        return f"HTTP {self.status}" + (f": {text}" if text else "")


class RegistryClient:
    """Reads manifests and image configs from one registry."""

    def __init__(
        self, endpoint: RegistryEndpoint, auth: RegistryAuth | None, timeout: float = 30
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        self.timeout = timeout
        self._bearer: str | None = None
        # urllib follows redirects itself; Authorization is an "unredirected" header.
        handlers: list[urllib.request.BaseHandler] = []
        if _is_loopback(endpoint.host):
            handlers.append(urllib.request.ProxyHandler({}))  # never via a proxy
        self._opener = urllib.request.build_opener(*handlers)

    # ---- HTTP ------------------------------------------------------------------------

    def _basic(self) -> str | None:
        if self.auth is None:
            return None
        pair = f"{self.auth.username}:{self.auth.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def _send(
        self, method: str, url: str, authorization: str | None, accept: str | None
    ) -> _Response:
        request = urllib.request.Request(url, method=method)
        if accept:
            request.add_header("Accept", accept)
        if authorization:
            request.add_unredirected_header("Authorization", authorization)
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return _Response(answer.status, answer.headers, answer.read(MAX_BODY))
        except urllib.error.HTTPError as exc:
            with exc:
                body = exc.read(MAX_BODY) if method != "HEAD" else b""
                return _Response(exc.code, exc.headers, body)

    def _request(self, method: str, path: str, *, accept: str | None, target: str) -> _Response:
        """One request to the registry, with the token dance on a Bearer challenge;
        unreachable registries raise the translated OperationError."""
        url = f"{self.endpoint.url}{path}"
        try:
            response = self._send(method, url, self._bearer or self._basic(), accept)
            if response.status == 401:
                challenge = response.headers.get("WWW-Authenticate", "")
                if challenge.lower().startswith("bearer"):
                    self._bearer = self._token(challenge, target)
                    response = self._send(method, url, self._bearer, accept)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise push_error(PushFailure.UNREACHABLE, target, str(reason)) from None
        return response

    def _token(self, challenge: str, target: str) -> str:
        """Trades the Basic credentials for a Bearer token at the challenge's realm."""
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise push_error(PushFailure.CREDENTIALS, target, f"token realm {realm!r}")
        wanted = {k: v for k, v in params.items() if k in ("service", "scope")}
        query = urllib.parse.urlencode(wanted)
        url = f"{realm}?{query}" if query else realm
        # Credentials go over TLS only, unless the registry itself is plain HTTP.
        secure = realm.startswith("https://") or self.endpoint.scheme == "http"
        response = self._send("GET", url, self._basic() if secure else None, None)
        if response.status != 200:
            raise push_error(PushFailure.CREDENTIALS, target, f"token service: {response.detail()}")
        try:
            data = json.loads(response.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = {}
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise push_error(PushFailure.CREDENTIALS, target, "the token service sent no token")
        return f"Bearer {token}"

    def _refused(self, response: _Response, target: str) -> None:
        """Raises the translated error for a refusal; returns for 2xx and 404."""
        if response.status == 401:
            raise push_error(PushFailure.CREDENTIALS, target, response.detail())
        if response.status == 403:
            raise push_error(PushFailure.DENIED, target, response.detail())
        if response.status >= 300 and response.status != 404:
            raise push_error(PushFailure.OTHER, target, response.detail())

    def _manifest(self, method: str, repository: str, reference: str) -> _Response | None:
        """The manifest answer, None when the registry does not hold it; a missing
        repository raises (HEAD answers carry no body, so a 404 is asked again with GET
        to tell NAME_UNKNOWN from MANIFEST_UNKNOWN)."""
        separator = "@" if reference.startswith("sha256:") else ":"
        target = f"{self.endpoint.host}/{repository}{separator}{reference}"
        path = f"/v2/{repository}/manifests/{urllib.parse.quote(reference, safe=':')}"
        response = self._request(method, path, accept=ACCEPT, target=target)
        if response.status == 404 and method == "HEAD":
            response = self._request("GET", path, accept=ACCEPT, target=target)
        self._refused(response, target)
        if response.status == 404:
            if "NAME_UNKNOWN" in response.error_codes():
                raise push_error(PushFailure.REPOSITORY_MISSING, target, response.detail())
            return None
        return response

    # ---- queries ---------------------------------------------------------------------

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest of the manifest `reference` (a tag or `sha256:...`) names, None when
        the repository has no such manifest."""
        response = self._manifest("HEAD", repository, reference)
        if response is None:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return str(digest)
        # Registries may leave the header out: the digest is the body's hash.
        response = self._manifest("GET", repository, reference)
        return "sha256:" + hashlib.sha256(response.body).hexdigest() if response else None

    def config_digest(self, repository: str, reference: str) -> str | None:
        """The image id (its config blob's digest) of a single-platform manifest; None
        for an index of several, or when the registry has no such manifest."""
        response = self._manifest("GET", repository, reference)
        if response is None:
            return None
        manifest = _json(response.body, f"{self.endpoint.host}/{repository}:{reference}")
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        return digest if isinstance(digest, str) else None

    def image_architecture(self, repository: str, reference: str) -> str | None:
        """The CPU architecture of the image (`amd64`, `arm64`), None when the registry
        has no such manifest; an index of several comes back comma-joined, sorted."""
        response = self._manifest("GET", repository, reference)
        if response is None:
            return None
        target = f"{self.endpoint.host}/{repository}:{reference}"
        manifest = _json(response.body, target)
        if isinstance(manifest.get("manifests"), list):
            found = set()
            for entry in manifest["manifests"]:
                platform = entry.get("platform") if isinstance(entry, dict) else None
                if isinstance(platform, dict) and platform.get("os") not in (None, "unknown"):
                    found.add(str(platform.get("architecture")))
            return ",".join(sorted(found)) if found else None
        if isinstance(manifest.get("architecture"), str):  # schema 1
            return str(manifest["architecture"])
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str):
            raise push_error(PushFailure.OTHER, target, "the manifest names no config blob")
        blob = self._request("GET", f"/v2/{repository}/blobs/{digest}", accept=None, target=target)
        self._refused(blob, target)
        if blob.status != 200:
            raise push_error(PushFailure.OTHER, target, f"config blob {digest}: {blob.detail()}")
        architecture = _json(blob.body, target).get("architecture")
        return str(architecture) if architecture else None


def _json(body: bytes, target: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise push_error(PushFailure.OTHER, target, "the registry sent a body that is not JSON")
    return data
