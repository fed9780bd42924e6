"""Builds what Fargate's task metadata endpoint v4 serves, from the daemon's document.

Pure: ``EndpointTask`` in, AWS's documents out, so that the shapes (AWS's exact keys,
which keys are left out when they have no value) are unit-tested without a server.
The server (``servers/task_endpoints.py``) only routes and serialises.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network
from typing import Any

from pydantic import BaseModel

from fargate_api.twin.ec2.dns import private_dns_name
from fargate_api.twin.ecs.endpoint_contracts import (
    ContainerHealth,
    ContainerLimits,
    ContainerMetadata,
    CredentialsDocument,
    EndpointContainer,
    EndpointTask,
    EphemeralStorageMetrics,
    Network,
    PortMapping,
    TaskEndpoints,
    TaskLimits,
    TaskMetadata,
)

EPHEMERAL_RESERVED_EXTRA_MIB = 16  # Fargate reports a little more than the GiB asked for


def dump(document: BaseModel) -> dict[str, Any]:
    """AWS's keys, without the ones that have no value (AWS leaves those out)."""
    return document.model_dump(mode="json", by_alias=True, exclude_none=True)


def to_json(document: BaseModel) -> bytes:
    return (json.dumps(dump(document), indent=2) + "\n").encode()


def ecs_labels(task: EndpointTask, container: EndpointContainer) -> dict[str, str]:
    """The labels ECS puts on every container, then the container's own."""
    return {
        "com.amazonaws.ecs.cluster": task.cluster_arn,
        "com.amazonaws.ecs.container-name": container.name,
        "com.amazonaws.ecs.task-arn": task.task_arn,
        "com.amazonaws.ecs.task-definition-family": task.family,
        "com.amazonaws.ecs.task-definition-version": str(task.revision),
        **container.labels,
    }


def network(task: EndpointTask) -> Network:
    prefix = IPv4Network(task.subnet_cidr).prefixlen
    return Network(
        ipv4_addresses=[task.private_ip],
        attachment_index=0,
        mac_address=task.mac,
        ipv4_subnet_cidr_block=task.subnet_cidr,
        private_dns_name=private_dns_name(task.private_ip, task.region),
        subnet_gateway_ipv4_address=f"{task.subnet_gateway}/{prefix}",
    )


def container_metadata(task: EndpointTask, container: EndpointContainer) -> ContainerMetadata:
    log_options = None
    if container.log_group is not None:
        log_options = {
            "awslogs-create-group": "true",
            "awslogs-group": container.log_group,
            "awslogs-region": task.region,
        }
        if container.log_stream is not None:
            log_options["awslogs-stream"] = container.log_stream
    ports = [
        PortMapping(
            container_port=p.container_port,
            protocol=p.protocol,
            host_port=p.host_port if p.host_port is not None else p.container_port,
        )
        for p in container.ports
    ]
    return ContainerMetadata(
        docker_id=container.docker_id,
        name=container.name,
        docker_name=container.docker_name,
        image=container.image,
        image_id=container.image_id,
        ports=ports or None,
        labels=ecs_labels(task, container),
        desired_status=container.desired_status,
        known_status=container.known_status,
        exit_code=container.exit_code,
        limits=ContainerLimits(cpu=container.cpu, memory=container.memory),
        created_at=container.created_at,
        started_at=container.started_at,
        finished_at=container.finished_at,
        container_arn=container.container_arn,
        log_driver="awslogs" if log_options is not None else None,
        log_options=log_options,
        health=(
            ContainerHealth(status=container.health_status)
            if container.health_status is not None
            else None
        ),
        networks=[network(task)],
    )


def task_metadata(task: EndpointTask) -> TaskMetadata:
    return TaskMetadata(
        cluster=task.cluster_arn,
        service_name=task.service_name,
        task_arn=task.task_arn,
        family=task.family,
        revision=str(task.revision),
        desired_status=task.desired_status,
        known_status=task.known_status,
        limits=TaskLimits(cpu=task.cpu, memory=task.memory),
        pull_started_at=task.pull_started_at,
        pull_stopped_at=task.pull_stopped_at,
        availability_zone=task.az,
        launch_type=task.launch_type,
        containers=[container_metadata(task, c) for c in task.containers],
        ephemeral_storage_metrics=EphemeralStorageMetrics(
            utilized=0,
            reserved=task.ephemeral_storage_gib * 1024 + EPHEMERAL_RESERVED_EXTRA_MIB,
        ),
    )


def iso(moment: datetime) -> str:
    """``2026-01-02T03:04:05Z``: the form ECS uses for Expiration."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials_document(
    access_key_id: str,
    secret_access_key: str,
    token: str | None,
    *,
    expiration: datetime | None = None,
    role_arn: str | None = None,
    now: datetime | None = None,
) -> CredentialsDocument:
    """The credentials response; without an expiration, now + 1 hour."""
    moment = (
        expiration if expiration is not None else (now or datetime.now(UTC)) + timedelta(hours=1)
    )
    return CredentialsDocument(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        token=token or "",
        expiration=iso(moment),
        role_arn=role_arn,
    )


class EndpointIndex:
    """The document indexed by the ids that appear in the URIs."""

    def __init__(self, document: TaskEndpoints) -> None:
        self.document = document
        self.containers: dict[str, tuple[EndpointTask, EndpointContainer]] = {}
        self.credentials: dict[str, EndpointTask] = {}
        for task in document.tasks:
            self.credentials[task.credentials_id] = task
            for container in task.containers:
                self.containers[container.metadata_id] = (task, container)
