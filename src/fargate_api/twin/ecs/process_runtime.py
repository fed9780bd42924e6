"""Process mode: each container is a local shell command in its task's namespace.

For machines without podman and for quick iteration (`--run IMAGE=COMMAND`, the
config's `[local] command`, the built-in stand-in for stock web servers). The task
agent still applies the task definition's `dependsOn`, `essential` and health checks;
a health check's command runs in the task's namespace on this machine's filesystem
(there is no image), which is what `curl -f http://localhost/...` checks need.
What needs an image (limits, user, read-only root, entry point) is container mode's.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from fargate_api.twin.ec2.addresses import ECHO_HOST, ECHO_PORT
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.ecs.task_agent import DriverState, HealthProbes, TaskAgent
from fargate_api.twin.ecs.task_process import TaskProcess, TaskProcessError, log_stream_path
from fargate_api.twin.ecs.task_runtime import TaskContext, TaskLaunchError, fargate_environment
from fargate_api.twin.host import kernel as host
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import Container, ContainerHealthCheck, Runtime, TaskDefinition


def twin_environment(context: TaskContext, container: Container) -> dict[str, str]:
    """The variables the twin adds for every container, in either runtime."""
    return {
        "FA_TASK_ID": context.task_id,
        "FA_PRIVATE_IP": str(context.private_ip),
        "FA_AZ": context.az,
        "FA_REVISION": str(context.revision),
        "FA_ECHO_URL": f"http://{ECHO_HOST}:{ECHO_PORT}/",
        "ECS_CONTAINER_NAME": container.name,
        **context.environment,
    }


def probe_argv(check: ContainerHealthCheck) -> list[str]:
    """ECS's health check command as an argv: CMD-SHELL through /bin/sh -c, CMD as is."""
    kind, *rest = check.command
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)]
    return list(rest)


class ProcessDriver:
    def __init__(
        self,
        names: TwinNames,
        context: TaskContext,
        logs_dir: Path,
        secrets: Mapping[str, Mapping[str, str]],
        *,
        credentials_id: str,
        task_role: str | None,
    ) -> None:
        self.credentials_id = credentials_id
        self.task_role = task_role
        self.names = names
        self.context = context
        self.logs_dir = logs_dir
        self.secrets = secrets
        self.processes: dict[str, TaskProcess] = {}

    def start(self, container: Container, metadata_id: str) -> None:
        credentials = self.credentials_id if self.task_role else None
        environment = {
            **container.environment,
            **self.secrets.get(container.name, {}),
            **twin_environment(self.context, container),
            **fargate_environment(self.context, metadata_id, credentials),
        }
        try:
            self.processes[container.name] = TaskProcess.start(
                netns=self.context.netns,
                command=container.command or "true",
                environment=environment,
                log_path=log_stream_path(self.logs_dir, container, self.context.task_id),
                label=self.runtime_id(container),
            )
        except TaskProcessError as exc:
            raise TaskLaunchError(f"CannotStartContainerError: {exc}") from exc

    def state(self, container: Container) -> DriverState | None:
        process = self.processes.get(container.name)
        if process is None:
            return None
        code = process.poll()
        return DriverState(running=code is None, exit_code=code)

    def probe(self, container: Container, check: ContainerHealthCheck) -> bool:
        argv = host.in_netns(self.context.netns, probe_argv(check))
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=check.timeout,
                check=False,
            )
        except (subprocess.TimeoutExpired, OSError):
            return False
        return result.returncode == 0

    def memory_killed(self, container: Container) -> bool:
        return False  # process mode sets no memory limit

    def stop(self, container: Container, timeout: float) -> int | None:
        process = self.processes.get(container.name)
        return None if process is None else process.stop(timeout)

    def remove(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()

    def runtime_id(self, container: Container) -> str:
        return f"{self.names.prefix}task-{self.context.task_id[:12]}-{container.name}"


class ProcessRuntime:
    kind: Runtime = "process"

    def __init__(
        self,
        names: TwinNames,
        logs_dir: Path,
        *,
        secrets: SecretResolver,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.time_scale = time_scale
        self.names = names
        self.logs_dir = logs_dir
        self.secrets = secrets
        self.clock = clock
        self.probes = HealthProbes()

    def refresh(self) -> None:
        """Processes are polled one by one; nothing to read in bulk."""

    def start(self, context: TaskContext, definition: TaskDefinition) -> TaskAgent:
        values = self.secrets.for_task(definition.containers)
        credentials_id = uuid.uuid4().hex
        driver = ProcessDriver(
            self.names,
            context,
            self.logs_dir,
            values,
            credentials_id=credentials_id,
            task_role=definition.task_role,
        )
        agent = TaskAgent(
            definition,
            driver,
            self.probes,
            started_at=self.clock(),
            time_scale=self.time_scale,
            credentials_id=credentials_id,
        )
        try:
            agent.start_ready(self.clock(), launching=True)
        except BaseException:
            driver.remove()
            raise
        return agent

    def close(self) -> None:
        self.probes.close()
