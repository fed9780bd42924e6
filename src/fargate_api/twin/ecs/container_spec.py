"""One container definition as the `podman run` that creates it, the way the ECS agent would.

Kept pure (no podman, no files) so that every flag is a tested decision rather than a
side effect: the runtime decides names, paths and the namespace, this module decides how
the template's words become the container Fargate would run. Where podman's defaults
differ from Docker's on Fargate (hosts file, read-only root, capabilities, swap) the
flags below put Fargate's behaviour back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fargate_api.twin.plan.model import Container, ContainerHealthCheck

# Docker's default capability set, which Fargate keeps; podman's own default leaves these
# three out, so `ping` (NET_RAW) would work on Fargate and fail in the twin without them.
FARGATE_EXTRA_CAPABILITIES = ("AUDIT_WRITE", "MKNOD", "NET_RAW")
MINIMUM_CPU_SHARES = 2  # the kernel's (and the ECS agent's) floor for cpu.shares
HOSTS_PATH = "/etc/hosts"


@dataclass(frozen=True)
class ContainerLaunch:
    """What the runtime decides for one container, which the template cannot say."""

    name: str  # podman's container name
    netns_path: str  # the task's network namespace, e.g. /run/netns/fa-x-t-...
    hostname: str  # Fargate's awsvpc form, ip-10-0-1-23.ec2.internal
    log_path: Path  # where podman's k8s-file driver writes the container's output
    cgroup_parent: str | None = None  # the task's cgroup, so task-level limits hold
    dns_servers: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    # Variables the agent adds after the definition's Environment (they win on a clash),
    # e.g. ECS_CONTAINER_METADATA_URI_V4.
    environment: Mapping[str, str] = field(default_factory=dict)
    # Secrets, by variable name only: podman reads each value from its own environment.
    secret_names: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    volume_dirs: Mapping[str, Path] = field(default_factory=dict)  # task volume -> host folder
    # Fargate's /etc/hosts (see hosts_file_text); None keeps the image's own file.
    hosts_file: Path | None = None


def podman_run_args(container: Container, launch: ContainerLaunch) -> list[str]:
    """Everything after `podman run -d`, up to and including the image and its arguments.

    Not set on purpose: `--rm` (the twin reads the exit code after the container stops,
    as ECS reports it), `--health-*` (podman's health timers need systemd; the twin runs
    the probes itself), and `--pull` other than never (images are resolved before launch,
    so a missing image is an error now rather than a surprise download).
    """
    args = [
        "--name",
        launch.name,
        "--network",
        f"ns:{launch.netns_path}",
        "--hostname",
        launch.hostname,
        "--pull",
        "never",
    ]
    for server in launch.dns_servers:
        args += ["--dns", server]
    for domain in launch.dns_search:
        args += ["--dns-search", domain]
    # podman would otherwise copy the host machine's /etc/hosts into the container; on
    # Fargate the file holds localhost and the task's own name only.
    args.append("--no-hosts")
    if launch.hosts_file is not None:
        args += ["--mount", _bind(launch.hosts_file, HOSTS_PATH, read_only=False)]
    if launch.cgroup_parent is not None:
        # conmon (podman's per-container monitor) stays out of it: its memory and the
        # page cache of the log it writes would count against the container's limit.
        args += ["--cgroup-parent", launch.cgroup_parent, "--cgroups", "no-conmon"]
    args += ["--cap-add", ",".join(FARGATE_EXTRA_CAPABILITIES)]
    args += _resources(container)
    if container.read_only_root:
        # podman's --read-only still mounts writable tmpfs on /tmp, /run and /var/tmp;
        # Fargate does not, so a path the app writes must come from a mount point.
        args += ["--read-only", "--read-only-tmpfs=false"]
    if container.init_process:
        args.append("--init")
    if container.user is not None:
        args += ["--user", container.user]
    if container.working_directory is not None:
        args += ["--workdir", container.working_directory]
    for limit in container.ulimits:
        args += ["--ulimit", f"{limit.name}={limit.soft}:{limit.hard}"]
    args += ["--stop-timeout", str(container.stop_timeout)]
    args += _environment(container, launch)
    for key, value in launch.labels.items():
        args += ["--label", f"{key}={value}"]
    for mount in container.mount_points:
        source = launch.volume_dirs.get(mount.source_volume)
        if source is None:
            raise ValueError(
                f"container {container.name!r} mounts volume {mount.source_volume!r}, "
                "and the launch gives it no host folder"
            )
        args += ["--mount", _bind(source, mount.container_path, read_only=mount.read_only)]
    args += ["--log-driver", "k8s-file", "--log-opt", f"path={launch.log_path}"]
    if container.entry_point is not None:
        # The JSON form keeps each word as one argument; a plain string would be split.
        args += ["--entrypoint", json.dumps(list(container.entry_point))]
    args.append(container.image)
    if container.command_args is not None:
        args += container.command_args
    return args


def _resources(container: Container) -> list[str]:
    """ECS's mapping of container-level cpu and memory onto the runtime's cgroup knobs."""
    # The agent always sets cpu shares, 2 when the definition gives no (or too small) cpu.
    args = ["--cpu-shares", str(max(MINIMUM_CPU_SHARES, container.cpu or 0))]
    if container.memory is not None:
        # Fargate has no swap: the hard limit covers memory and swap together.
        limit = f"{container.memory}m"
        args += ["--memory", limit, "--memory-swap", limit]
    if container.memory_reservation is not None:
        args += ["--memory-reservation", f"{container.memory_reservation}m"]
    return args


def _environment(container: Container, launch: ContainerLaunch) -> list[str]:
    """`--env K=V` for plain values, `--env NAME` for secrets so no value is on argv
    (where `ps` shows it); a secret wins over a plain variable of the same name."""
    merged = {**container.environment, **launch.environment}
    args: list[str] = []
    for key, value in merged.items():
        if key not in launch.secret_names:
            args += ["--env", f"{key}={value}"]
    for name in launch.secret_names:
        args += ["--env", name]
    return args


def _bind(source: Path, destination: str, *, read_only: bool) -> str:
    for path in (str(source), destination):
        if "," in path:
            raise ValueError(f"{path!r} cannot be written in podman's --mount syntax")
    spec = f"type=bind,src={source},dst={destination}"
    return f"{spec},ro" if read_only else spec


def hosts_file_text(hostname: str, address: str) -> str:
    """/etc/hosts as a Fargate task sees it: localhost, and its own name on its address."""
    return (
        "127.0.0.1 localhost localhost.localdomain\n"
        "::1 localhost ip6-localhost ip6-loopback\n"
        f"{address} {hostname}\n"
    )


def health_check_exec_args(check: ContainerHealthCheck) -> list[str]:
    """The argv for `podman exec CONTAINER ...` that runs one probe.

    CMD-SHELL goes through /bin/sh -c as Docker does (extra words become $0, $1...), so
    a check written for ECS behaves the same here; CMD runs its executable directly.
    """
    kind, *rest = check.command
    if kind == "CMD-SHELL" and rest:
        return ["/bin/sh", "-c", *rest]
    if kind == "CMD" and rest:
        return list(rest)
    raise ValueError(f"health check command {list(check.command)!r} is not CMD or CMD-SHELL")
