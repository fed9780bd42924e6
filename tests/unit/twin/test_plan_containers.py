"""Container definitions as the container runtime needs them, and the task definitions
ECS itself would refuse, refused by the plan before anything is built."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fargate_api.config import Config
from fargate_api.config.loader import parse_config
from fargate_api.synth import synthesize, write_templates
from fargate_api.templates import MemoryReader, load_stack_set
from fargate_api.twin.plan.ecs import read_services
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import (
    ContainerDependency,
    ContainerHealthCheck,
    MountPoint,
    Notice,
    Runtime,
    SecretReference,
    TaskDefinition,
    Ulimit,
)
from fargate_api.twin.plan.reads import Index

Json = dict[str, Any]

APP: Json = {"Name": "app", "Image": "example.com/app:1", "PortMappings": [{"ContainerPort": 8080}]}


def _template(containers: list[Json], **task: Any) -> Json:
    return {
        "Resources": {
            "Sub": {"Type": "AWS::EC2::Subnet", "Properties": {"CidrBlock": "10.0.1.0/24"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Svc": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": {"Ref": "Task"},
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": [{"Ref": "Sub"}]}},
                },
            },
            "Task": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": containers, **task},
            },
        }
    }


def _read(
    containers: list[Json],
    *,
    runtime: Runtime = "container",
    image_commands: dict[str, str] | None = None,
    **task: Any,
) -> tuple[TaskDefinition, list[Notice]]:
    text = json.dumps(_template(containers, **task), indent=2)
    stack_set = load_stack_set(Path("t.json"), reader=MemoryReader({Path("t.json"): text}))
    _, (definition,), notices = read_services(
        Index(stack_set), image_commands or {}, runtime=runtime
    )
    return definition, notices


def _refused(containers: list[Json], **task: Any) -> PlanError:
    with pytest.raises(PlanError) as caught:
        _read(containers, **task)
    assert caught.value.where is not None and caught.value.where.startswith("t.json:")
    assert caught.value.fix
    return caught.value


def test_every_container_field_reaches_the_plan() -> None:
    body: Json = {
        **APP,
        "PortMappings": [{"ContainerPort": 8080}, {"ContainerPort": "9090"}],
        "EntryPoint": ["/bin/tini", "--"],
        "Command": ["serve", "--port", 8080],
        "WorkingDirectory": "/srv",
        "User": "1000:1000",
        "ReadonlyRootFilesystem": "true",
        "LinuxParameters": {"InitProcessEnabled": True},
        "Cpu": 256,
        "Memory": "512",
        "MemoryReservation": 256,
        "HealthCheck": {"Command": ["CMD-SHELL", "curl -f localhost:8080"], "Retries": 5},
        "Secrets": [{"Name": "DB_PASSWORD", "ValueFrom": "arn:aws:ssm:::parameter/db"}],
        "MountPoints": [{"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": True}],
        "Ulimits": [{"Name": "nofile", "SoftLimit": 1024, "HardLimit": "4096"}],
        "StartTimeout": 120,
        "StopTimeout": 10,
        "Essential": False,
    }
    sidecar: Json = {
        "Name": "proxy",
        "Image": "example.com/proxy:1",
        "DependsOn": [{"ContainerName": "app", "Condition": "HEALTHY"}],
    }
    definition, notices = _read(
        [body, sidecar],
        Volumes=[{"Name": "tmp"}],
        TaskRoleArn={"Fn::GetAtt": ["Role", "Arn"]},
        ExecutionRoleArn="arn:aws:iam::1:role/exec",
    )
    app, proxy = definition.containers
    assert app.command is None and app.port == 8080 and app.port_mappings == (8080, 9090)
    assert app.entry_point == ("/bin/tini", "--")
    assert app.command_args == ("serve", "--port", "8080")
    assert (app.working_directory, app.user) == ("/srv", "1000:1000")
    assert app.read_only_root and app.init_process and not app.essential
    assert (app.cpu, app.memory, app.memory_reservation) == (256, 512, 256)
    assert app.health_check == ContainerHealthCheck(
        command=("CMD-SHELL", "curl -f localhost:8080"),
        interval=30,
        timeout=5,
        retries=5,
        start_period=0,
    )
    assert app.secrets == (SecretReference("DB_PASSWORD", "arn:aws:ssm:::parameter/db"),)
    assert app.mount_points == (MountPoint("tmp", "/tmp", read_only=True),)
    assert app.ulimits == (Ulimit("nofile", 1024, 4096),)
    assert (app.start_timeout, app.stop_timeout) == (120, 10)
    assert proxy.depends_on == (ContainerDependency("app", "HEALTHY"),)
    assert proxy.entry_point is None and proxy.command_args is None
    assert not proxy.read_only_root and not proxy.init_process
    assert (proxy.cpu, proxy.memory, proxy.health_check, proxy.port_mappings) == (
        None,
        None,
        None,
        (),
    )
    assert definition.volumes == ("tmp",)
    assert definition.task_role == "Role"  # the logical id, readable until deployed
    assert definition.execution_role == "arn:aws:iam::1:role/exec"
    assert notices == []  # container mode resolves secrets: no "not fetched" notice


def test_an_empty_command_is_kept_apart_from_no_command() -> None:
    definition, _ = _read([{**APP, "Command": [], "EntryPoint": []}])
    (app,) = definition.containers
    assert (app.command_args, app.entry_point) == ((), ())


def test_health_check_timings_are_read_and_conditions_are_case_blind() -> None:
    check = {
        "Command": ["CMD", "/bin/check", "-q"],
        "Interval": 10,
        "Timeout": 2,
        "Retries": 1,
        "StartPeriod": 60,
    }
    definition, _ = _read(
        [
            {**APP, "HealthCheck": check},
            {
                "Name": "b",
                "Image": "b",
                "DependsOn": [{"ContainerName": "app", "Condition": "success"}],
            },
        ]
    )
    app, other = definition.containers
    assert app.health_check == ContainerHealthCheck(("CMD", "/bin/check", "-q"), 10, 2, 1, 60)
    assert other.depends_on == (ContainerDependency("app", "SUCCESS"),)


def test_container_mode_keeps_a_mapped_command_but_needs_none() -> None:
    mapped, _ = _read([APP], image_commands={"example.com/app:*": "serve {port}"})
    assert mapped.containers[0].command == "serve 8080"
    # No stand-in in container mode: the nginx image itself runs.
    nginx, _ = _read([{**APP, "Image": "nginx:1.27"}])
    assert nginx.containers[0].command is None


def test_process_mode_is_unchanged() -> None:
    nginx, notices = _read(
        [
            {
                **APP,
                "Image": "nginx:1.27",
                "Secrets": [{"Name": "TOKEN", "ValueFrom": "token"}],
            }
        ],
        runtime="process",
    )
    command = nginx.containers[0].command or ""
    assert "standin_server" in command and command.endswith("--port 8080")
    assert [n.reason for n in notices] == [
        "secret TOKEN of container app is not fetched by the twin; the variable is unset"
    ]
    with pytest.raises(PlanError) as caught:
        _read([APP], runtime="process")
    assert "--run" in (caught.value.fix or "")


def _synth(tmp_path: Path, config: Config) -> Path:
    write_templates(synthesize(config), tmp_path)
    return tmp_path / "parent.yml"


def test_load_plan_passes_the_runtime_through(tmp_path: Path) -> None:
    config = parse_config(
        '[service]\nimage = "example.com/api:1"\n[service.secrets]\n'
        'DB = "arn:aws:ssm:us-east-1:123456789012:parameter/db"\n'
    )
    parent = _synth(tmp_path, config)
    with pytest.raises(PlanError, match=r"example\.com/api:1"):
        load_plan(parent)
    plan = load_plan(parent, runtime="container")
    ((container,),) = [d.containers for d in plan.task_definitions]
    assert container.command is None and container.image == "example.com/api:1"
    assert container.init_process and container.read_only_root
    assert container.mount_points == (MountPoint("tmp", "/tmp"),)
    assert plan.task_definitions[0].volumes == ("tmp",)
    assert [s.name for s in container.secrets] == ["DB"]
    assert not any("is not fetched" in n.reason for n in plan.notices)
    assert plan.task_definitions[0].task_role == "TaskRole"


# ------------------------------------------------------------------ refusals


def test_a_dependency_on_an_unknown_container_is_refused() -> None:
    error = _refused([{**APP, "DependsOn": [{"ContainerName": "db", "Condition": "START"}]}])
    assert "'app' depends on 'db'" in error.what and "not a container" in error.what
    assert error.fix == "name one of 'app'"


def test_an_unknown_condition_is_refused() -> None:
    sidecar = {
        "Name": "b",
        "Image": "b",
        "DependsOn": [{"ContainerName": "app", "Condition": "READY"}],
    }
    error = _refused([APP, sidecar])
    assert "'READY'" in error.what
    assert error.fix == "use one of START, COMPLETE, SUCCESS, HEALTHY"


def test_a_missing_condition_is_refused() -> None:
    error = _refused([APP, {"Name": "b", "Image": "b", "DependsOn": [{"ContainerName": "app"}]}])
    assert "condition None" in error.what


def test_a_dependency_cycle_is_refused_naming_it() -> None:
    def on(name: str) -> list[Json]:
        return [{"ContainerName": name, "Condition": "START"}]

    error = _refused(
        [
            {**APP, "DependsOn": on("b")},
            {"Name": "b", "Image": "b", "DependsOn": on("c")},
            {"Name": "c", "Image": "c", "DependsOn": on("app")},
        ]
    )
    assert error.what.endswith("in a cycle: app -> b -> c -> app")


def test_a_container_waiting_for_itself_is_a_cycle() -> None:
    error = _refused([{**APP, "DependsOn": [{"ContainerName": "app", "Condition": "START"}]}])
    assert error.what.endswith("in a cycle: app -> app")


def test_a_healthy_dependency_needs_a_health_check() -> None:
    sidecar = {
        "Name": "b",
        "Image": "b",
        "DependsOn": [{"ContainerName": "app", "Condition": "HEALTHY"}],
    }
    error = _refused([APP, sidecar])
    assert error.what == "container 'b' waits for 'app' to be HEALTHY, but 'app' has no HealthCheck"
    assert "HealthCheck" in (error.fix or "")


def test_a_mount_of_an_undeclared_volume_is_refused() -> None:
    mount = {"SourceVolume": "data", "ContainerPath": "/data"}
    error = _refused([{**APP, "MountPoints": [mount]}], Volumes=[{"Name": "tmp"}])
    assert error.what == (
        "container 'app' mounts volume 'data', which the task definition does not declare "
        "(Volumes: tmp)"
    )
    error = _refused([{**APP, "MountPoints": [mount]}])
    assert "(Volumes: none)" in error.what


@pytest.mark.parametrize(
    "command",
    [["curl", "-f", "localhost"], ["CMD-SHELL"], ["CMD"], [], "curl -f localhost", ["NONE"]],
)
def test_a_health_check_command_ecs_does_not_run_is_refused(command: Any) -> None:
    error = _refused([{**APP, "HealthCheck": {"Command": command}}])
    assert "health check command" in error.what
    assert "CMD-SHELL" in (error.fix or "")


@pytest.mark.parametrize(
    ("key", "value", "bounds"),
    [
        ("Interval", 4, "5 to 300"),
        ("Timeout", 61, "2 to 60"),
        ("Retries", 0, "1 to 10"),
        ("StartPeriod", 301, "0 to 300"),
    ],
)
def test_health_check_timings_outside_ecs_bounds_are_refused(
    key: str, value: int, bounds: str
) -> None:
    check = {"Command": ["CMD", "true"], key: value}
    error = _refused([{**APP, "HealthCheck": check}])
    assert error.what == f"container 'app' has HealthCheck.{key} {value}; ECS accepts {bounds}"


def test_a_non_numeric_limit_is_refused() -> None:
    error = _refused([{**APP, "Memory": "lots"}])
    assert "Task.ContainerDefinitions.0.Memory must be a number" in error.what


def test_an_incomplete_ulimit_is_refused() -> None:
    error = _refused([{**APP, "Ulimits": [{"Name": "nofile", "SoftLimit": 1}]}])
    assert "Ulimits.0.HardLimit must be a number" in error.what


def test_a_secret_without_value_from_is_refused() -> None:
    error = _refused([{**APP, "Secrets": [{"Name": "TOKEN"}]}])
    assert error.what == "secret TOKEN of container 'app' has no ValueFrom"


def test_two_containers_with_one_name_are_refused() -> None:
    error = _refused([APP, copy.deepcopy(APP)])
    assert "two containers named 'app'" in error.what
