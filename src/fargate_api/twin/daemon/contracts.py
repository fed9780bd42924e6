"""The documents the twin's processes exchange through its state folder, as types.

`local up` writes a LaunchSpec; the daemon writes TwinState (state.json) after every
change; `local deploy` and `local scale` drop a TwinRequest and wait for a TwinAnswer.
They are files read by another process, possibly of another version of the tool, so
they are validated where they are read: a bad file becomes a clear answer or error
instead of a KeyError deep inside the daemon. `local status --json` prints
TwinStatusReport, whose first keys are the documented stable shape.

docs/schemas/ holds their JSON Schemas (`make schemas`); a unit test keeps them current.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from fargate_api.templates.stack_inputs import StackInput


class Contract(BaseModel):
    """Frozen: a document read from a file is a value; a change is a new document."""

    model_config = ConfigDict(frozen=True)


# ---------------------------------------------------------------- launch.json


class StackSource(Contract):
    """A top-level template the twin runs, with the stack name `-t NAME=PATH` gave it
    (None: named after its file). Several are linked by Export/Fn::ImportValue."""

    path: str  # absolute
    name: str | None = None

    @classmethod
    def of(cls, stack: StackInput) -> StackSource:
        return cls(path=str(stack.path.resolve()), name=stack.name)

    def input(self) -> StackInput:
        return StackInput(Path(self.path), self.name)


def _one_template_as_stacks(data: object) -> object:
    """A document of an earlier version named one root template, `template`: the same
    as one stack named after its file."""
    if isinstance(data, dict) and "template" in data and "stacks" not in data:
        rest = {key: value for key, value in data.items() if key != "template"}
        return {**rest, "stacks": [{"path": data["template"]}]}
    return data


class LaunchSpec(Contract):
    """What `local up` asked for, so that the daemon never needs its command line."""

    stacks: list[StackSource] = Field(min_length=1)
    image_commands: dict[str, str] = Field(default_factory=dict)
    port: int = 0

    _earlier = model_validator(mode="before")(_one_template_as_stacks)
    time_scale: float = 1.0
    # container: the images with podman; process: local commands (no podman needed).
    runtime: Literal["container", "process"] = "process"
    region: str = "us-east-1"
    # Secret values never come through this file: the daemon reads them on its stdin.
    secrets_from_aws: bool = False
    assume_task_role: bool = False
    # Values for the root template's parameters: the digest of each image `local up`
    # built (twin/cli/built_images.py), a placeholder in process mode.
    parameters: dict[str, str] = Field(default_factory=dict)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> LaunchSpec:
        return cls.model_validate_json(text)


class LocalSecretValues(Contract):
    """The secret values `local up` hands the daemon on its stdin (never on disk): keyed
    by variable name, ValueFrom, or the parameter's or secret's own name."""

    values: dict[str, str] = Field(default_factory=dict)


# ---------------------------------------------------------------- state.json


class LoadBalancerState(Contract):
    public_ips: list[str]  # none for an internal balancer
    listeners: list[int]
    # The name the VPC's resolver answers for it, inside the twin only.
    dns_names: list[str] = Field(default_factory=list)
    # Scheme internal: no public IP, no forwarder on this machine; reached from inside
    # the VPC (a task: `local exec TASK -- curl http://<dns name>/`) at its private IPs.
    internal: bool = False
    private_ips: list[str] = Field(default_factory=list)
    # An internal balancer's URL by its DNS name and primary listener: what a task opens.
    vpc_url: str | None = None


class ServiceSummary(Contract):
    """The first service's counts: the stable `service` key for one-service templates."""

    desired: int
    running: int
    revision: int


class ContainerStatus(Contract):
    """One container of a task, as DescribeTasks shows it."""

    name: str
    runtime_id: str  # the podman container's name, or the process label
    image: str
    last_status: str  # PENDING, RUNNING, STOPPED
    health: str  # HEALTHY, UNHEALTHY, STARTING, UNKNOWN
    exit_code: int | None
    reason: str
    essential: bool


class TaskSummary(Contract):
    """A task in the documented stable shape of `local status --json`."""

    id: str
    private_ip: str
    subnet: str
    az: str
    health: str
    revision: int


class TaskState(TaskSummary):
    """A task in state.json: the stable keys, then the rest."""

    last_status: str
    service: str
    # The task's healthStatus from its containers' health checks.
    container_health: str = "UNKNOWN"
    containers: list[ContainerStatus] = Field(default_factory=list)


class DeploymentState(Contract):
    id: str
    status: str
    revision: int
    rollout_state: str
    reason: str
    failed_tasks: int
    running: int
    healthy: int
    # What ECS's DescribeServiceDeployments shows of a deployment.
    strategy: str = "ROLLING"
    outcome: str = "IN_PROGRESS"  # SUCCESSFUL, STOPPED, ROLLBACK_IN_PROGRESS, ...
    lifecycle_stage: str | None = None  # traffic-shifting deployments only
    production_percent: float | None = None  # the revision's share of production traffic
    test_percent: float | None = None
    target_groups: list[str] = Field(default_factory=list)
    triggered_alarms: list[str] = Field(default_factory=list)


class AlarmStatus(Contract):
    """A CloudWatch alarm the twin evaluates from HAProxy's counters."""

    key: str
    name: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA
    reason: str = ""


class AutoscalingState(Contract):
    min: int
    max: int
    requests_per_target: float
    last_metric: float | None


class ServiceState(Contract):
    key: str
    name: str
    desired: int
    running: int
    revision: int
    load_balanced: bool
    autoscaling: AutoscalingState | None
    deployments: list[DeploymentState]
    strategy: str = "ROLLING"
    alarms: list[AlarmStatus] = Field(default_factory=list)


class StoppedTask(Contract):
    id: str
    reason: str
    exit_codes: dict[str, int]
    container_reasons: dict[str, str] = Field(default_factory=dict)


class Notice(Contract):
    resource: str
    type: str
    reason: str


Phase = Literal["building", "starting-tasks", "running", "stopping", "stopped", "failed", "dead"]

PartHealth = Literal["ok", "restarting", "failed"]


class PartStatus(Contract):
    """One long-running part of the twin under the daemon's supervision (HAProxy, a NAT
    gateway, the internet gateway, the echo service, a forwarder, a resolver, the task
    endpoints): `failed` when the latest restore did not work, with why; the daemon keeps
    retrying it while the rest of the twin runs."""

    name: str  # e.g. "haproxy ServiceLoadBalancer", "nat-gateway us-east-1a", "forwarder :80"
    kind: str  # haproxy, nat-gateway, internet-gateway, echo, forwarder, resolver, endpoints
    health: PartHealth
    restarts: int = 0
    reason: str = ""  # the latest crash or failed restore; empty while it never failed
    last_restart: float | None = None  # epoch seconds


FaultAction = Literal[
    "az-outage",
    "task-kill",
    "network-latency",
    "network-blackhole",
    "cpu-stress",
    "nat-gateway-loss",
]


class ActiveFault(Contract):
    """A fault `local fault` injected, named after the AWS FIS action it imitates, as
    long as it lasts; it heals by itself at `ends_at`, or on `local fault --clear`."""

    id: str  # "f1", "f2", ... within one twin
    action: FaultAction
    fis_action: str  # e.g. "aws:ecs:task-network-latency"
    target: str  # what it hit, for humans: "us-east-1a", "task 1a2b3c4d", "service api"
    az: str | None = None
    tasks: list[str] = Field(default_factory=list)
    started_at: float  # epoch seconds
    ends_at: float | None = None  # None: nothing to heal (task-kill: ECS replaces it)
    did: str  # what the twin did
    heals: str  # how and when it heals
    path: str | None = None  # network-latency: "netem" or "user-space proxy"


class TwinState(Contract):
    """state.json. A daemon that failed before it had a twin writes only name, phase and
    error, hence the defaults."""

    name: str
    url: str | None = None
    load_balancer: LoadBalancerState | None = None
    egress_ips: list[str] = Field(default_factory=list)
    internet_echo_url: str | None = None
    service: ServiceSummary | None = None
    tasks: list[TaskState] = Field(default_factory=list)
    # Beyond the stable shape: for humans and for `local up`'s progress.
    phase: Phase
    ready: bool = False
    error: str | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    services: list[ServiceState] = Field(default_factory=list)
    stopped_tasks: list[StoppedTask] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    stop_timeout: float = 0.0
    updated_at: float = 0.0
    runtime: Literal["container", "process"] | None = None
    # The podman settings of a container-mode twin, for `local exec` and `down`.
    containers_conf: str | None = None
    # The custom domains' URLs, as a client on the twin's internet opens them
    # (`local exec --internet -- curl URL`), and the twin's CA that signed the HTTPS
    # listeners' certificates: the CA alone, and the system's CAs with it (what
    # `local exec --internet` hands curl, OpenSSL and requests).
    domain_urls: list[str] = Field(default_factory=list)
    ca_file: str | None = None
    ca_bundle: str | None = None
    # The supervised parts with their health and restarts, the faults in force, and the
    # AZs the twin's subnets are in (what `local fault az-outage` accepts).
    parts: list[PartStatus] = Field(default_factory=list)
    faults: list[ActiveFault] = Field(default_factory=list)
    availability_zones: list[str] = Field(default_factory=list)
    # Every load balancer, internet-facing and internal; `load_balancer` is the first
    # internet-facing one (the one `url` leads to), else the first.
    load_balancers: list[LoadBalancerState] = Field(default_factory=list)


# ---------------------------------------------------------------- local status --json


class TwinStatusReport(Contract):
    """`local status --json` and `local up --json`: the documented stable keys first
    (tasks reduced to theirs), then the rest of state.json, tasks in full as
    `tasks_detail`."""

    name: str
    url: str | None
    load_balancer: LoadBalancerState | None
    egress_ips: list[str]
    internet_echo_url: str | None
    service: ServiceSummary | None
    tasks: list[TaskSummary]
    phase: Phase
    ready: bool
    error: str | None
    ports: dict[str, int]
    services: list[ServiceState]
    stopped_tasks: list[StoppedTask]
    events: list[str]
    notices: list[Notice]
    stop_timeout: float
    updated_at: float
    runtime: Literal["container", "process"] | None
    containers_conf: str | None
    domain_urls: list[str]
    ca_file: str | None
    ca_bundle: str | None
    parts: list[PartStatus]
    faults: list[ActiveFault]
    availability_zones: list[str]
    load_balancers: list[LoadBalancerState]
    tasks_detail: list[TaskState]

    @classmethod
    def of(cls, state: TwinState) -> TwinStatusReport:
        fields = state.model_dump()
        fields["tasks"] = [
            TaskSummary.model_validate(task, from_attributes=True) for task in state.tasks
        ]
        return cls(**fields, tasks_detail=list(state.tasks))


# ---------------------------------------------------------------- request.json / answer.json


class DeployRequest(Contract):
    """`local deploy`: roll the services to the task definitions of these templates."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["deploy"]
    id: str = Field(min_length=1)
    stacks: list[StackSource] = Field(min_length=1)
    _earlier = model_validator(mode="before")(_one_template_as_stacks)
    image_commands: dict[str, str] = Field(default_factory=dict)
    # Values for the root template's parameters (the digests of the images `local deploy`
    # built); they replace those `local up` passed, as the templates may have changed.
    parameters: dict[str, str] = Field(default_factory=dict)
    # Only this service (name or key): the others keep their revisions and counts, as
    # an `aws ecs update-service` of one service leaves the rest alone.
    service: str | None = None


class ScaleRequest(Contract):
    """`local scale`: a new desired count; `service` may be omitted with one service."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["scale"]
    id: str = Field(min_length=1)
    service: str | None = None
    desired: Annotated[StrictInt, Field(ge=0)]


class RollbackRequest(Contract):
    """`local rollback`: stop the deployment in progress and go back, as ECS's
    StopServiceDeployment with stopType ROLLBACK does."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["rollback"]
    id: str = Field(min_length=1)
    service: str | None = None


class FaultRequest(Contract):
    """`local fault ACTION ...`: inject one fault. Which fields matter depends on the
    action (twin/fis/requests.py checks them against the running twin); the daemon
    answers with the ActiveFault, or `ok: false` and the valid values."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["fault"]
    id: str = Field(min_length=1)
    action: FaultAction
    duration: float | None = None  # seconds; task-kill has none
    az: str | None = None
    task: str | None = None  # a task id or a unique prefix of one
    service: str | None = None
    percent: int | None = None  # task-kill: share of the tasks; cpu-stress: CPU load
    ms: int | None = None  # network-latency: added delay
    jitter_ms: int = 0
    port: int | None = None  # network-blackhole: one port (None: every port)
    protocol: Literal["tcp", "udp"] = "tcp"
    traffic: Literal["ingress", "egress", "both"] = "both"


class ClearFaultsRequest(Contract):
    """`local fault --clear`: end every fault in force now."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["clear-faults"]
    id: str = Field(min_length=1)


TwinRequest = Annotated[
    DeployRequest | ScaleRequest | RollbackRequest | FaultRequest | ClearFaultsRequest,
    Field(discriminator="kind"),
]
REQUEST = TypeAdapter[
    DeployRequest | ScaleRequest | RollbackRequest | FaultRequest | ClearFaultsRequest
](TwinRequest)


class TwinAnswer(Contract):
    """The daemon's answer, matched to its request by id. A refused or malformed request
    is `ok: false` with the reason, and nothing changed; id is null when the request did
    not even carry one."""

    id: str | None = None
    ok: bool
    error: str | None = None
    service: str | None = None  # scale: the service key it applied to
    revisions: dict[str, int] | None = None  # deploy: service key -> new revision
    fault: ActiveFault | None = None  # fault: what was injected
    cleared: list[ActiveFault] | None = None  # clear-faults: what was ended


def describe_errors(exc: ValidationError) -> str:
    """One line per problem, `field: message`, without pydantic's URLs: what a user
    reads when a file in the state folder is not the document it should be."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'document'}: {error['msg']}"
        for error in exc.errors()
    )
