"""What AWS runs inside every VPC for the tasks, kept current by the daemon: the
Amazon-provided DNS resolver (ec2/dns.py) and the ECS task metadata and credentials
endpoint (servers/task_endpoints.py); and, outside the VPC, the internet's resolver
that knows the twin's public names (the load balancers' and their custom domains').

The daemon knows which tasks run; these two servers must too. After every tick the
daemon hands over its tasks; the resolver's records and the endpoint server's document
are rewritten only when they changed, so a steady twin costs nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address

from fargate_api.twin.daemon.runtimes import endpoint_server_label
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ec2.dns import (
    TASK_ENDPOINT_PORT,
    InternetResolver,
    VpcResolver,
    task_records,
)
from fargate_api.twin.ecs.container_runtime import cpu_units, memory_mib
from fargate_api.twin.ecs.endpoint_contracts import (
    EndpointContainer,
    EndpointPort,
    EndpointTask,
    TaskEndpoints,
)
from fargate_api.twin.ecs.service_state import TaskRecord
from fargate_api.twin.ecs.task_runtime import ENDPOINT_ADDRESS, TWIN_ACCOUNT, RunningTask
from fargate_api.twin.elbv2.names import dns_name_of, internet_records, vpc_records
from fargate_api.twin.host.processes import kill_all
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import TaskDefinition, TwinPlan

ENDPOINTS_DOCUMENT = "task-endpoints.json"
ENDPOINTS_LOG = "task-endpoints.log"
FARGATE_DEFAULT_CPU = 0.25
FARGATE_DEFAULT_MEMORY = 512


@dataclass(frozen=True)
class RunningTaskView:
    """What the services need to know of one task."""

    record: TaskRecord
    running: RunningTask
    definition: TaskDefinition


def role_arn(role: str | None) -> str | None:
    """The template's task role: its ARN, or one made from its logical id."""
    if role is None:
        return None
    return role if role.startswith("arn:") else f"arn:aws:iam::{TWIN_ACCOUNT}:role/{role}"


class VpcServices:
    def __init__(
        self,
        names: TwinNames,
        plan: TwinPlan,
        state: StateDir,
        *,
        region: str,
        assume_task_role: bool,
    ) -> None:
        self.names = names
        self.plan = plan
        self.state = state
        self.region = region
        self.assume_task_role = assume_task_role
        self.resolver = VpcResolver(names, plan.vpc_cidr, state_dir=state.path)
        self.internet_resolver = (
            InternetResolver(names, state_dir=state.path) if plan.internet_gateway else None
        )
        self.server: subprocess.Popen[bytes] | None = None
        self._records: dict[str, list[IPv4Address]] | None = None
        self._internet_records: dict[str, list[IPv4Address]] | None = None
        self._task_records: dict[str, list[IPv4Address]] = {}
        # Addresses the resolvers leave out (failed load balancer nodes), as Route 53
        # stops answering a failed ALB node's IP.
        self._unreachable: set[IPv4Address] = set()
        self._document: str | None = None
        self._first_seen: dict[str, str] = {}  # task id -> when it was first listed

    # ------------------------------------------------------------ names
    def static_records(self) -> dict[str, list[IPv4Address]]:
        """The VPC resolver's records besides the tasks' names (elbv2/names.py)."""
        return vpc_records(self.plan, tag=self.names.tag, region=self.region)

    def internet_records(self) -> dict[str, list[IPv4Address]]:
        """The internet resolver's records: the twin's public names."""
        return internet_records(self.plan, tag=self.names.tag, region=self.region)

    def load_balancer_names(self) -> list[str]:
        return [dns_name_of(lb, self.names.tag, self.region) for lb in self.plan.load_balancers]

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """The resolver and the endpoint server, in the VPC router's namespace."""
        self.state.file(ENDPOINTS_DOCUMENT).write_text(TaskEndpoints().to_json())
        self._document = TaskEndpoints().to_json()
        self._records = self._reachable(self.static_records())
        self.resolver.start(self._records)
        if self.internet_resolver is not None:
            self._internet_records = self._reachable(self.internet_records())
            self.internet_resolver.start(self._internet_records)
        self.start_endpoints()

    def start_endpoints(self) -> None:
        """The task endpoint server (again, after a crash: it reads the same document)."""
        if self.server is not None and self.server.poll() is None:
            kill_all([self.server.pid])
        command = [
            sys.executable,
            "-m",
            "fargate_api.twin.servers.task_endpoints",
            "--document",
            str(self.state.file(ENDPOINTS_DOCUMENT)),
            "--listen",
            str(ENDPOINT_ADDRESS),
            "--port",
            str(TASK_ENDPOINT_PORT),
            "--region",
            self.region,
            "--netns",
            self.names.router,
            "--label",
            endpoint_server_label(self.names),
        ]
        if self.assume_task_role:
            command.append("--assume-task-role")
        with self.state.file(ENDPOINTS_LOG).open("ab") as log:
            # Listens in the router's namespace, runs in this one: STS stays reachable.
            self.server = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _reachable(self, records: dict[str, list[IPv4Address]]) -> dict[str, list[IPv4Address]]:
        return {
            name: [ip for ip in ips if ip not in self._unreachable] for name, ips in records.items()
        }

    def _vpc_records(self) -> dict[str, list[IPv4Address]]:
        return self._reachable({**self.static_records(), **self._task_records})

    def set_unreachable(self, ips: set[IPv4Address]) -> None:
        """The resolvers stop answering ``ips`` (and answer them again once they are no
        longer in it); both are rewritten at once."""
        self._unreachable = set(ips)
        if self._records is None:
            return  # not started: `start` applies it
        records = self._vpc_records()
        if records != self._records:
            self.resolver.update(records)
            self._records = records
        if self.internet_resolver is not None:
            internet = self._reachable(self.internet_records())
            if internet != self._internet_records:
                self.internet_resolver.update(internet)
                self._internet_records = internet

    def update(self, tasks: Sequence[RunningTaskView]) -> None:
        self._task_records = task_records((item.record.ip for item in tasks), self.region)
        records = self._vpc_records()
        if records != self._records:
            self.resolver.update(records)
            self._records = records
        for item in tasks:
            self._first_seen.setdefault(item.record.id, _now())
        live = {item.record.id for item in tasks}
        self._first_seen = {k: v for k, v in self._first_seen.items() if k in live}
        document = TaskEndpoints(tasks=[self._task(item) for item in tasks]).to_json()
        if document != self._document:
            path = self.state.file(ENDPOINTS_DOCUMENT)
            scratch = path.with_name(f".{path.name}.tmp")
            scratch.write_text(document)
            scratch.replace(path)  # the server never reads half a document
            self._document = document

    def dead(self) -> str | None:
        if self.server is not None and self.server.poll() is not None:
            return f"the task endpoint server exited ({self.server.returncode})"
        if self.resolver.pid() is None and self._records is not None:
            return "the VPC resolver (dnsmasq) exited"
        if (
            self.internet_resolver is not None
            and self._records is not None
            and self.internet_resolver.pid() is None
        ):
            return "the internet's resolver (dnsmasq) exited"
        return None

    # ------------------------------------------------------------ supervision
    def endpoints_problem(self) -> str | None:
        if self.server is not None and self.server.poll() is not None:
            return f"exited ({self.server.returncode})"
        return None

    def resolver_problem(self) -> str | None:
        if self._records is not None and self.resolver.pid() is None:
            return "exited"
        return None

    def internet_resolver_problem(self) -> str | None:
        if (
            self.internet_resolver is not None
            and self._internet_records is not None
            and self.internet_resolver.pid() is None
        ):
            return "exited"
        return None

    def restart_resolver(self) -> str:
        records = self._vpc_records()
        self.resolver.restart(records)
        self._records = records
        return f"with {sum(len(ips) for ips in records.values())} records"

    def restart_internet_resolver(self) -> str | None:
        if self.internet_resolver is None:
            return None
        records = self._reachable(self.internet_records())
        self.internet_resolver.restart(records)
        self._internet_records = records
        return f"with {sum(len(ips) for ips in records.values())} records"

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            kill_all([self.server.pid])  # SIGTERM, SIGKILL if need be; reaps it
        self.resolver.stop()
        if self.internet_resolver is not None:
            self.internet_resolver.stop()

    # ------------------------------------------------------------ the document
    def _task(self, item: RunningTaskView) -> EndpointTask:
        task, definition = item.record, item.definition
        subnet = self.plan.subnet(task.subnet)
        service = next((s for s in self.plan.services if s.key == task.service), None)
        cluster = service.cluster if service else "default"
        prefix = f"arn:aws:ecs:{self.region}:{TWIN_ACCOUNT}"
        views = {view.name: view for view in item.running.containers()}
        containers = []
        for container in definition.containers:
            view = views.get(container.name)
            if view is None or not view.metadata_id:
                continue
            status = "STOPPED" if view.last_status == "STOPPED" else "RUNNING"
            health = view.health if view.health in ("HEALTHY", "UNHEALTHY") else None
            if container.health_check is not None and health is None:
                health = "UNKNOWN"
            containers.append(
                EndpointContainer(
                    name=container.name,
                    metadata_id=view.metadata_id,
                    docker_id=view.runtime_id,
                    docker_name=view.runtime_id,
                    image=container.image,
                    known_status=status,
                    exit_code=view.exit_code,
                    cpu=container.cpu or 0,
                    memory=container.memory,
                    ports=[EndpointPort(container_port=p) for p in container.port_mappings],
                    health_status=health,
                    container_arn=f"{prefix}:container/{cluster}/{task.id}/{view.metadata_id}",
                    log_group=container.log.group if container.log else None,
                )
            )
        units = cpu_units(definition.cpu)
        return EndpointTask(
            task_arn=f"{prefix}:task/{cluster}/{task.id}",
            cluster_arn=f"{prefix}:cluster/{cluster}",
            family=definition.family,
            revision=task.revision,
            service_name=service.name if service else None,
            az=task.az,
            private_ip=str(task.ip),
            subnet_cidr=str(subnet.cidr),
            subnet_gateway=str(subnet.gateway),
            pull_started_at=self._first_seen.get(task.id),
            pull_stopped_at=self._first_seen.get(task.id),
            cpu=units / 1024 if units else FARGATE_DEFAULT_CPU,
            memory=memory_mib(definition.memory) or FARGATE_DEFAULT_MEMORY,
            task_role_arn=role_arn(definition.task_role),
            credentials_id=item.running.credentials_id,
            containers=containers,
        )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
