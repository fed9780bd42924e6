"""What `local up` settles before it builds: the runtime, the secrets' local values."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.cli import container_setup
from fargate_api.twin.cli.container_setup import (
    INSTALL_PODMAN,
    RuntimeChoice,
    check_secrets,
    choose_runtime,
    local_secret_values,
)
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.plan.model import Container, SecretReference, TaskDefinition, TwinPlan

NO_PODMAN_NOTICE = (
    "podman is not installed: tasks run as local commands (process mode); for the images "
    "themselves, as root: apt-get install podman runc catatonit"
)


@pytest.fixture
def podman(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container_setup, "podman_available", lambda: "/usr/bin/podman")


@pytest.fixture
def no_podman(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container_setup, "podman_available", lambda: None)


# ---------------------------------------------------------------- the runtime


@pytest.mark.usefixtures("podman")
@pytest.mark.parametrize(
    ("requested", "run", "runtime"),
    [
        ("auto", False, "container"),
        ("auto", True, "process"),  # --run maps images to commands: process mode
        ("container", False, "container"),
        ("process", False, "process"),
        ("process", True, "process"),
    ],
)
def test_with_podman(requested: RuntimeChoice, run: bool, runtime: str) -> None:
    assert choose_runtime(requested, has_run_options=run) == (runtime, "")


@pytest.mark.usefixtures("no_podman")
def test_auto_without_podman_is_process_mode_with_a_notice_naming_apt_get() -> None:
    runtime, notice = choose_runtime("auto", has_run_options=False)
    assert (runtime, notice) == ("process", NO_PODMAN_NOTICE)
    assert "apt-get install podman" in notice and INSTALL_PODMAN in notice


@pytest.mark.usefixtures("no_podman")
@pytest.mark.parametrize(("requested", "run"), [("process", False), ("auto", True)])
def test_process_mode_without_podman_says_nothing(requested: RuntimeChoice, run: bool) -> None:
    assert choose_runtime(requested, has_run_options=run) == ("process", "")


@pytest.mark.usefixtures("no_podman")
@pytest.mark.parametrize("run", [False, True])
def test_container_mode_without_podman_is_bad_input(run: bool) -> None:
    with pytest.raises(UserError) as caught:
        choose_runtime("container", has_run_options=run)
    assert caught.value.exit_code == 2
    assert caught.value.what == "--runtime container needs podman, which is not installed"
    assert caught.value.fix == (
        f"as root: {INSTALL_PODMAN}; or run local commands with --runtime process"
    )


@pytest.mark.usefixtures("podman")
def test_container_mode_with_run_options_is_bad_input() -> None:
    with pytest.raises(UserError) as caught:
        choose_runtime("container", has_run_options=True)
    assert caught.value.exit_code == 2
    assert caught.value.what == (
        "--run maps images to local commands, which only process mode runs"
    )
    assert caught.value.fix == "drop --run to run the images, or use --runtime process"


# ---------------------------------------------------------------- local secret values


def test_a_later_source_wins_config_then_files_then_options(tmp_path: Path) -> None:
    first = tmp_path / "a.env"
    second = tmp_path / "b.env"
    first.write_text("A=file-a\nB=file-a\nC=file-a\n")
    second.write_text("B=file-b\n")
    config = {"A": "config", "B": "config", "C": "config", "D": "config"}
    values = local_secret_values(config, ["C=option"], [first, second])
    assert values == {"A": "file-a", "B": "file-b", "C": "option", "D": "config"}
    assert config["A"] == "config"  # the config's own mapping is left alone


def test_no_sources_give_the_config_only() -> None:
    assert local_secret_values({"A": "1"}, [], []) == {"A": "1"}


@pytest.mark.parametrize(("name", "strerror"), [("absent.env", "No such file or directory"),
                                                 ("folder", "Is a directory")])  # fmt: skip
def test_an_unreadable_secrets_file_is_bad_input(tmp_path: Path, name: str, strerror: str) -> None:
    (tmp_path / "folder").mkdir()
    path = tmp_path / name
    with pytest.raises(UserError) as caught:
        local_secret_values({}, [], [path])
    assert caught.value.exit_code == 2
    assert caught.value.what == f"cannot read the secrets file: {strerror}"
    assert caught.value.where == str(path)
    assert caught.value.fix == "pass an existing file of NAME=VALUE lines"


def test_a_bad_line_of_a_secrets_file_is_bad_input_without_the_value(tmp_path: Path) -> None:
    path = tmp_path / "s.env"
    path.write_text("GOOD=1\nthe-s3cr3t\n")
    with pytest.raises(UserError) as caught:
        local_secret_values({}, [], [path])
    assert caught.value.exit_code == 2
    assert caught.value.what == f"{path}:2 is not NAME=VALUE"
    assert caught.value.where == str(path)
    assert caught.value.fix == "write NAME=VALUE lines"
    assert "s3cr3t" not in caught.value.render()


def test_a_bad_secret_option_is_bad_input_without_the_value() -> None:
    with pytest.raises(UserError) as caught:
        local_secret_values({}, ["the-s3cr3t"], [])
    assert caught.value.exit_code == 2
    assert caught.value.what == "a --secret option is not NAME=VALUE"
    assert caught.value.fix == "e.g. --secret DB_PASSWORD=local-only"
    assert "s3cr3t" not in caught.value.render()


# ---------------------------------------------------------------- check_secrets

DB = SecretReference("DB_PASSWORD", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db")
API = SecretReference("API_KEY", "/prod/api")
TOKEN = SecretReference("TOKEN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCd")


def _plan(*definitions: tuple[SecretReference, ...]) -> TwinPlan:
    tasks = tuple(
        TaskDefinition(
            key=f"s/Task{i}", family=f"f{i}", cpu=None, memory=None,
            containers=(
                Container(
                    name="app", image="img", command=None, environment={}, port=None,
                    essential=True, stop_timeout=30, log=None, secrets=secrets,
                ),
            ),
        )
        for i, secrets in enumerate(definitions)
    )  # fmt: skip
    return TwinPlan(
        vpc="s/Vpc", vpc_cidr=IPv4Network("10.0.0.0/16"), subnets=(), route_tables=(),
        internet_gateway=None, nat_gateways=(), security_groups=(), load_balancers=(),
        target_groups=(), task_definitions=tasks, services=(), log_groups=(),
    )  # fmt: skip


def test_every_secret_with_a_local_value_passes() -> None:
    plan = _plan((DB, API), (TOKEN,))
    check_secrets(plan, SecretResolver({"DB_PASSWORD": "x", "prod/api": "y", "t-AbCd": "z"}))
    check_secrets(_plan(), SecretResolver({}))


def test_aws_will_be_asked_so_nothing_is_missing() -> None:
    check_secrets(_plan((DB, API), (TOKEN,)), SecretResolver({}).with_aws(lambda _: "v"))


def test_one_missing_secret_is_named_with_the_fix() -> None:
    with pytest.raises(UserError) as caught:
        check_secrets(_plan((DB, API)), SecretResolver({"API_KEY": "y"}))
    assert caught.value.exit_code == 2
    assert caught.value.what == f"secret DB_PASSWORD ({DB.value_from}) has no local value"
    assert caught.value.fix == (
        "give it with --secret DB_PASSWORD=VALUE, a --secrets-file of NAME=VALUE lines, "
        "[local.secrets] in the config, or read it from AWS with --secrets-from-aws"
    )


def test_several_missing_secrets_name_the_first_and_count_the_rest() -> None:
    with pytest.raises(UserError) as caught:
        check_secrets(_plan((API, DB), (TOKEN,)), SecretResolver({}))
    assert caught.value.what == f"secret API_KEY ({API.value_from}) has no local value, nor 2 more"
