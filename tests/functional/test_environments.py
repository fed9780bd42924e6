"""Environments through the real CLI: --env on the commands, `config --env` with each
value's source, `diff --env A --env B` without AWS, and the mistakes that exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fargate_api.config.view import ConfigView
from fargate_api.synth.environment_diff import EnvironmentDiff
from functional.support import REPO, cli_env, describe_run, load_template, run_cli

SCHEMAS = REPO / "docs" / "schemas"

# Lines: 1 name, 3 [service], 4 cpu, 5 memory, 7 [env.staging.service], 8 desired_count,
# 10 [env.production.service], 11 cpu, 12 memory, 13 desired_count.
SHOP = """\
name = "shop"

[service]
cpu = 256
memory = 512

[env.staging.service]
desired_count = 1

[env.production.service]
cpu = 1024
memory = 2048
desired_count = 4
"""

# Any AWS call fails fast: no credentials, and every endpoint is a closed loopback port.
NO_AWS = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop.toml").write_text(SHOP, encoding="utf-8")
    return tmp_path


def test_synth_env_names_everything_after_the_environment(shop: Path) -> None:
    result = run_cli("synth", "-c", "shop.toml", "--env", "production", "-o", "out", cwd=shop)
    assert result.returncode == 0, describe_run(result)
    parent = load_template(shop / "out" / "parent.yml")
    assert parent["Description"].startswith("shop-production: "), parent["Description"]
    vpc = load_template(shop / "out" / "vpc.yml")
    tags = vpc["Resources"]["VPC"]["Properties"]["Tags"]
    assert {"Key": "Name", "Value": "shop-production-vpc"} in tags
    service = load_template(shop / "out" / "service.yml")
    assert service["Parameters"]["ContainerCpu"]["Default"] == 1024
    assert service["Parameters"]["DesiredCount"]["Default"] == 4
    # The folder does not say which environment it holds: the hint names the stacks.
    assert "--stack-name shop-production" in result.stderr, describe_run(result)


def test_synth_without_env_uses_the_base(shop: Path) -> None:
    result = run_cli("synth", "-c", "shop.toml", "-o", "out", cwd=shop)
    assert result.returncode == 0, describe_run(result)
    assert load_template(shop / "out" / "parent.yml")["Description"].startswith("shop: ")
    service = load_template(shop / "out" / "service.yml")
    assert service["Parameters"]["DesiredCount"]["Default"] == 2


def test_config_env_shows_each_values_source(shop: Path) -> None:
    result = run_cli("config", "-c", "shop.toml", "--env", "production", cwd=shop)
    assert result.returncode == 0, describe_run(result)
    lines = {" ".join(line.split()) for line in result.stdout.splitlines()}
    assert 'name = "shop-production" # --env' in lines, result.stdout
    assert 'environment = "production" # --env' in lines, result.stdout
    assert "[service]" in lines
    assert "cpu = 1024 # env.production" in lines, result.stdout
    assert "desired_count = 4 # env.production" in lines, result.stdout
    assert "port = 80 # default" in lines, result.stdout
    staging = run_cli("config", "-c", "shop.toml", "--env", "staging", cwd=shop)
    assert "  cpu = 256 " in staging.stdout and "# base" in staging.stdout, describe_run(staging)


def test_config_env_json_is_the_typed_view(shop: Path) -> None:
    result = run_cli("config", "-c", "shop.toml", "--env", "production", "--json", cwd=shop)
    assert result.returncode == 0, describe_run(result)
    data = json.loads(result.stdout)
    schema = json.loads((SCHEMAS / "config-view.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    view = ConfigView.model_validate(data)
    assert (view.environment, view.environments) == ("production", ["production", "staging"])
    assert view.file == "shop.toml"
    assert view.values["service.cpu"].model_dump() == {"value": 1024, "source": "env.production"}
    assert view.values["service.memory"].source == "env.production"
    assert view.values["name"].model_dump() == {"value": "shop-production", "source": "--env"}
    assert view.values["network.nat"].model_dump() == {"value": "per-az", "source": "default"}


def test_config_json_without_env_is_the_config_itself(shop: Path) -> None:
    result = run_cli("config", "-c", "shop.toml", "--json", cwd=shop)
    assert result.returncode == 0, describe_run(result)
    data = json.loads(result.stdout)
    assert (data["name"], data["environment"], data["service"]["cpu"]) == ("shop", None, 256)


def test_diff_of_two_environments_is_a_local_unified_diff(shop: Path) -> None:
    result = run_cli(
        "diff", "-c", "shop.toml", "--env", "staging", "--env", "production",
        cwd=shop, env=cli_env(**NO_AWS),
    )  # fmt: skip
    assert result.returncode == 0, describe_run(result)
    out = result.stdout
    assert "--- a/service.yml (staging)\n+++ b/service.yml (production)\n" in out, out
    assert "-    Default: 256\n+    Default: 1024\n" in out, out
    assert "--- a/vpc.yml (staging)" in out  # the names differ: shop-staging-vpc
    assert "-        Value: shop-staging-vpc\n+        Value: shop-production-vpc\n" in out
    assert "staging -> production:" in result.stderr and "templates differ" in result.stderr
    assert result.stderr.count("\n") == 1, describe_run(result)


def test_diff_of_two_environments_as_json(shop: Path) -> None:
    result = run_cli(
        "diff", "-c", "shop.toml", "--env", "staging", "--env", "production", "--json",
        cwd=shop, env=cli_env(**NO_AWS),
    )  # fmt: skip
    assert result.returncode == 0, describe_run(result)
    data = json.loads(result.stdout)
    schema = json.loads((SCHEMAS / "environment-diff.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    diff = EnvironmentDiff.model_validate(data)
    assert (diff.first, diff.second) == ("staging", "production")
    changed = {item.file: item for item in diff.changed}
    assert "service.yml" in changed and "parent.yml" in changed
    assert changed["service.yml"].only_in is None
    assert "+    Default: 1024" in changed["service.yml"].diff
    assert set(changed) | set(diff.unchanged) >= {"vpc.yml", "cluster.yml", "parent.yml"}


def test_diff_of_environments_that_differ_in_their_name_only(tmp_path: Path) -> None:
    """Two environments with the same name and keys: only parent.yml's Environment output
    tells them apart, and only it is shown."""
    (tmp_path / "c.toml").write_text(
        '[env.a]\nname = "same"\n[env.b]\nname = "same"\n', encoding="utf-8"
    )
    result = run_cli(
        "diff", "-c", "c.toml", "--env", "a", "--env", "b", cwd=tmp_path, env=cli_env(**NO_AWS)
    )
    assert result.returncode == 0, describe_run(result)
    assert result.stdout.startswith("--- a/parent.yml (a)\n+++ b/parent.yml (b)\n")
    assert result.stdout.count("--- a/") == 1, result.stdout
    assert "a -> b: 1 of 4 templates differ (parent.yml)" in result.stderr, describe_run(result)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--env", "a", "--env", "b", "--env", "c"], "--env is given 3 times"),
        (["--env", "staging", "--env", "staging"], "--env staging is given twice"),
        (["--env", "staging", "--env", "production", "--templates", "out"], "alternatives"),
        (["--env", "staging", "--env", "prod"], "unknown environment 'prod'"),
    ],
)
def test_diff_env_mistakes_exit_2(shop: Path, args: list[str], says: str) -> None:
    result = run_cli("diff", "-c", "shop.toml", *args, cwd=shop, env=cli_env(**NO_AWS))
    assert result.returncode == 2, describe_run(result)
    assert says in result.stderr, describe_run(result)
    assert result.stdout == ""


# Each command reads the config before anything else (AWS, builders, cfn-lint).
COMMANDS = {
    "synth": ["synth", "-o", "out"],
    "config": ["config"],
    "check": ["check"],
    "build": ["build"],
    "cost": ["cost"],
    "diagram": ["diagram", "-o", "d.png"],
    "deploy": ["deploy", "--yes"],
    "diff": ["diff"],
    "status": ["status"],
    "outputs": ["outputs"],
    "logs": ["logs"],
    "rollback": ["rollback"],
    "destroy": ["destroy", "--yes"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_unknown_environment_exits_2_and_lists_the_known_ones(shop: Path, command: str) -> None:
    result = run_cli(
        *COMMANDS[command], "-c", "shop.toml", "--env", "prod", cwd=shop, env=cli_env(**NO_AWS)
    )
    assert result.returncode == 2, describe_run(result)
    assert "unknown environment 'prod'; known: production, staging" in result.stderr, describe_run(
        result
    )
    assert result.stdout == "", describe_run(result)


def test_env_without_a_config_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("synth", "--env", "staging", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert "there is no config file" in result.stderr, describe_run(result)
    assert not (tmp_path / "out").exists()


def test_env_of_a_config_without_env_tables_exits_2(tmp_path: Path) -> None:
    (tmp_path / "fargate-api.toml").write_text('name = "shop"\n', encoding="utf-8")
    result = run_cli("config", "--env", "staging", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert "this config defines no [env.*] tables" in result.stderr, describe_run(result)


def test_environment_key_in_the_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('name = "shop"\nenvironment = "production"\n')
    result = run_cli("synth", "-c", "c.toml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert "c.toml:2: environment is set by --env, not in the file" in result.stderr, describe_run(
        result
    )


def test_a_broken_environment_fails_without_env(shop: Path) -> None:
    text = SHOP.replace("desired_count = 1", "cpu = 3")
    (shop / "shop.toml").write_text(text, encoding="utf-8")
    result = run_cli("synth", "-c", "shop.toml", "-o", "out", cwd=shop)
    assert result.returncode == 2, describe_run(result)
    assert "shop.toml:8: [env.staging.service] cpu = 3: 3 is not a Fargate CPU size" in (
        result.stderr
    ), describe_run(result)


def test_check_env_checks_the_environments_templates(shop: Path) -> None:
    result = run_cli("check", "-c", "shop.toml", "--env", "production", cwd=shop)
    assert result.returncode in (0, 1), describe_run(result)
    assert "synthesized from shop.toml, environment production" in result.stderr, describe_run(
        result
    )


def test_cost_env_prices_the_environment(shop: Path) -> None:
    base = run_cli("cost", "-c", "shop.toml", "--json", cwd=shop)
    production = run_cli("cost", "-c", "shop.toml", "--env", "production", "--json", cwd=shop)
    assert base.returncode == production.returncode == 0, describe_run(production)
    assert json.loads(production.stdout) != json.loads(base.stdout)
    assert "environment production" in production.stdout, describe_run(production)
