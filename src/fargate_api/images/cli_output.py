"""Reading what podman and docker print: `image inspect` JSON, `docker push`'s digest
line, and "no such image" in its various spellings. Pure, so tested on recorded output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PUSHED_DIGEST = re.compile(r"\bdigest: (sha256:[0-9a-f]{64})\b")
_MISSING = ("no such image", "image not known", "no such object")


class LocalImage(BaseModel):
    """What `image inspect` says about one image in the local store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    image_id: str  # sha256:<64 hex>
    architecture: str
    os: str
    digest: str | None  # podman's manifest digest in its store; docker has none


def parse_image_inspect(text: str) -> LocalImage:
    """The first image of `image inspect`'s JSON array; ValueError when it is not one.
    podman prints the id without the `sha256:` prefix, docker with it."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"image inspect printed no JSON: {exc}") from None
    item = data[0] if isinstance(data, list) and data else data
    if not isinstance(item, dict):
        raise ValueError("image inspect printed no image")
    raw_id = str(item.get("Id") or "")
    image_id = raw_id if raw_id.startswith("sha256:") else f"sha256:{raw_id}"
    if not DIGEST.match(image_id):
        raise ValueError(f"image inspect printed no image id (Id: {raw_id!r})")
    digest = item.get("Digest")
    return LocalImage(
        image_id=image_id,
        architecture=str(item.get("Architecture") or ""),
        os=str(item.get("Os") or ""),
        digest=digest if isinstance(digest, str) and DIGEST.match(digest) else None,
    )


def docker_pushed_digest(lines: Iterable[str]) -> str | None:
    """The digest in `docker push`'s last `TAG: digest: sha256:... size: N` line."""
    found = None
    for line in lines:
        match = _PUSHED_DIGEST.search(line)
        if match:
            found = match.group(1)
    return found


def is_missing_image(stderr: str) -> bool:
    """Whether a failed inspect/rmi said the image is not in the local store."""
    lowered = stderr.lower()
    return any(marker in lowered for marker in _MISSING)
