"""Container mode: a task's containers run from their images with rootful podman, inside
the namespace the twin built for the task's ENI, as Fargate runs them.

Per task, the runtime makes a cgroup with the task's CPU and memory, and one per
container below it with the container's hard memory limit: the limit sits on a cgroup
the twin owns, so after a kill its counters still say it was the memory limit, and the
container stops with ECS's OutOfMemoryError reason (podman's own OOM flag is not
reliable with runc on cgroup v1). Each container gets Fargate's environment (the task
metadata and credentials endpoints, the region), its secrets through podman's own
environment (never a command line), Fargate's hostname and /etc/hosts, the VPC resolver
as its DNS server, and its output in a file named like its awslogs stream.

One `podman inspect` per tick reads every container of the twin; probes run on the
task agent's pool. Nothing of a task that failed to start is left behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from fargate_api.twin.ecs.container_spec import (
    ContainerLaunch,
    health_check_exec_args,
    hosts_file_text,
    podman_run_args,
)
from fargate_api.twin.ecs.process_runtime import twin_environment
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.ecs.task_agent import DriverState, HealthProbes, TaskAgent
from fargate_api.twin.ecs.task_process import log_stream_path
from fargate_api.twin.ecs.task_runtime import TaskContext, TaskLaunchError, fargate_environment
from fargate_api.twin.host.cgroups import CgroupError, TaskCgroups
from fargate_api.twin.host.podman import ContainerState, Podman, PodmanError
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import Container, ContainerHealthCheck, Runtime, TaskDefinition

MIN_PROBE_TIMEOUT = 1.0  # seconds: `podman exec` alone takes ~0.15 s
LABEL_TWIN = "fargate-api.twin"
LABEL_TASK = "fargate-api.task"


def container_name(names: TwinNames, task_id: str, container: str) -> str:
    """The podman container's name: the twin's prefix, the task id and the container."""
    return f"{names.prefix}t-{task_id}-{container}"


def cpu_units(value: str | None) -> int | None:
    """A task's Cpu ("256", "1 vCPU", "0.25 vcpu") in CPU units; None if unset/unreadable."""
    if value is None:
        return None
    text = value.strip().lower()
    try:
        if text.endswith("vcpu"):
            return int(float(text.removesuffix("vcpu").strip()) * 1024)
        return int(float(text))
    except ValueError:
        return None


def memory_mib(value: str | None) -> int | None:
    """A task's Memory ("512", "1 GB", "2gb") in MiB; None if unset/unreadable."""
    if value is None:
        return None
    text = value.strip().lower()
    try:
        if text.endswith("gb"):
            return int(float(text.removesuffix("gb").strip()) * 1024)
        return int(float(text.removesuffix("mb").strip()))
    except ValueError:
        return None


class PodmanDriver:
    def __init__(
        self,
        *,
        runtime: ContainerRuntime,
        context: TaskContext,
        definition: TaskDefinition,
        cgroups: TaskCgroups,
        secrets: Mapping[str, Mapping[str, str]],
        credentials_id: str,
        task_dir: Path,
    ) -> None:
        self.runtime = runtime
        self.context = context
        self.definition = definition
        self.cgroups = cgroups
        self.secrets = secrets
        self.credentials_id = credentials_id
        self.task_dir = task_dir
        self.started: list[str] = []

    def _name(self, container: Container) -> str:
        return container_name(self.runtime.names, self.context.task_id, container.name)

    def start(self, container: Container, metadata_id: str) -> None:
        context = self.context
        name = self._name(container)
        try:
            hosts = self.task_dir / "hosts"
            if not hosts.exists():
                hosts.write_text(hosts_file_text(context.hostname, str(context.private_ip)))
            volumes = {}
            for volume in self.definition.volumes:
                folder = self.task_dir / "volumes" / volume
                folder.mkdir(parents=True, exist_ok=True)
                folder.chmod(0o1777)  # Fargate's ephemeral volumes are writable by any user
                volumes[volume] = folder
            # The hard limit lives on the container's own cgroup (see the module's text).
            parent = self.cgroups.container_parent(container.name, container.memory)
            credentials = self.credentials_id if self.definition.task_role else None
            launch = ContainerLaunch(
                name=name,
                netns_path=f"/run/netns/{context.netns}",
                hostname=context.hostname,
                log_path=log_stream_path(self.runtime.logs_dir, container, context.task_id),
                cgroup_parent=parent,
                dns_servers=(str(context.dns_server),) if context.dns_server else (),
                environment={
                    **twin_environment(context, container),
                    **fargate_environment(context, metadata_id, credentials),
                },
                secret_names=tuple(self.secrets.get(container.name, {})),
                labels={
                    LABEL_TWIN: self.runtime.names.name,
                    LABEL_TASK: context.task_id,
                    "com.amazonaws.ecs.container-name": container.name,
                    "com.amazonaws.ecs.task-definition-family": context.family,
                    "com.amazonaws.ecs.task-definition-version": str(context.revision),
                    "com.amazonaws.ecs.cluster": context.cluster,
                },
                volume_dirs=volumes,
                hosts_file=hosts,
            )
            launch.log_path.parent.mkdir(parents=True, exist_ok=True)
            args = podman_run_args(dataclasses.replace(container, memory=None), launch)
            self.started.append(name)
            self.runtime.podman.run_detached(args, env=self.secrets.get(container.name, {}))
        except PodmanError as exc:
            raise TaskLaunchError(f"CannotStartContainerError: {container.name}: {exc}") from exc
        except (CgroupError, OSError, ValueError) as exc:
            raise TaskLaunchError(f"CannotStartContainerError: {container.name}: {exc}") from exc

    def state(self, container: Container) -> DriverState | None:
        state = self.runtime.snapshot.get(self._name(container))
        if state is None:
            return None
        if state.status in ("created", "configured", "initialized"):
            return None  # not yet started: neither running nor exited
        return DriverState(running=state.running, exit_code=state.exit_code)

    def probe(self, container: Container, check: ContainerHealthCheck) -> bool:
        timeout = max(MIN_PROBE_TIMEOUT, check.timeout * self.runtime.time_scale)
        result = self.runtime.podman.exec(
            self._name(container), health_check_exec_args(check), timeout=timeout
        )
        return result.exit_code == 0

    def memory_killed(self, container: Container) -> bool:
        try:
            return (
                self.cgroups.memory_limit_hit(container.name)
                or self.cgroups.task_memory_limit_hit()
            )
        except (CgroupError, OSError):
            return False

    def stop(self, container: Container, timeout: float) -> int | None:
        name = self._name(container)
        try:
            self.runtime.podman.stop(name, timeout)
            state = self.runtime.podman.state(name)
        except PodmanError:
            return None
        return None if state is None else state.exit_code

    def remove(self) -> None:
        try:
            self.runtime.podman.remove(self.started)
        except PodmanError:
            pass  # `down` sweeps the twin's containers by prefix
        finally:
            with contextlib.suppress(CgroupError, OSError):  # and its cgroups
                self.cgroups.remove()
            shutil.rmtree(self.task_dir, ignore_errors=True)
            self.runtime.forget(self.started)

    def runtime_id(self, container: Container) -> str:
        return self._name(container)


class ContainerRuntime:
    kind: Runtime = "container"

    def __init__(
        self,
        names: TwinNames,
        podman: Podman,
        *,
        logs_dir: Path,
        tasks_dir: Path,
        secrets: SecretResolver,
        time_scale: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.names = names
        self.podman = podman
        self.logs_dir = logs_dir
        self.tasks_dir = tasks_dir
        self.secrets = secrets
        self.time_scale = time_scale
        self.clock = clock
        self.probes = HealthProbes()
        self.snapshot: dict[str, ContainerState] = {}
        self._known: set[str] = set()

    def refresh(self) -> None:
        names = sorted(self._known)
        # On an error the last reading stays; the next tick tries again.
        with contextlib.suppress(PodmanError):
            self.snapshot = self.podman.states(names) if names else {}

    def forget(self, names: list[str]) -> None:
        self._known.difference_update(names)

    def start(self, context: TaskContext, definition: TaskDefinition) -> TaskAgent:
        values = self.secrets.for_task(definition.containers)
        cgroups = TaskCgroups(self.names.prefix.rstrip("-"), context.task_id)
        task_dir = self.tasks_dir / context.task_id
        driver: PodmanDriver | None = None
        try:
            task_dir.mkdir(parents=True, exist_ok=True)
            cgroups.create(cpu_units(definition.cpu), memory_mib(definition.memory))
            credentials_id = uuid.uuid4().hex
            driver = PodmanDriver(
                runtime=self,
                context=context,
                definition=definition,
                cgroups=cgroups,
                secrets=values,
                credentials_id=credentials_id,
                task_dir=task_dir,
            )
            agent = TaskAgent(
                definition,
                driver,
                self.probes,
                started_at=self.clock(),
                time_scale=self.time_scale,
                credentials_id=credentials_id,
            )
            self._known.update(
                container_name(self.names, context.task_id, c.name) for c in definition.containers
            )
            agent.start_ready(self.clock(), launching=True)
        except (CgroupError, OSError) as exc:
            self._undo(driver, cgroups, task_dir)
            raise TaskLaunchError(f"ResourceInitializationError: {exc}") from exc
        except BaseException:
            self._undo(driver, cgroups, task_dir)
            raise
        return agent

    def _undo(self, driver: PodmanDriver | None, cgroups: TaskCgroups, task_dir: Path) -> None:
        if driver is not None:
            driver.remove()
            return
        with contextlib.suppress(CgroupError, OSError):
            cgroups.remove()
        shutil.rmtree(task_dir, ignore_errors=True)

    def close(self) -> None:
        self.probes.close()
