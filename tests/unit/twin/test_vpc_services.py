"""The pure parts of what the twin runs inside the VPC: the load balancers' DNS names,
the task metadata document built from a plan and a running task, and the small
conversions (CPU, memory, names, Fargate's environment) the runtimes share."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.daemon.vpc_services import RunningTaskView, VpcServices, role_arn
from fargate_api.twin.ec2.addresses import ECHO_HOST
from fargate_api.twin.ecs.container_runtime import container_name, cpu_units, memory_mib
from fargate_api.twin.ecs.endpoint_contracts import EndpointContainer, EndpointPort, EndpointTask
from fargate_api.twin.ecs.service_state import TaskRecord
from fargate_api.twin.ecs.task_runtime import (
    ContainerView,
    TaskContext,
    TaskObservation,
    fargate_environment,
)
from fargate_api.twin.elbv2.names import ECHO_NAME, load_balancer_dns_name
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import ContainerHealthCheck, TaskDefinition, TwinPlan

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "default" / "parent.yml"
TASK_ID = "0123456789abcdef0123456789abcdef"
META = "5f0c4e7a9d2b4c1e8a3f6b7d9e0a1c2b"
PREFIX = "arn:aws:ecs:us-east-1:123456789012"


@pytest.fixture(scope="module")
def plan() -> TwinPlan:
    return load_plan(GOLDEN, runtime="container")


class _Running:
    """A RunningTask as the endpoint document needs it: its containers' views."""

    credentials_id = "feedface-0000-4000-8000-000000000001"

    def __init__(self, *views: ContainerView) -> None:
        self.views = list(views)

    def observe(self, now: float) -> TaskObservation:
        return TaskObservation()

    def stop(self, timeouts: object) -> dict[str, int]:
        return {}

    def remove(self) -> None:
        pass

    def containers(self) -> list[ContainerView]:
        return self.views


def _view(**changes: object) -> ContainerView:
    view = ContainerView(
        name="web", runtime_id="fa-dev-t-0123-web", image="ignored", last_status="RUNNING",
        health="UNKNOWN", exit_code=None, reason="", essential=True, metadata_id=META,
    )  # fmt: skip
    return replace(view, **changes)  # type: ignore[arg-type]


def _services(plan: TwinPlan, tmp_path: Path, region: str = "us-east-1") -> VpcServices:
    names = TwinNames("dev", state_root=tmp_path)
    return VpcServices(names, plan, StateDir(names), region=region, assume_task_role=False)


def _record(plan: TwinPlan) -> TaskRecord:
    service = plan.services[0]
    return TaskRecord(
        id=TASK_ID, service=service.key, revision=3, subnet="VpcStack/PrivateSubnetTwo",
        az="us-east-1b", ip=IPv4Address("10.0.192.4"), public_ip=None, started_at=0.0,
    )  # fmt: skip


def _task(
    plan: TwinPlan, tmp_path: Path, *views: ContainerView, definition: TaskDefinition | None = None
) -> EndpointTask:
    item = RunningTaskView(_record(plan), _Running(*views), definition or plan.task_definitions[0])
    return _services(plan, tmp_path)._task(item)


# ---------------------------------------------------------------- names


def test_load_balancer_dns_name_is_lower_case_and_shaped_like_an_albs() -> None:
    assert load_balancer_dns_name("PublicLoadBalancer", "fa1a2b", "eu-west-1") == (
        "publicloadbalancer-fa1a2b.eu-west-1.elb.amazonaws.com"
    )


@pytest.mark.parametrize(
    ("role", "arn"),
    [
        ("TaskRole", "arn:aws:iam::123456789012:role/TaskRole"),
        ("arn:aws:iam::999999999999:role/given", "arn:aws:iam::999999999999:role/given"),
        (None, None),
    ],
)
def test_role_arn(role: str | None, arn: str | None) -> None:
    assert role_arn(role) == arn


def test_static_records_name_the_load_balancer_nodes_and_the_echo_host(
    plan: TwinPlan, tmp_path: Path
) -> None:
    services = _services(plan, tmp_path)
    name = f"publicloadbalancer-{TwinNames('dev').tag}.us-east-1.elb.amazonaws.com"
    assert services.static_records() == {
        name: [IPv4Address("198.51.100.12"), IPv4Address("198.51.100.13")],  # internet-facing
        ECHO_NAME: [ECHO_HOST],
    }
    assert services.load_balancer_names() == [name]


# ---------------------------------------------------------------- the endpoint document


def test_a_task_of_the_golden_plan_in_the_endpoint_document(plan: TwinPlan, tmp_path: Path) -> None:
    task = _task(plan, tmp_path, _view())
    assert task == EndpointTask(
        task_arn=f"{PREFIX}:task/ECSCluster/{TASK_ID}",
        cluster_arn=f"{PREFIX}:cluster/ECSCluster",
        family="serverless-api-environment-web",
        revision=3,
        service_name="web",
        az="us-east-1b",
        private_ip="10.0.192.4",
        subnet_cidr="10.0.192.0/18",
        subnet_gateway="10.0.192.1",
        pull_started_at=None,  # not listed by update() yet
        pull_stopped_at=None,
        cpu=0.25,  # "256"
        memory=512,  # "512"
        task_role_arn="arn:aws:iam::123456789012:role/TaskRole",
        credentials_id=_Running.credentials_id,
        containers=[
            EndpointContainer(
                name="web",
                metadata_id=META,
                docker_id="fa-dev-t-0123-web",
                docker_name="fa-dev-t-0123-web",
                image="public.ecr.aws/docker/library/nginx:latest",  # the definition's
                known_status="RUNNING",
                exit_code=None,
                cpu=0,
                memory=None,
                ports=[EndpointPort(container_port=80)],
                health_status=None,  # no health check
                container_arn=f"{PREFIX}:container/ECSCluster/{TASK_ID}/{META}",
                log_group="LogGroup",
            )
        ],
    )
    assert task.task_id == TASK_ID and task.region == "us-east-1"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (("1024", "2048"), (1.0, 2048)),
        (("1 vCPU", "2 GB"), (1.0, 2048)),
        (("0.5 vcpu", "1gb"), (0.5, 1024)),
        ((None, None), (0.25, 512)),  # Fargate's smallest size
        (("lots", "much"), (0.25, 512)),
    ],
)
def test_task_size_from_the_definition(
    plan: TwinPlan,
    tmp_path: Path,
    size: tuple[str | None, str | None],
    expected: tuple[float, int],
) -> None:
    definition = replace(plan.task_definitions[0], cpu=size[0], memory=size[1])
    task = _task(plan, tmp_path, _view(), definition=definition)
    assert (task.cpu, task.memory) == expected


def test_a_task_without_role_has_no_role_arn(plan: TwinPlan, tmp_path: Path) -> None:
    definition = replace(plan.task_definitions[0], task_role=None)
    assert _task(plan, tmp_path, _view(), definition=definition).task_role_arn is None


def test_a_stopped_container_and_its_exit_code(plan: TwinPlan, tmp_path: Path) -> None:
    (container,) = _task(plan, tmp_path, _view(last_status="STOPPED", exit_code=137)).containers
    assert (container.known_status, container.exit_code) == ("STOPPED", 137)
    (pending,) = _task(plan, tmp_path, _view(last_status="PENDING")).containers
    assert pending.known_status == "RUNNING"


@pytest.mark.parametrize(
    ("seen", "reported"),
    [("HEALTHY", "HEALTHY"), ("UNHEALTHY", "UNHEALTHY"), ("STARTING", "UNKNOWN"),
     ("UNKNOWN", "UNKNOWN")],
)  # fmt: skip
def test_a_container_with_a_health_check_reports_its_health(
    plan: TwinPlan, tmp_path: Path, seen: str, reported: str
) -> None:
    base = plan.task_definitions[0]
    check = ContainerHealthCheck(("CMD", "true"))
    definition = replace(base, containers=(replace(base.containers[0], health_check=check),))
    (container,) = _task(plan, tmp_path, _view(health=seen), definition=definition).containers
    assert container.health_status == reported


def test_containers_without_a_metadata_id_or_view_are_left_out(
    plan: TwinPlan, tmp_path: Path
) -> None:
    assert _task(plan, tmp_path, _view(metadata_id="")).containers == []  # process mode
    assert _task(plan, tmp_path).containers == []
    assert _task(plan, tmp_path, _view(name="other")).containers == []


def test_container_size_and_ports_come_from_the_definition(plan: TwinPlan, tmp_path: Path) -> None:
    base = plan.task_definitions[0]
    web = replace(base.containers[0], cpu=128, memory=300, port_mappings=(80, 9090), log=None)
    definition = replace(base, containers=(web,))
    (container,) = _task(plan, tmp_path, _view(), definition=definition).containers
    assert (container.cpu, container.memory, container.log_group) == (128, 300, None)
    assert container.ports == [EndpointPort(container_port=80), EndpointPort(container_port=9090)]


# ---------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    ("value", "units"),
    [("256", 256), (" 512 ", 512), ("1 vCPU", 1024), ("0.25 vcpu", 256), ("2vCPU", 2048),
     ("1024.0", 1024), (None, None), ("", None), ("lots", None), ("x vcpu", None)],
)  # fmt: skip
def test_cpu_units(value: str | None, units: int | None) -> None:
    assert cpu_units(value) == units


@pytest.mark.parametrize(
    ("value", "mib"),
    [("512", 512), ("512 MB", 512), ("512mb", 512), ("1 GB", 1024), ("2gb", 2048),
     ("0.5GB", 512), (None, None), ("", None), ("much", None), ("1 GiB", None)],
)  # fmt: skip
def test_memory_mib(value: str | None, mib: int | None) -> None:
    assert memory_mib(value) == mib


def test_container_name() -> None:
    assert container_name(TwinNames("dev"), TASK_ID, "web") == f"fa-dev-t-{TASK_ID}-web"


def _context(region: str) -> TaskContext:
    return TaskContext(
        task_id=TASK_ID, family="app", revision=1, cluster="c", netns="fa-dev-t-x",
        private_ip=IPv4Address("10.0.1.23"), subnet_cidr=IPv4Network("10.0.1.0/24"),
        az=f"{region}a", region=region, dns_server=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("region", "hostname"),
    [
        ("us-east-1", "ip-10-0-1-23.ec2.internal"),
        ("eu-west-1", "ip-10-0-1-23.eu-west-1.compute.internal"),
        ("us-east-2", "ip-10-0-1-23.us-east-2.compute.internal"),
    ],
)
def test_hostname(region: str, hostname: str) -> None:
    assert _context(region).hostname == hostname


def test_fargate_environment_with_credentials() -> None:
    assert fargate_environment(_context("eu-west-1"), META, "cred-1") == {
        "ECS_CONTAINER_METADATA_URI_V4": f"http://169.254.170.2/v4/{META}",
        "ECS_CONTAINER_METADATA_URI": f"http://169.254.170.2/v3/{META}",
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/cred-1",
    }


def test_fargate_environment_without_a_task_role_has_no_credentials_uri() -> None:
    environment = fargate_environment(_context("us-east-1"), META, None)
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in environment
    assert environment["AWS_REGION"] == "us-east-1"
    assert len(environment) == 5
