"""Fargate's task metadata (v4) and credentials endpoint, served at 169.254.170.2:80.

On Fargate every task reaches a link-local endpoint: ``ECS_CONTAINER_METADATA_URI_V4``
(``http://169.254.170.2/v4/<id>``) describes the container, ``.../task`` the task (its
private IP, AZ, limits, containers), and ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``
(``/v2/credentials/<id>``) hands out the task role's credentials, which the AWS SDKs'
container credentials provider reads. The twin's daemon starts this server once, in the
VPC router namespace where 169.254.170.2 is a loopback address, so that every task
reaches it through its default route with its own private IP as the source address.

Routes (GET and HEAD; answers are JSON):

* ``/v4/<metadata_id>``: the container's document; ``/v4/<metadata_id>/task``: the task's.
* ``/v4/<metadata_id>/stats`` and ``/v4/<metadata_id>/task/stats``: 404
  ``{"code": "StatsUnavailable", ...}``: the twin collects no Docker stats.
* ``/v2/credentials/<credentials_id>``: credentials; 403 when the request does not come
  from the task's own private IP: ECS ties a task's credentials to the task, and so does
  the twin (another task that learned the id gets nothing).
* anything else: 404 ``{"code": "NotFound", ...}``.

Credentials, by default, are the user's own local credentials as boto3 resolves them
(environment, profile, SSO ...), with Expiration one hour ahead and RoleArn the task
role, as amazon-ecs-local-container-endpoints does. ``--assume-task-role`` instead calls
``sts:AssumeRole`` on the task role (session name: the task id), cached until five
minutes before it expires; ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_STS`` are honoured
(boto3 reads them), so tests can point it at a moto server. With no credentials the
answer is 404 ``{"code": "NoCredentials", ...}``.

The document (``ecs/endpoint_contracts.TaskEndpoints``) is re-read whenever its
modification time or size changes. It must be valid at start (else exit 2); a later
invalid version is logged and the last valid one is kept.

One line per request goes to stderr; the credentials id in a path is shown as ``***``
and no key, secret or token is ever logged.

Usage: ``python -m fargate_api.twin.servers.task_endpoints --document PATH
--listen 169.254.170.2 --port 80 [--assume-task-role] [--region R] [--label PREFIX]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import NoCredentialsError as BotoNoCredentials
from pydantic import ValidationError

from fargate_api.twin.ecs.endpoint_contracts import (
    CredentialsDocument,
    EndpointError,
    EndpointTask,
    TaskEndpoints,
)
from fargate_api.twin.ecs.task_metadata import (
    EndpointIndex,
    container_metadata,
    credentials_document,
    task_metadata,
    to_json,
)
from fargate_api.twin.host import netns_socket
from fargate_api.twin.servers.standin_server import (
    TwinRequestHandler,
    _escape,
    _host,
    _write_line,
    listen,
    serve,
)

NAME = "task_endpoints"
JSON_TYPE = "application/json"
CREDENTIALS_PREFIX = "/v2/credentials/"
METADATA_PREFIX = "/v4/"
REFRESH_MARGIN = timedelta(minutes=5)
EXIT_BAD_DOCUMENT = 2

Reply = tuple[int, str, bytes]


class NoCredentialsError(Exception):
    """No credentials could be resolved; the message says why (never a secret)."""


class DocumentStore:
    """The daemon's document, re-read when its mtime or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._index = EndpointIndex(self._load())  # raises: the first version must be valid
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def _load(self) -> TaskEndpoints:
        return TaskEndpoints.from_json(self.path.read_bytes())

    def index(self) -> EndpointIndex:
        with self._lock:
            stamp = self._stat()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._index = EndpointIndex(self._load())
                except (OSError, ValueError) as exc:
                    _write_line(
                        sys.stderr,
                        f"{NAME}: keeping the previous document: {self.path}: {_short(exc)}",
                    )
            return self._index


class Credentials:
    """Where credentials come from: the local ones, or sts:AssumeRole on the task role."""

    def __init__(self, *, assume_task_role: bool, region: str | None) -> None:
        self.assume_task_role = assume_task_role
        self.region = region
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], CredentialsDocument] = {}
        self._session: Any = None

    def _boto_session(self) -> Any:
        if self._session is None:
            try:
                self._session = boto3.Session(region_name=self.region)
            except BotoCoreError as exc:  # e.g. AWS_PROFILE names no profile
                raise NoCredentialsError(f"cannot load AWS credentials: {_short(exc)}") from None
        return self._session

    def for_task(self, task: EndpointTask) -> CredentialsDocument:
        with self._lock:
            if self.assume_task_role:
                return self._assumed(task)
            return self._local(task)

    def _local(self, task: EndpointTask) -> CredentialsDocument:
        try:
            found = self._boto_session().get_credentials()
        except BotoCoreError as exc:  # a broken profile, a failing credential_process
            raise NoCredentialsError(f"cannot load AWS credentials: {_short(exc)}") from None
        if found is None:
            raise NoCredentialsError(
                "no AWS credentials found for the endpoint server (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run `aws configure`)"
            )
        frozen = found.get_frozen_credentials()
        return credentials_document(
            frozen.access_key, frozen.secret_key, frozen.token, role_arn=task.task_role_arn
        )

    def _assumed(self, task: EndpointTask) -> CredentialsDocument:
        if task.task_role_arn is None:
            raise NoCredentialsError(f"task {task.task_id} has no task role to assume")
        key = (task.task_role_arn, task.task_id)
        cached = self._cache.get(key)
        if cached is not None and _expires(cached) - REFRESH_MARGIN > datetime.now(UTC):
            return cached
        session = self._boto_session()
        region = self.region or session.region_name or task.region
        try:
            sts = session.client("sts", region_name=region)
            answer = sts.assume_role(RoleArn=task.task_role_arn, RoleSessionName=task.task_id)
        except BotoNoCredentials:
            raise NoCredentialsError(
                "no AWS credentials to call sts:AssumeRole with (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run `aws configure`)"
            ) from None
        except (BotoCoreError, ClientError) as exc:
            raise NoCredentialsError(
                f"sts:AssumeRole on {task.task_role_arn} failed: {_short(exc)}"
            ) from None
        found = answer["Credentials"]
        document = credentials_document(
            found["AccessKeyId"],
            found["SecretAccessKey"],
            found["SessionToken"],
            expiration=found["Expiration"],
            role_arn=task.task_role_arn,
        )
        self._cache[key] = document
        return document


class TaskEndpointsHandler(TwinRequestHandler):
    server_version = "fargate-api-twin-task-endpoints"
    store: DocumentStore
    credentials: Credentials

    def reply(self) -> Reply:
        """Every request gets an HTTP answer: an SDK that loses the connection retries
        for seconds, one that gets a status gives up at once and says why."""
        try:
            return self._route()
        except Exception as exc:
            _write_line(sys.stderr, f"{NAME}: {type(exc).__name__}: {_short(exc)}")
            return _error(500, "InternalError", "the endpoint failed; see task-endpoints.log")

    def _route(self) -> Reply:
        if self.command not in ("GET", "HEAD"):
            return _error(405, "MethodNotAllowed", f"{self.command} is not supported")
        path = self.path.split("?", 1)[0]
        if path.startswith(CREDENTIALS_PREFIX):
            return self._credentials(path.removeprefix(CREDENTIALS_PREFIX))
        if path.startswith(METADATA_PREFIX):
            return self._metadata(path.removeprefix(METADATA_PREFIX).strip("/").split("/"))
        return _error(404, "NotFound", f"no such endpoint: {_escape(path)}")

    def _metadata(self, parts: list[str]) -> Reply:
        found = self.store.index().containers.get(parts[0])
        if found is None:
            return _error(404, "NotFound", "no container has this metadata id")
        task, container = found
        rest = parts[1:]
        if rest == []:
            return 200, JSON_TYPE, to_json(container_metadata(task, container))
        if rest == ["task"]:
            return 200, JSON_TYPE, to_json(task_metadata(task))
        if rest in (["stats"], ["task", "stats"]):
            return _error(404, "StatsUnavailable", "the local twin collects no container stats")
        return _error(404, "NotFound", "no such metadata endpoint")

    def _credentials(self, credentials_id: str) -> Reply:
        task = self.store.index().credentials.get(credentials_id.strip("/"))
        if task is None:
            return _error(404, "NotFound", "no task has these credentials")
        if self.client_ip != task.private_ip:
            return _error(
                403, "AccessDenied", "credentials are served only to their own task's address"
            )
        try:
            document = self.credentials.for_task(task)
        except NoCredentialsError as exc:
            _write_line(sys.stderr, f"{NAME}: no credentials for task {task.task_id}: {exc}")
            return _error(404, "NoCredentials", str(exc))
        return 200, JSON_TYPE, to_json(document)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line on stderr; never the credentials id or anything it returns."""
        path = getattr(self, "path", "")
        if path.startswith(CREDENTIALS_PREFIX):
            path = CREDENTIALS_PREFIX + "***"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        line = (
            f"{_host(self.client_address)} [{stamp}] "
            f'"{getattr(self, "command", "-")} {_escape(path)}" {code} {size}'
        )
        with self._log_lock:
            _write_line(sys.stderr, line)

    def log_message(self, format: str, *args: Any) -> None:
        # http.server's own messages can quote the request line: keep ids out of them.
        text = format % args
        if CREDENTIALS_PREFIX in text:
            text = text.split(CREDENTIALS_PREFIX, 1)[0] + CREDENTIALS_PREFIX + "***"
        _write_line(sys.stderr, f"{_host(self.client_address)}: {_escape(text)}")


def _error(status: int, code: str, message: str) -> Reply:
    body = json.dumps(EndpointError(code=code, message=message).model_dump(by_alias=True)).encode()
    return status, JSON_TYPE, body + b"\n"


def _expires(document: CredentialsDocument) -> datetime:
    return datetime.strptime(document.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=NAME, description="ECS task metadata v4 and credentials endpoint for the twin."
    )
    parser.add_argument("--document", type=Path, required=True, help="the daemon's JSON file")
    parser.add_argument("--listen", default="169.254.170.2", help="address (169.254.170.2)")
    parser.add_argument("--port", type=int, default=80, help="TCP port (80)")
    parser.add_argument(
        "--assume-task-role", action="store_true", help="sts:AssumeRole on each task's role"
    )
    parser.add_argument("--region", help="region for STS (default: boto3's, else the task's)")
    parser.add_argument(
        "--netns",
        help="listen inside this network namespace while the process stays in its own "
        "(so that STS is reached from this machine's network)",
    )
    parser.add_argument("--label", help="ignored; marks the command line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    try:
        store = DocumentStore(args.document)
    except (OSError, ValidationError, ValueError) as exc:
        _write_line(sys.stderr, f"{NAME}: cannot read the document {args.document}: {_short(exc)}")
        return EXIT_BAD_DOCUMENT
    handler = type(
        "BoundTaskEndpointsHandler",
        (TaskEndpointsHandler,),
        {
            "store": store,
            "credentials": Credentials(assume_task_role=args.assume_task_role, region=args.region),
        },
    )
    if args.netns:
        try:
            with netns_socket.inside(args.netns):
                server = listen(handler, args.listen, args.port, NAME)
        except OSError as exc:
            _write_line(sys.stderr, f"{NAME}: cannot enter namespace {args.netns}: {exc}")
            return 1
    else:
        server = listen(handler, args.listen, args.port, NAME)
    if server is None:
        return 1
    os.environ.pop("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", None)  # never ask ourselves
    return serve(server)


if __name__ == "__main__":
    sys.exit(main())
