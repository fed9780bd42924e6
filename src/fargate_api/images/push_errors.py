"""What a failed push (or registry read) means, in the words a user can act on.

podman, docker and the registry API all report the same handful of failures, each in its
own phrasing (ECR's `denied: Your authorization token has expired`, distribution's
`unauthorized: authentication required`, podman's `dial tcp ...: connection refused`).
Classifying the text once, here, keeps the fixes in one place: builders.py feeds it a
push's output, registry.py an HTTP status plus the registry's error body.
"""

from __future__ import annotations

import re
from enum import Enum

from fargate_api.errors import OperationError

DETAIL_LINES = 10
MAX_LINE = 400

PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, "
    "ecr:CompleteLayerUpload and ecr:PutImage"
)


class PushFailure(Enum):
    CREDENTIALS = "credentials"
    DENIED = "denied"
    REPOSITORY_MISSING = "repository-missing"
    TAG_TAKEN = "tag-taken"
    UNREACHABLE = "unreachable"
    OTHER = "other"


# Checked in this order: ECR says "denied: Your authorization token has expired", which is
# about credentials, not permissions; a missing repository and an immutable tag are more
# specific than a bare 403/404 anywhere else in the text.
_PATTERNS: tuple[tuple[PushFailure, re.Pattern[str]], ...] = (
    (
        PushFailure.CREDENTIALS,
        re.compile(
            r"token has expired|expired token|token expired|no basic auth credentials"
            r"|authentication required|unauthorized|\b401\b|incorrect username or password"
            r"|invalid username/password",
            re.IGNORECASE,
        ),
    ),
    (
        PushFailure.REPOSITORY_MISSING,
        re.compile(
            r"name unknown|NAME_UNKNOWN|repository \S+ does not exist"
            r"|repository with name \S+ does not exist|RepositoryNotFoundException"
            r"|\b404\b",
            re.IGNORECASE,
        ),
    ),
    (
        PushFailure.TAG_TAKEN,
        re.compile(
            r"tag invalid|ImageTagAlreadyExists|TAG_INVALID"
            r"|cannot be overwritten because the repository is immutable",
            re.IGNORECASE,
        ),
    ),
    (
        PushFailure.DENIED,
        re.compile(r"\bdenied\b|DENIED|\b403\b|forbidden|not authorized to perform", re.IGNORECASE),
    ),
    (
        PushFailure.UNREACHABLE,
        re.compile(
            r"connection refused|no such host|i/o timeout|network is unreachable"
            r"|connection reset|no route to host|tls:|x509:|certificate"
            r"|server gave HTTP response to HTTPS client|handshake|timed out",
            re.IGNORECASE,
        ),
    ),
)


def classify_push_failure(text: str) -> PushFailure:
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    return PushFailure.OTHER


def _clean(line: str) -> str:
    line = line.strip()
    line = re.sub(r"^(Error:|error:|ERROR:)\s*", "", line)
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def detail_of(text: str, kind: PushFailure) -> str:
    """The line of `text` that says what happened: the last one matching the class (a
    retry warning repeats it), else the last line; for OTHER the last few lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "(no output)"
    if kind is PushFailure.OTHER:
        return "\n".join(_clean(line) for line in lines[-DETAIL_LINES:])
    pattern = dict(_PATTERNS)[kind]
    matching = [line for line in lines if pattern.search(line)]
    return _clean(matching[-1] if matching else lines[-1])


def push_error(kind: PushFailure, destination: str, detail: str) -> OperationError:
    """The OperationError (exit 1) for one class of failure reaching `destination`."""
    said = f"\n  the registry said: {detail}" if detail else ""
    host = destination.split("/", 1)[0]
    if kind is PushFailure.CREDENTIALS:
        return OperationError(
            f"the registry refused the credentials{said}",
            where=destination,
            fix="a fresh ECR token is fetched on every deploy, so run it again; if it fails "
            "again, check that your AWS identity may call ecr:GetAuthorizationToken and "
            f"push to this repository ({PUSH_ACTIONS})",
        )
    if kind is PushFailure.DENIED:
        return OperationError(
            f"the registry denied the push{said}",
            where=destination,
            fix=f"grant your AWS identity {PUSH_ACTIONS} on this repository (and "
            "ecr:GetAuthorizationToken on *), and check the repository's policy does not "
            "deny it",
        )
    if kind is PushFailure.REPOSITORY_MISSING:
        return OperationError(
            f"the repository does not exist in the registry{said}",
            where=destination,
            fix="deploy creates the repository in the NAME-repository stack before it "
            "pushes; if someone deleted the repository by hand, that stack still thinks it "
            "exists: delete the stack (`aws cloudformation delete-stack --stack-name "
            "NAME-repository`; the repository is retained, so nothing else goes) and deploy "
            "again, which creates it. Otherwise check that the account and region (and "
            "--registry-url) are the ones the stack lives in",
        )
    if kind is PushFailure.TAG_TAKEN:
        return OperationError(
            f"the tag is already taken by another image in this immutable repository{said}",
            where=destination,
            fix="tags name the commit (plus -dirty-<image id> when the context has "
            "uncommitted changes), so this commit was built before into different content "
            "(a build that is not reproducible); commit a change and deploy again, or "
            "delete the old image from the repository",
        )
    if kind is PushFailure.UNREACHABLE:
        return OperationError(
            f"cannot reach the registry {host}{said}",
            where=destination,
            fix=f"check the network path to {host} (DNS, proxy, firewall, TLS certificates); "
            "for a local registry, give its address with --registry-url "
            "(http://HOST:PORT for one without TLS)",
        )
    return OperationError(
        f"pushing the image failed{said}",
        where=destination,
        fix="the registry's answer is above; fix what it names and run the command again",
    )


def translate_push_failure(stderr: str, destination: str) -> OperationError:
    """The OperationError for a failed push of `destination`, from the CLI's output."""
    kind = classify_push_failure(stderr)
    return push_error(kind, destination, detail_of(stderr, kind))
