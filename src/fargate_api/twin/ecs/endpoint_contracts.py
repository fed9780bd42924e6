"""Typed documents of the task metadata (v4) and credentials endpoint at 169.254.170.2.

Two kinds of document live here:

* ``TaskEndpoints``: what the twin's daemon writes for the endpoint server
  (``servers/task_endpoints.py``): every running task, its containers and the ids that
  appear in their URIs. Snake case; written and read by this project only.
* What the endpoint serves, with AWS's exact PascalCase keys: ``ContainerMetadata``
  (``${ECS_CONTAINER_METADATA_URI_V4}``), ``TaskMetadata`` (``.../task``) and
  ``CredentialsDocument`` (``169.254.170.2${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}``).
  Python attributes are snake case; the keys on the wire are the aliases, so dump them
  with ``by_alias=True, exclude_none=True`` (``task_metadata.dump``): a key AWS leaves
  out when it has no value (ExitCode, Health, StartedAt ...) is then left out too.

All models are frozen and refuse unknown keys, so that a document from another version
of the daemon fails loudly at the server instead of serving half of it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LaunchType = Literal["FARGATE"]
TaskStatus = Literal["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
                     "STOPPING", "DEPROVISIONING", "STOPPED"]  # fmt: skip
ContainerStatus = Literal["PENDING", "RUNNING", "STOPPED"]
HealthStatus = Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Aws(BaseModel):
    """AWS's PascalCase keys as aliases; built from Python names or from the wire keys."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )


# ---------------------------------------------------------------- the daemon's document


class EndpointPort(_Strict):
    container_port: int = Field(ge=0, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    host_port: int | None = Field(default=None, ge=0, le=65535)


class EndpointContainer(_Strict):
    """One container of a task, as the endpoint server needs it."""

    name: str
    metadata_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$",
        description="The id in ECS_CONTAINER_METADATA_URI_V4 (/v4/<metadata_id>)",
    )
    docker_id: str = Field(description="The podman container id")
    docker_name: str
    image: str
    image_id: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    desired_status: ContainerStatus = "RUNNING"
    known_status: ContainerStatus = "RUNNING"
    exit_code: int | None = None
    created_at: str | None = Field(default=None, description="ISO 8601, UTC")
    started_at: str | None = Field(default=None, description="ISO 8601, UTC")
    finished_at: str | None = Field(default=None, description="ISO 8601, UTC")
    cpu: int = Field(default=0, ge=0, description="CPU units (1024 = 1 vCPU)")
    memory: int | None = Field(default=None, ge=0, description="MiB")
    ports: list[EndpointPort] = Field(default_factory=list)
    health_status: HealthStatus | None = Field(
        default=None, description="None: the container has no health check"
    )
    container_arn: str | None = None
    log_group: str | None = None
    log_stream: str | None = None


class EndpointTask(_Strict):
    """One task: its identity, its ENI and its containers."""

    task_arn: str
    cluster_arn: str
    family: str
    revision: int = Field(ge=1)
    service_name: str | None = None
    az: str = Field(description="Availability zone, e.g. us-east-1a")
    private_ip: str
    subnet_cidr: str = Field(description="e.g. 10.0.1.0/24 (IPv4SubnetCIDRBlock)")
    subnet_gateway: str = Field(description="The subnet's router address, e.g. 10.0.1.1")
    mac: str | None = None
    desired_status: TaskStatus = "RUNNING"
    known_status: TaskStatus = "RUNNING"
    pull_started_at: str | None = Field(default=None, description="ISO 8601, UTC")
    pull_stopped_at: str | None = Field(default=None, description="ISO 8601, UTC")
    cpu: float = Field(gt=0, description="vCPU")
    memory: int = Field(gt=0, description="MiB")
    ephemeral_storage_gib: int = Field(default=20, ge=20, le=200)
    launch_type: LaunchType = "FARGATE"
    task_role_arn: str | None = None
    credentials_id: str = Field(
        pattern=r"^[A-Za-z0-9-]{8,64}$",
        description="A random UUID per task: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is "
        "/v2/credentials/<credentials_id>",
    )
    containers: list[EndpointContainer] = Field(default_factory=list)

    @property
    def task_id(self) -> str:
        return self.task_arn.rsplit("/", 1)[-1]

    @property
    def region(self) -> str:
        """The region is the AZ without its letter (us-east-1a -> us-east-1)."""
        return self.az.rstrip("abcdefghijklmnopqrstuvwxyz") or self.az


class TaskEndpoints(_Strict):
    """The whole document: every task the endpoint server answers for."""

    tasks: list[EndpointTask] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> TaskEndpoints:
        return cls.model_validate_json(text)


# ---------------------------------------------------------------- what AWS serves


class ContainerLimits(_Aws):
    cpu: float = Field(alias="CPU")
    memory: int | None = Field(default=None, alias="Memory")


class TaskLimits(_Aws):
    cpu: float = Field(alias="CPU")
    memory: int = Field(alias="Memory")


class Network(_Aws):
    network_mode: Literal["awsvpc"] = Field(default="awsvpc", alias="NetworkMode")
    ipv4_addresses: list[str] = Field(alias="IPv4Addresses")
    attachment_index: int = Field(default=0, alias="AttachmentIndex")
    mac_address: str | None = Field(default=None, alias="MACAddress")
    ipv4_subnet_cidr_block: str = Field(alias="IPv4SubnetCIDRBlock")
    private_dns_name: str = Field(alias="PrivateDNSName")
    subnet_gateway_ipv4_address: str = Field(
        alias="SubnetGatewayIpv4Address", description="The gateway with the prefix: 10.0.1.1/24"
    )


class PortMapping(_Aws):
    container_port: int = Field(alias="ContainerPort")
    protocol: str = Field(alias="Protocol")
    host_port: int | None = Field(default=None, alias="HostPort")


class ContainerHealth(_Aws):
    status: HealthStatus = Field(alias="status")  # AWS spells these keys in lower case


class ContainerMetadata(_Aws):
    """``GET ${ECS_CONTAINER_METADATA_URI_V4}``: one container."""

    docker_id: str = Field(alias="DockerId")
    name: str = Field(alias="Name")
    docker_name: str = Field(alias="DockerName")
    image: str = Field(alias="Image")
    image_id: str = Field(alias="ImageID")
    ports: list[PortMapping] | None = Field(default=None, alias="Ports")
    labels: dict[str, str] = Field(alias="Labels")
    desired_status: str = Field(alias="DesiredStatus")
    known_status: str = Field(alias="KnownStatus")
    exit_code: int | None = Field(default=None, alias="ExitCode")
    limits: ContainerLimits = Field(alias="Limits")
    created_at: str | None = Field(default=None, alias="CreatedAt")
    started_at: str | None = Field(default=None, alias="StartedAt")
    finished_at: str | None = Field(default=None, alias="FinishedAt")
    type: Literal["NORMAL"] = Field(default="NORMAL", alias="Type")
    container_arn: str | None = Field(default=None, alias="ContainerARN")
    log_driver: Literal["awslogs"] | None = Field(default=None, alias="LogDriver")
    log_options: dict[str, str] | None = Field(default=None, alias="LogOptions")
    health: ContainerHealth | None = Field(default=None, alias="Health")
    networks: list[Network] = Field(alias="Networks")


class ClockDrift(_Aws):
    clock_error_bound: float = Field(alias="ClockErrorBound")
    reference_timestamp: str = Field(alias="ReferenceTimestamp")
    clock_synchronization_status: Literal["SYNCHRONIZED", "NOT_SYNCHRONIZED"] = Field(
        alias="ClockSynchronizationStatus"
    )


class EphemeralStorageMetrics(_Aws):
    utilized: int = Field(alias="Utilized", description="MiB")
    reserved: int = Field(alias="Reserved", description="MiB")


class TaskMetadata(_Aws):
    """``GET ${ECS_CONTAINER_METADATA_URI_V4}/task``: the task and all its containers."""

    cluster: str = Field(alias="Cluster")
    service_name: str | None = Field(default=None, alias="ServiceName")
    task_arn: str = Field(alias="TaskARN")
    family: str = Field(alias="Family")
    revision: str = Field(alias="Revision")
    desired_status: str = Field(alias="DesiredStatus")
    known_status: str = Field(alias="KnownStatus")
    limits: TaskLimits = Field(alias="Limits")
    pull_started_at: str | None = Field(default=None, alias="PullStartedAt")
    pull_stopped_at: str | None = Field(default=None, alias="PullStoppedAt")
    availability_zone: str = Field(alias="AvailabilityZone")
    launch_type: LaunchType = Field(default="FARGATE", alias="LaunchType")
    containers: list[ContainerMetadata] = Field(alias="Containers")
    clock_drift: ClockDrift | None = Field(default=None, alias="ClockDrift")
    ephemeral_storage_metrics: EphemeralStorageMetrics | None = Field(
        default=None, alias="EphemeralStorageMetrics"
    )


class CredentialsDocument(_Aws):
    """``GET 169.254.170.2/v2/credentials/<id>``: what the SDKs' container provider reads."""

    access_key_id: str = Field(alias="AccessKeyId")
    secret_access_key: str = Field(alias="SecretAccessKey")
    token: str = Field(alias="Token")
    expiration: str = Field(alias="Expiration", description="ISO 8601, UTC, e.g. ...T12:00:00Z")
    role_arn: str | None = Field(default=None, alias="RoleArn")


class EndpointError(_Aws):
    """The JSON body of every error the endpoint answers (4xx/5xx)."""

    code: str = Field(alias="code")
    message: str = Field(alias="message")
