"""A container definition as the exact `podman run` arguments the ECS agent's would be."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from fargate_api.twin.ecs.container_spec import (
    ContainerLaunch,
    health_check_exec_args,
    hosts_file_text,
    podman_run_args,
)
from fargate_api.twin.plan.model import (
    Container,
    ContainerHealthCheck,
    MountPoint,
    Ulimit,
)

PLAIN = Container(
    name="app",
    image="example.com/app:1",
    command=None,
    environment={},
    port=8080,
    essential=True,
    stop_timeout=30,
    log=None,
)
LAUNCH = ContainerLaunch(
    name="fa-x-t-0123-app",
    netns_path="/run/netns/fa-x-t-0123",
    hostname="ip-10-0-1-23.ec2.internal",
    log_path=Path("/var/log/fa/app.log"),
)
BASE = [
    "--name",
    "fa-x-t-0123-app",
    "--network",
    "ns:/run/netns/fa-x-t-0123",
    "--hostname",
    "ip-10-0-1-23.ec2.internal",
    "--pull",
    "never",
    "--no-hosts",
    "--cap-add",
    "AUDIT_WRITE,MKNOD,NET_RAW",
    "--cpu-shares",
    "2",
    "--stop-timeout",
    "30",
    "--log-driver",
    "k8s-file",
    "--log-opt",
    "path=/var/log/fa/app.log",
    "example.com/app:1",
]


def test_a_bare_definition_runs_the_image_as_is() -> None:
    assert podman_run_args(PLAIN, LAUNCH) == BASE


def test_everything_a_definition_and_the_launch_say() -> None:
    container = replace(
        PLAIN,
        environment={"MODE": "prod", "SHARED": "from-definition", "TOKEN": "plain"},
        entry_point=("/bin/tini", "--"),
        command_args=("serve", "--port", "8080"),
        working_directory="/srv",
        user="1000:1000",
        read_only_root=True,
        init_process=True,
        cpu=512,
        memory=1024,
        memory_reservation=256,
        mount_points=(
            MountPoint("tmp", "/tmp"),
            MountPoint("config", "/etc/app", read_only=True),
        ),
        ulimits=(Ulimit("nofile", 1024, 4096),),
        stop_timeout=10,
    )
    launch = replace(
        LAUNCH,
        cgroup_parent="fa.slice/task.slice",
        dns_servers=("10.0.0.2", "10.0.0.3"),
        dns_search=("ec2.internal",),
        environment={
            "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x",
            "SHARED": "agent",
        },
        secret_names=("TOKEN", "DB_PASSWORD"),
        labels={"fargate-api.task": "0123", "fargate-api.container": "app"},
        volume_dirs={"tmp": Path("/var/lib/fa/v/tmp"), "config": Path("/var/lib/fa/v/config")},
        hosts_file=Path("/var/lib/fa/hosts"),
    )
    assert podman_run_args(container, launch) == [
        "--name",
        "fa-x-t-0123-app",
        "--network",
        "ns:/run/netns/fa-x-t-0123",
        "--hostname",
        "ip-10-0-1-23.ec2.internal",
        "--pull",
        "never",
        "--dns",
        "10.0.0.2",
        "--dns",
        "10.0.0.3",
        "--dns-search",
        "ec2.internal",
        "--no-hosts",
        "--mount",
        "type=bind,src=/var/lib/fa/hosts,dst=/etc/hosts",
        "--cgroup-parent",
        "fa.slice/task.slice",
        "--cgroups",
        "no-conmon",
        "--cap-add",
        "AUDIT_WRITE,MKNOD,NET_RAW",
        "--cpu-shares",
        "512",
        "--memory",
        "1024m",
        "--memory-swap",
        "1024m",
        "--memory-reservation",
        "256m",
        "--read-only",
        "--read-only-tmpfs=false",
        "--init",
        "--user",
        "1000:1000",
        "--workdir",
        "/srv",
        "--ulimit",
        "nofile=1024:4096",
        "--stop-timeout",
        "10",
        "--env",
        "MODE=prod",
        "--env",
        "SHARED=agent",
        "--env",
        "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x",
        "--env",
        "TOKEN",
        "--env",
        "DB_PASSWORD",
        "--label",
        "fargate-api.task=0123",
        "--label",
        "fargate-api.container=app",
        "--mount",
        "type=bind,src=/var/lib/fa/v/tmp,dst=/tmp",
        "--mount",
        "type=bind,src=/var/lib/fa/v/config,dst=/etc/app,ro",
        "--log-driver",
        "k8s-file",
        "--log-opt",
        "path=/var/log/fa/app.log",
        "--entrypoint",
        '["/bin/tini", "--"]',
        "example.com/app:1",
        "serve",
        "--port",
        "8080",
    ]


def test_no_secret_value_ever_reaches_the_command_line() -> None:
    container = replace(PLAIN, environment={"TOKEN": "s3cr3t-from-definition"})
    args = podman_run_args(container, replace(LAUNCH, secret_names=("TOKEN",)))
    assert not any("s3cr3t" in a for a in args)
    assert args.count("TOKEN") == 1 and args[args.index("TOKEN") - 1] == "--env"


def test_an_entry_point_keeps_each_word_whole() -> None:
    container = replace(PLAIN, entry_point=("sh", "-c", "exec app --name 'a b'"))
    args = podman_run_args(container, LAUNCH)
    assert json.loads(args[args.index("--entrypoint") + 1]) == ["sh", "-c", "exec app --name 'a b'"]


def test_an_empty_command_is_passed_as_no_arguments() -> None:
    args = podman_run_args(replace(PLAIN, command_args=(), entry_point=()), LAUNCH)
    assert args[-1] == "example.com/app:1"
    assert args[args.index("--entrypoint") + 1] == "[]"


@pytest.mark.parametrize(
    ("cpu", "shares"), [(None, "2"), (0, "2"), (1, "2"), (2, "2"), (1024, "1024")]
)
def test_cpu_units_become_shares_with_the_agents_floor(cpu: int | None, shares: str) -> None:
    args = podman_run_args(replace(PLAIN, cpu=cpu), LAUNCH)
    assert args[args.index("--cpu-shares") + 1] == shares


def test_a_reservation_alone_sets_no_hard_limit() -> None:
    args = podman_run_args(replace(PLAIN, memory_reservation=128), LAUNCH)
    assert "--memory" not in args and "--memory-swap" not in args
    assert args[args.index("--memory-reservation") + 1] == "128m"


def test_a_writable_root_is_not_made_read_only() -> None:
    args = podman_run_args(replace(PLAIN, read_only_root=False), LAUNCH)
    assert "--read-only" not in args and "--read-only-tmpfs=false" not in args


def test_never_removed_on_exit_and_no_podman_health_timers() -> None:
    check = ContainerHealthCheck(("CMD", "true"))
    args = podman_run_args(replace(PLAIN, health_check=check), LAUNCH)
    assert "--rm" not in args
    assert not any(a.startswith("--health") for a in args)


def test_a_mount_without_a_host_folder_is_a_programming_error() -> None:
    container = replace(PLAIN, mount_points=(MountPoint("data", "/data"),))
    with pytest.raises(ValueError, match="'data'"):
        podman_run_args(container, LAUNCH)


def test_a_path_podman_cannot_parse_is_refused() -> None:
    container = replace(PLAIN, mount_points=(MountPoint("data", "/a,b"),))
    with pytest.raises(ValueError, match="--mount syntax"):
        podman_run_args(container, replace(LAUNCH, volume_dirs={"data": Path("/v")}))


def test_hosts_file_holds_localhost_and_the_tasks_own_name() -> None:
    assert hosts_file_text("ip-10-0-1-23.ec2.internal", "10.0.1.23") == (
        "127.0.0.1 localhost localhost.localdomain\n"
        "::1 localhost ip6-localhost ip6-loopback\n"
        "10.0.1.23 ip-10-0-1-23.ec2.internal\n"
    )


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        (
            ("CMD-SHELL", "curl -f localhost || exit 1"),
            ["/bin/sh", "-c", "curl -f localhost || exit 1"],
        ),
        (("CMD", "/bin/check", "--quick"), ["/bin/check", "--quick"]),
        (("CMD-SHELL", "echo $0", "zero"), ["/bin/sh", "-c", "echo $0", "zero"]),
    ],
)
def test_health_check_exec_args(command: tuple[str, ...], argv: list[str]) -> None:
    assert health_check_exec_args(ContainerHealthCheck(command)) == argv


@pytest.mark.parametrize("command", [("CMD",), ("CMD-SHELL",), ("NONE",), ("curl", "x")])
def test_a_health_check_command_that_cannot_run_is_refused(command: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="CMD or CMD-SHELL"):
        health_check_exec_args(ContainerHealthCheck(command))
