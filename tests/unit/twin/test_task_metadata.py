"""The task metadata v4 and credentials documents: AWS's exact keys and shapes, pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from fargate_api.twin.ecs.endpoint_contracts import (
    ContainerMetadata,
    EndpointContainer,
    EndpointPort,
    EndpointTask,
    TaskEndpoints,
    TaskMetadata,
)
from fargate_api.twin.ecs.task_metadata import (
    EndpointIndex,
    container_metadata,
    credentials_document,
    dump,
    task_metadata,
    to_json,
)

TASK_ID = "0123456789abcdef0123456789abcdef"
ACCOUNT = "123456789012"


def container(**changes: object) -> EndpointContainer:
    values: dict[str, object] = {
        "name": "web",
        "metadata_id": f"{TASK_ID}-web",
        "docker_id": "c0ffee" * 10 + "abcd",
        "docker_name": f"fa-demo-t-{TASK_ID}-web",
        "image": "public.ecr.aws/nginx/nginx:1.27",
        "image_id": "sha256:" + "ab" * 32,
        "labels": {"team": "api"},
        "created_at": "2026-12-05T15:00:00.000000Z",
        "started_at": "2026-12-05T15:00:01.000000Z",
        "cpu": 256,
        "memory": 512,
        "ports": [EndpointPort(container_port=8080)],
        "log_group": "/ecs/demo",
        "log_stream": f"api/web/{TASK_ID}",
        "container_arn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:container/demo/{TASK_ID}/web",
    }
    values.update(changes)
    return EndpointContainer.model_validate(values)


def task(**changes: object) -> EndpointTask:
    values: dict[str, object] = {
        "task_arn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/demo/{TASK_ID}",
        "cluster_arn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/demo",
        "family": "api",
        "revision": 3,
        "service_name": "api",
        "az": "eu-west-1b",
        "private_ip": "10.0.1.23",
        "subnet_cidr": "10.0.1.0/24",
        "subnet_gateway": "10.0.1.1",
        "mac": "0e:00:00:00:00:01",
        "pull_started_at": "2026-12-05T14:59:58Z",
        "pull_stopped_at": "2026-12-05T14:59:59Z",
        "cpu": 0.25,
        "memory": 512,
        "task_role_arn": f"arn:aws:iam::{ACCOUNT}:role/api-task",
        "credentials_id": "5a7a7b2e-0d6f-4c43-9d8e-3f3e2b1c0a99",
        "containers": [container()],
    }
    values.update(changes)
    return EndpointTask.model_validate(values)


def test_container_document_has_awss_keys_in_order() -> None:
    doc = dump(container_metadata(task(), container()))
    assert list(doc) == [
        "DockerId", "Name", "DockerName", "Image", "ImageID", "Ports", "Labels",
        "DesiredStatus", "KnownStatus", "Limits", "CreatedAt", "StartedAt", "Type",
        "ContainerARN", "LogDriver", "LogOptions", "Networks",
    ]  # fmt: skip
    assert doc["Type"] == "NORMAL"
    assert doc["Limits"] == {"CPU": 256, "Memory": 512}
    assert doc["Ports"] == [{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 8080}]
    assert doc["LogDriver"] == "awslogs"
    assert doc["LogOptions"] == {
        "awslogs-create-group": "true",
        "awslogs-group": "/ecs/demo",
        "awslogs-region": "eu-west-1",
        "awslogs-stream": f"api/web/{TASK_ID}",
    }


def test_container_labels_carry_ecs_labels_then_the_containers() -> None:
    labels = dump(container_metadata(task(), container()))["Labels"]
    assert labels == {
        "com.amazonaws.ecs.cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/demo",
        "com.amazonaws.ecs.container-name": "web",
        "com.amazonaws.ecs.task-arn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/demo/{TASK_ID}",
        "com.amazonaws.ecs.task-definition-family": "api",
        "com.amazonaws.ecs.task-definition-version": "3",
        "team": "api",
    }


def test_networks_describe_the_tasks_eni() -> None:
    (net,) = dump(container_metadata(task(), container()))["Networks"]
    assert net == {
        "NetworkMode": "awsvpc",
        "IPv4Addresses": ["10.0.1.23"],
        "AttachmentIndex": 0,
        "MACAddress": "0e:00:00:00:00:01",
        "IPv4SubnetCIDRBlock": "10.0.1.0/24",
        "PrivateDNSName": "ip-10-0-1-23.eu-west-1.compute.internal",
        "SubnetGatewayIpv4Address": "10.0.1.1/24",
    }


def test_us_east_1_names_are_ec2_internal() -> None:
    (net,) = dump(container_metadata(task(az="us-east-1a"), container()))["Networks"]
    assert net["PrivateDNSName"] == "ip-10-0-1-23.ec2.internal"


def test_keys_without_a_value_are_left_out() -> None:
    bare = container(ports=[], log_group=None, log_stream=None, container_arn=None, started_at=None)
    doc = dump(container_metadata(task(mac=None), bare))
    for key in ("Ports", "LogDriver", "LogOptions", "ContainerARN", "StartedAt", "ExitCode"):
        assert key not in doc
    assert "MACAddress" not in doc["Networks"][0]


def test_stopped_container_has_exit_code_and_health() -> None:
    stopped = container(
        known_status="STOPPED", desired_status="STOPPED", exit_code=137, health_status="UNHEALTHY"
    )
    doc = dump(container_metadata(task(), stopped))
    assert (doc["KnownStatus"], doc["ExitCode"]) == ("STOPPED", 137)
    assert doc["Health"] == {"status": "UNHEALTHY"}


def test_task_document_has_awss_keys() -> None:
    doc = dump(task_metadata(task()))
    assert list(doc) == [
        "Cluster", "ServiceName", "TaskARN", "Family", "Revision", "DesiredStatus",
        "KnownStatus", "Limits", "PullStartedAt", "PullStoppedAt", "AvailabilityZone",
        "LaunchType", "Containers", "EphemeralStorageMetrics",
    ]  # fmt: skip
    assert doc["Revision"] == "3"  # a string, as on AWS
    assert doc["Limits"] == {"CPU": 0.25, "Memory": 512}
    assert doc["LaunchType"] == "FARGATE"
    assert doc["AvailabilityZone"] == "eu-west-1b"
    assert doc["Containers"] == [dump(container_metadata(task(), container()))]
    assert doc["EphemeralStorageMetrics"]["Reserved"] >= 20 * 1024


def test_documents_read_back_from_awss_keys() -> None:
    """The models also parse the wire form, e.g. for a client in a test or a tool."""
    wire = json.loads(to_json(task_metadata(task())))
    assert TaskMetadata.model_validate(wire) == task_metadata(task())
    container_wire = json.loads(to_json(container_metadata(task(), container())))
    assert ContainerMetadata.model_validate(container_wire).docker_id == container().docker_id


def test_credentials_document_keys_and_default_expiry() -> None:
    now = datetime(2026, 12, 5, 15, 0, 0, tzinfo=UTC)
    doc = dump(credentials_document("AKIDEXAMPLE", "secret", "token", role_arn="arn:r", now=now))
    assert doc == {
        "AccessKeyId": "AKIDEXAMPLE",
        "SecretAccessKey": "secret",
        "Token": "token",
        "Expiration": "2026-12-05T16:00:00Z",
        "RoleArn": "arn:r",
    }


def test_credentials_without_token_or_role() -> None:
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    doc = dump(credentials_document("AKID", "s", None, expiration=expiry))
    assert doc == {
        "AccessKeyId": "AKID",
        "SecretAccessKey": "s",
        "Token": "",
        "Expiration": "2030-01-01T00:00:00Z",
    }


def test_index_finds_containers_and_credentials_by_their_ids() -> None:
    other = container(name="sidecar", metadata_id=f"{TASK_ID}-sidecar")
    document = TaskEndpoints(tasks=[task(containers=[container(), other])])
    index = EndpointIndex(TaskEndpoints.from_json(document.to_json()))
    assert index.containers[f"{TASK_ID}-sidecar"][1].name == "sidecar"
    assert index.credentials["5a7a7b2e-0d6f-4c43-9d8e-3f3e2b1c0a99"].task_id == TASK_ID


def test_document_refuses_unknown_keys_and_bad_ids() -> None:
    good = json.loads(TaskEndpoints(tasks=[task()]).to_json())
    with pytest.raises(ValidationError):
        TaskEndpoints.model_validate({**good, "extra": 1})
    good["tasks"][0]["credentials_id"] = "../etc"
    with pytest.raises(ValidationError):
        TaskEndpoints.model_validate(good)


def test_task_region_and_id() -> None:
    assert (task().region, task().task_id) == ("eu-west-1", TASK_ID)
