"""Which task answered, and the address it reaches the internet from.

The identity (task id, private IP, AZ, task definition revision) comes from the
environment in the local twin (``FA_*``) and from the ECS task metadata endpoint v4 on
Fargate, read once at start-up. The egress IP is asked of an echo service on every call:
behind NAT gateways it is the gateway's Elastic IP of the task's AZ.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass, replace
from typing import Any

import httpx
from pydantic import BaseModel, Field

from fargate_example_api.settings import Settings

log = logging.getLogger(__name__)

METADATA_TIMEOUT = 2.0
ACCEPT_TEXT = {"Accept": "text/plain"}
MAX_ECHO_BODY = 200  # an IP address, maybe a newline; anything longer is not an answer


@dataclass(frozen=True)
class TaskIdentity:
    task_id: str | None = None
    private_ip: str | None = None
    availability_zone: str | None = None
    revision: str | None = None
    container_name: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TaskIdentity:
        return cls(
            task_id=settings.task_id,
            private_ip=settings.private_ip,
            availability_zone=settings.availability_zone,
            revision=settings.revision,
            container_name=settings.container_name,
        )

    def complete(self) -> bool:
        return None not in (self.task_id, self.private_ip, self.availability_zone, self.revision)

    def fill_from_task_metadata(self, task: dict[str, Any]) -> TaskIdentity:
        """Fills the unknown fields from ECS's ``${ECS_CONTAINER_METADATA_URI_V4}/task``."""
        arn = task.get("TaskARN")
        task_id = arn.rsplit("/", 1)[-1] if isinstance(arn, str) and arn else None
        containers = [c for c in task.get("Containers") or [] if isinstance(c, dict)]
        own = next((c for c in containers if c.get("Name") == self.container_name), None)
        own = own or (containers[0] if containers else {})
        private_ip = None
        for network in own.get("Networks") or []:
            addresses = network.get("IPv4Addresses") if isinstance(network, dict) else None
            if addresses:
                private_ip = str(addresses[0])
                break
        revision = task.get("Revision")
        zone = task.get("AvailabilityZone")
        name = own.get("Name")
        return replace(
            self,
            task_id=self.task_id or task_id,
            private_ip=self.private_ip or private_ip,
            availability_zone=self.availability_zone or (str(zone) if zone else None),
            revision=self.revision or (str(revision) if revision else None),
            container_name=self.container_name or (str(name) if name else None),
        )


async def resolve_identity(settings: Settings, client: httpx.AsyncClient) -> TaskIdentity:
    """The environment's identity, completed from ECS task metadata when it is available."""
    identity = TaskIdentity.from_settings(settings)
    if identity.complete() or settings.ecs_metadata_uri is None:
        return identity
    url = settings.ecs_metadata_uri.rstrip("/") + "/task"
    try:
        response = await client.get(url, timeout=METADATA_TIMEOUT)
        response.raise_for_status()
        task = response.json()
        if not isinstance(task, dict):
            raise ValueError("the task metadata is not a JSON object")
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("cannot read ECS task metadata: %s", exc, extra={"url": url})
        return identity
    return identity.fill_from_task_metadata(task)


class WhoAmI(BaseModel):
    task_id: str | None = Field(description="ECS task id (the last part of the task ARN).")
    private_ip: str | None = Field(description="The task's private IP in its subnet.")
    availability_zone: str | None
    revision: str | None = Field(description="Task definition revision.")
    container_name: str | None
    egress_ip: str | None = Field(
        description="The source address the internet sees (the NAT gateway's EIP); "
        "null when the echo lookup failed or is off."
    )
    egress_error: str | None = Field(description="Why egress_ip is null.")
    echo_url: str | None = Field(description="The what-is-my-IP service asked.")


async def egress_ip(
    client: httpx.AsyncClient, url: str | None, timeout: float
) -> tuple[str | None, str | None]:
    """(ip, None) or (None, why): a failed lookup is reported, never raised."""
    if url is None:
        return None, "echo lookup is off (ECHO_URL=off)"
    try:
        # httpx's timeout bounds each read; this bounds the whole lookup.
        async with (
            asyncio.timeout(timeout),
            client.stream(
                "GET", url, timeout=timeout, headers={"Accept": "text/plain"}
            ) as response,
        ):
            if response.status_code != 200:
                return None, f"echo service answered HTTP {response.status_code}"
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ECHO_BODY:
                    break
    except (TimeoutError, httpx.TimeoutException):
        return None, f"echo service did not answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        return None, f"echo service unreachable: {type(exc).__name__}: {exc}"
    text = body[: MAX_ECHO_BODY + 1].decode("utf-8", "replace").strip()
    try:
        return str(ipaddress.ip_address(text)), None
    except ValueError:
        shown = text if len(text) <= 60 else text[:60] + "..."
        return None, f"echo service answered {shown!r}, not an IP address"


async def whoami(identity: TaskIdentity, client: httpx.AsyncClient, settings: Settings) -> WhoAmI:
    ip, error = await egress_ip(client, settings.echo_url, settings.echo_timeout)
    return WhoAmI(
        task_id=identity.task_id,
        private_ip=identity.private_ip,
        availability_zone=identity.availability_zone,
        revision=identity.revision,
        container_name=identity.container_name,
        egress_ip=ip,
        egress_error=error,
        echo_url=settings.echo_url,
    )
