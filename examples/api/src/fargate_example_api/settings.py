"""Settings read once from the environment (no config files: the root filesystem is read-only).

Variables, all optional:

* ``FA_TASK_ID``, ``FA_PRIVATE_IP``, ``FA_AZ``, ``FA_REVISION``, ``ECS_CONTAINER_NAME``:
  set by fargate-api's local twin. On AWS they are unset and the same facts come from the
  ECS task metadata endpoint (``ECS_CONTAINER_METADATA_URI_V4``, set by Fargate).
* ``ECHO_URL`` (wins) or ``FA_ECHO_URL`` (set by the twin): a what-is-my-IP service that
  answers the caller's address as plain text; ``/whoami`` asks it for the task's egress
  IP. Unset: ``DEFAULT_ECHO_URL``. ``ECHO_URL=off`` turns the lookup off.
* ``ECHO_TIMEOUT``: seconds for that lookup (default 2).
* ``ENABLE_DEBUG_ROUTES=1``: adds ``GET /debug/slow`` (tests of graceful shutdown only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Answers the caller's IP as plain text; reached through the NAT gateway on AWS.
DEFAULT_ECHO_URL = "https://checkip.amazonaws.com/"
DEFAULT_ECHO_TIMEOUT = 2.0
MAX_ECHO_TIMEOUT = 10.0
_OFF = frozenset({"off", "none", "false", "0"})
_ON = frozenset({"1", "true", "yes", "on"})


class SettingsError(ValueError):
    """An environment variable holds a value the API cannot use."""


@dataclass(frozen=True)
class Settings:
    task_id: str | None = None
    private_ip: str | None = None
    availability_zone: str | None = None
    revision: str | None = None
    container_name: str | None = None
    echo_url: str | None = None
    echo_timeout: float = DEFAULT_ECHO_TIMEOUT
    ecs_metadata_uri: str | None = None
    debug_routes: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        return cls(
            task_id=get("FA_TASK_ID"),
            private_ip=get("FA_PRIVATE_IP"),
            availability_zone=get("FA_AZ"),
            revision=get("FA_REVISION"),
            container_name=get("ECS_CONTAINER_NAME"),
            echo_url=_echo_url(get("ECHO_URL"), get("FA_ECHO_URL")),
            echo_timeout=_timeout(get("ECHO_TIMEOUT")),
            ecs_metadata_uri=get("ECS_CONTAINER_METADATA_URI_V4"),
            debug_routes=(get("ENABLE_DEBUG_ROUTES") or "").lower() in _ON,
        )


def _echo_url(override: str | None, twin: str | None) -> str | None:
    chosen = override or twin or DEFAULT_ECHO_URL
    if chosen.lower() in _OFF:
        return None
    if not chosen.startswith(("http://", "https://")):
        raise SettingsError(f"echo URL {chosen!r} is not an http:// or https:// URL")
    return chosen


def _timeout(text: str | None) -> float:
    if text is None:
        return DEFAULT_ECHO_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"ECHO_TIMEOUT={text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_ECHO_TIMEOUT:
        raise SettingsError(f"ECHO_TIMEOUT={text!r} must be above 0 and at most 10 seconds")
    return value
