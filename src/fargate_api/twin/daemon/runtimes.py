"""Which runtime runs a twin's tasks, and how whatever it left behind is swept away.

Container mode writes the twin's own containers.conf into its state folder, so podman
runs with the settings this machine needs (runc, cgroupfs, ulimits it allows) without
reading or changing the host's podman configuration. `down` must work even when the
daemon died, so the sweep finds the twin's containers and cgroups by prefix alone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fargate_api.twin.daemon.contracts import LaunchSpec
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ecs.container_runtime import ContainerRuntime
from fargate_api.twin.ecs.process_runtime import ProcessRuntime
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.ecs.secrets_aws import AwsSecrets
from fargate_api.twin.ecs.task_runtime import TaskRuntime
from fargate_api.twin.host import cgroups
from fargate_api.twin.host.containers_conf import write_containers_conf
from fargate_api.twin.host.podman import Podman, PodmanError, podman_available
from fargate_api.twin.host.processes import (
    kill_all,
    pids_with_argument,
    pids_with_argument_prefix,
)
from fargate_api.twin.naming import TwinNames


def endpoint_server_label(names: TwinNames) -> str:
    """The word on the task endpoint server's command line that `down` finds it by."""
    return f"{names.prefix}endpoints"


CONTAINERS_CONF = "containers.conf"
TASKS_DIR = "tasks"


def containers_conf_path(state: StateDir) -> Path:
    return state.file(CONTAINERS_CONF)


def make_runtime(
    names: TwinNames, spec: LaunchSpec, state: StateDir, local_secrets: SecretResolver
) -> TaskRuntime:
    secrets = local_secrets
    if spec.secrets_from_aws:
        secrets = local_secrets.with_aws(AwsSecrets(spec.region))
    if spec.runtime == "process":
        return ProcessRuntime(names, state.logs, secrets=secrets, time_scale=spec.time_scale)
    podman = Podman(write_containers_conf(containers_conf_path(state)))
    return ContainerRuntime(
        names,
        podman,
        logs_dir=state.logs,
        tasks_dir=state.file(TASKS_DIR),
        secrets=secrets,
        time_scale=spec.time_scale,
    )


def sweep_runtime(names: TwinNames, state: StateDir) -> list[str]:
    """Removes every container and cgroup carrying the twin's prefix; what it removed."""
    removed: list[str] = []
    if podman_available() is not None:
        with tempfile.TemporaryDirectory(prefix=names.prefix) as scratch:
            conf = containers_conf_path(state)
            if not conf.exists():  # the twin's folder may be gone: don't make it again
                conf = write_containers_conf(Path(scratch) / CONTAINERS_CONF)
            podman = Podman(conf)
            try:
                leftovers = podman.names_with_prefix(names.prefix)
                podman.remove(leftovers)
                removed += [f"container {name}" for name in leftovers]
            except PodmanError:
                pass
    # The task endpoint server listens in the twin but runs outside its namespaces.
    # So do fault injection's CPU burners (twin/fis/cpu_stress.py), inside task cgroups.
    helpers = pids_with_argument(endpoint_server_label(names))
    helpers += pids_with_argument_prefix(f"{names.prefix}fis-")
    kill_all(helpers)
    removed += [f"process {pid}" for pid in helpers]
    root = names.prefix.rstrip("-")
    before = cgroups.remove_all(root)
    removed += [f"cgroup {path} (busy)" for path in before]
    return removed
