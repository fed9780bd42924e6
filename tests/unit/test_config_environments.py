"""[env.NAME] tables: the merge, each value's source, --env in the loader, and errors that
point into the environment's table."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from fargate_api.config import Config, load_config, parse_config, read_config
from fargate_api.config.environments import (
    BASE,
    CHOSEN,
    DEFAULT,
    EnvironmentTableError,
    base_sources,
    dotted_key,
    environment_data,
    merge,
    source_of,
    split_layers,
)
from fargate_api.config.loader import LoadedConfig, parse_layered
from fargate_api.config.view import config_view
from fargate_api.errors import USAGE_EXIT_CODE, UserError
from fargate_api.synth import environment_diff

SOURCE = "shop.toml"

# Lines: 1 name, 3 [service], 4 cpu, 5 memory, 6 command, 8 [env.staging.service],
# 9 desired_count, 11 [env.production.service], 12 cpu, 13 memory, 14 command,
# 16 [env.production.network], 17 nat.
SHOP = """\
name = "shop"

[service]
cpu = 256
memory = 512
command = ["serve", "--workers", "2"]

[env.staging.service]
desired_count = 1

[env.production.service]
cpu = 1024
memory = 2048
command = ["serve"]

[env.production.network]
nat = "single"
"""


def error_of(text: str, env: str | None = None) -> UserError:
    with pytest.raises(UserError) as caught:
        parse_config(text, source=SOURCE, env=env)
    return caught.value


def lines_of(message: str) -> list[int]:
    return [int(n) for n in re.findall(rf"{re.escape(SOURCE)}:(\d+)", message)]


# ------------------------------------------------------------------------------ merge


def test_tables_merge_key_by_key_and_everything_else_is_replaced() -> None:
    base: dict[str, Any] = {
        "name": "shop",
        "service": {"cpu": 256, "command": ["a", "b"], "environment": {"A": "1", "B": "2"}},
        "services": [{"name": "api"}, {"name": "web"}],
        "network": {"nat": "per-az"},
    }
    before = copy.deepcopy(base)
    table = {
        "service": {"cpu": 1024, "command": ["c"], "environment": {"B": "3"}},
        "services": [{"name": "one"}],
        "load_balancer": {"idle_timeout": 60},
    }
    merged, sources = merge(base, table, "env.prod")
    assert merged == {
        "name": "shop",
        "service": {"cpu": 1024, "command": ["c"], "environment": {"A": "1", "B": "3"}},
        "services": [{"name": "one"}],
        "network": {"nat": "per-az"},
        "load_balancer": {"idle_timeout": 60},
    }
    assert base == before, "the base is not changed in place"
    assert sources == {
        ("name",): BASE,
        ("service", "cpu"): "env.prod",
        ("service", "command"): "env.prod",
        ("service", "environment", "A"): BASE,
        ("service", "environment", "B"): "env.prod",
        ("services",): "env.prod",
        ("network", "nat"): BASE,
        ("load_balancer", "idle_timeout"): "env.prod",
    }


def test_a_value_replaces_a_table_and_a_table_replaces_a_value() -> None:
    merged, sources = merge(
        {"service": {"build": {"context": "."}, "alarms": True}},
        {"service": {"build": "app", "alarms": {"period": 60}}},
        "env.x",
    )
    assert merged == {"service": {"build": "app", "alarms": {"period": 60}}}
    assert sources == {("service", "build"): "env.x", ("service", "alarms", "period"): "env.x"}


def test_an_empty_table_is_a_leaf_of_its_own() -> None:
    _, sources = merge({"service": {"environment": {}}}, {"local": {}}, "env.x")
    assert sources == {("service", "environment"): BASE, ("local",): "env.x"}


# ---------------------------------------------------------------------- the layers


def test_layers_split_the_file() -> None:
    layers = split_layers(tomllib.loads(SHOP))
    assert set(layers.base) == {"name", "service"}
    assert layers.names == ("production", "staging")
    assert base_sources(layers)[("service", "command")] == BASE


def test_environment_data_suffixes_the_name_and_sets_environment() -> None:
    layers = split_layers(tomllib.loads(SHOP))
    data, sources = environment_data(layers, "production")
    assert (data["name"], data["environment"]) == ("shop-production", "production")
    assert sources[("name",)] == sources[("environment",)] == CHOSEN
    assert sources[("service", "cpu")] == "env.production"
    assert sources[("service", "memory")] == "env.production"


def test_a_name_in_the_table_is_taken_as_it_is() -> None:
    config = parse_config(
        SHOP.replace("[env.staging.service]", 'name = "x"\n[env.staging.service]')
    )
    assert config.name == "shop"
    text = SHOP.replace(
        "[env.staging.service]", '[env.staging]\nname = "shop-test"\n\n[env.staging.service]'
    )
    staging = parse_config(text, env="staging")
    assert staging.name == "shop-test"
    assert read_config_text(text, "staging").sources[("name",)] == "env.staging"


def test_the_default_name_is_suffixed_too() -> None:
    config = parse_config('[env.dev.service]\ndesired_count = 1\n\n[env.dev]\nname = "x"\n')
    assert config.name == "serverless-api-environment"
    layers = split_layers({"env": {"qa": {}}})
    assert environment_data(layers, "qa")[0]["name"] == "serverless-api-environment-qa"


@pytest.mark.parametrize(
    ("data", "says", "path"),
    [
        ({"environment": "prod"}, "environment is set by --env", ("environment",)),
        ({"env": 3}, "env should be a table of environments", ("env",)),
        ({"env": {"Prod": {}}}, "'Prod' is not an environment name", ("env", "Prod")),
        ({"env": {"a" * 17: {}}}, "16 characters at most", ("env", "a" * 17)),
        ({"env": {"prod": 1}}, "env.prod should be a table", ("env", "prod")),
        (
            {"env": {"prod": {"environment": "x"}}},
            "[env.prod] environment: set by --env",
            ("env", "prod", "environment"),
        ),
    ],
)
def test_malformed_env_tables(data: dict[str, Any], says: str, path: tuple[str, ...]) -> None:
    with pytest.raises(EnvironmentTableError) as caught:
        split_layers(data)
    assert says in str(caught.value)
    assert caught.value.path == path


# ------------------------------------------------------------------------ sources


def test_source_of_a_key_the_file_does_not_set_is_default() -> None:
    sources = {("service", "cpu"): BASE, ("services",): "env.x", ("local", "secrets", "A"): BASE}
    assert source_of(("service", "cpu"), sources) == BASE
    assert source_of(("service", "port"), sources) == DEFAULT
    # A key inside an array of tables shares the array's source.
    assert source_of(("services", "1", "cpu"), sources) == "env.x"
    # A value the model shows whole, set key by key in the file.
    assert source_of(("local", "secrets"), sources) == BASE


def test_dotted_key() -> None:
    assert dotted_key(("services", "1", "autoscaling", "min")) == "services[1].autoscaling.min"
    assert dotted_key(("name",)) == "name"


def read_config_text(text: str, env: str | None) -> LoadedConfig:
    return parse_layered(text, SOURCE, env)


def test_config_view_shows_each_values_source() -> None:
    loaded = read_config_text(SHOP, "production")
    view = config_view(loaded.config, loaded.sources, file=SOURCE, environments=loaded.environments)
    assert view.environment == "production"
    assert view.environments == ["production", "staging"]
    values = {key: (item.value, item.source) for key, item in view.values.items()}
    assert values["name"] == ("shop-production", CHOSEN)
    assert values["environment"] == ("production", CHOSEN)
    assert values["service.cpu"] == (1024, "env.production")
    assert values["service.command"] == (["serve"], "env.production")
    assert values["network.nat"] == ("single", "env.production")
    assert values["service.port"] == (80, DEFAULT)
    assert values["service.desired_count"] == (2, DEFAULT)
    staging = read_config_text(SHOP, "staging")
    view = config_view(staging.config, staging.sources)
    assert view.values["service.cpu"].source == BASE
    assert view.values["service.desired_count"].source == "env.staging"


def test_config_view_walks_arrays_of_tables() -> None:
    text = '[[services]]\nname = "api"\npaths = ["/*"]\ncpu = 512\nmemory = 1024\n'
    loaded = read_config_text(text, None)
    view = config_view(loaded.config, loaded.sources)
    assert view.values["services[0].cpu"].value == 512
    assert view.values["services[0].cpu"].source == BASE
    assert view.values["services[0].port"].source == BASE  # the array is the file's, whole
    assert view.environment is None
    # [service] is not in use: its defaults would only mislead.
    assert not [key for key in view.values if key.startswith("service.")]


def test_config_view_of_one_service_leaves_out_the_empty_services_array() -> None:
    view = config_view(Config(), {})
    assert "service.cpu" in view.values
    assert "services" not in view.values


# -------------------------------------------------------------------- the loader


def test_env_picks_the_merged_config() -> None:
    production = parse_config(SHOP, env="production")
    assert (production.name, production.environment) == ("shop-production", "production")
    assert (production.service.cpu, production.service.memory) == (1024, 2048)
    assert production.service.command == ("serve",)
    assert production.network.nat == "single"
    staging = parse_config(SHOP, env="staging")
    assert (staging.name, staging.service.desired_count, staging.service.cpu) == (
        "shop-staging",
        1,
        256,
    )
    assert staging.service.command == ("serve", "--workers", "2")


def test_without_env_the_base_is_used() -> None:
    config = parse_config(SHOP)
    assert (config.name, config.environment) == ("shop", None)
    assert (config.service.cpu, config.service.desired_count) == (256, 2)
    assert parse_config(SHOP.split("[env.staging.service]", maxsplit=1)[0]) == config


def test_unknown_environment_lists_the_known_ones() -> None:
    error = error_of(SHOP, env="prod")
    assert error.exit_code == USAGE_EXIT_CODE
    assert error.render().startswith(
        f"{SOURCE}: unknown environment 'prod'; known: production, staging"
    )


def test_unknown_environment_without_env_tables() -> None:
    message = error_of('name = "shop"\n', env="staging").render()
    assert "unknown environment 'staging': this config defines no [env.*] tables" in message


def test_env_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None) == Config()
    with pytest.raises(UserError) as caught:
        load_config(None, env="staging")
    assert caught.value.exit_code == USAGE_EXIT_CODE
    assert "there is no config file" in caught.value.render()


def test_load_config_reads_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP, encoding="utf-8")
    assert load_config(path, env="production").service.cpu == 1024
    loaded = read_config(path, "staging")
    assert loaded.file == path
    assert loaded.environments == ("production", "staging")
    assert loaded.sources[("service", "desired_count")] == "env.staging"


def test_build_contexts_of_every_service_are_anchored(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(
        '[[services]]\nname = "api"\nbuild = "api"\npaths = ["/api/*"]\n\n'
        '[[services]]\nname = "web"\nbuild = "web"\npaths = ["/*"]\n',
        encoding="utf-8",
    )
    contexts = [svc.build.context for svc in load_config(path).services if svc.build]
    assert contexts == [str(tmp_path / "api"), str(tmp_path / "web")]


# --------------------------------------------------------- errors in the file's envs


@pytest.mark.parametrize(
    ("text", "env", "says", "line"),
    [
        pytest.param(
            SHOP.replace("desired_count = 1", "cpu = 3"),
            None,
            f"{SOURCE}:9: [env.staging.service] cpu = 3: 3 is not a Fargate CPU size",
            9,
            id="bad-value-in-env-table",
        ),
        pytest.param(
            SHOP.replace("desired_count = 1", "cpu = 3"),
            "staging",
            "[env.staging.service] cpu = 3",
            9,
            id="bad-value-in-the-chosen-env",
        ),
        pytest.param(
            SHOP.replace("memory = 2048", "memory = 512"),
            None,
            "[env.production.service]: memory = 512 does not fit cpu = 1024",
            13,
            id="cross-field-in-env-table",
        ),
        pytest.param(
            SHOP.replace("desired_count = 1", 'imagee = "x"'),
            None,
            "unknown key 'imagee' in [env.staging.service]; did you mean 'image'?",
            9,
            id="unknown-key-in-env-table",
        ),
        pytest.param(
            SHOP.replace("[env.staging.service]", "[env.staging.servce]"),
            None,
            "unknown key 'servce' in [env.staging]; did you mean 'service'?",
            8,
            id="unknown-table-in-env",
        ),
        pytest.param(
            SHOP + "\n[env.production.load_balancer]\nidle_timeout = 100\n",
            None,
            "[env.production]: service.deregistration_delay (45) is shorter than "
            "load_balancer.idle_timeout (100)",
            20,
            id="config-level-error-caused-by-env",
        ),
        pytest.param(
            SHOP.replace('name = "shop"', f'name = "{"s" * 20}"'),
            None,
            "environment production: name = '" + "s" * 20 + "-production'",
            1,
            id="base-name-too-long-with-suffix",
        ),
        pytest.param(
            SHOP.replace(
                "[env.production.network]",
                '[[env.production.services]]\nname = "api"\npaths = ["/api/*"]\n\n'
                '[[env.production.services]]\nname = "web"\npaths = ["/*"]\ncpu = 3\n\n'
                "[env.production.network]",
            ),
            "production",
            "env.production.services[1].cpu = 3",
            23,
            id="array-of-tables-in-env",
        ),
        pytest.param(
            SHOP.replace(
                "[env.staging.service]", '[env.staging]\nenvironment = "x"\n\n[env.staging.service]'
            ),
            None,
            "[env.staging] environment: set by --env",
            9,
            id="environment-key-in-env-table",
        ),
        pytest.param(
            'environment = "production"\n' + SHOP,
            None,
            "environment is set by --env, not in the file",
            1,
            id="environment-key-in-the-file",
        ),
        pytest.param(
            SHOP.replace("[env.production.service]", "[env.Production.service]"),
            None,
            "[env.Production]: 'Production' is not an environment name",
            11,
            id="bad-environment-name",
        ),
        pytest.param(
            'name = "shop"\nenv = "staging"\n',
            None,
            "env should be a table of environments",
            2,
            id="env-not-a-table",
        ),
    ],
)
def test_env_errors_point_into_the_env_table(
    text: str, env: str | None, says: str, line: int
) -> None:
    error = error_of(text, env)
    message = error.render()
    assert error.exit_code == USAGE_EXIT_CODE
    assert says in message, message
    assert lines_of(message) == [line], message
    assert "Value error" not in message


def test_every_broken_environment_is_reported_at_once() -> None:
    text = SHOP.replace("desired_count = 1", "cpu = 3").replace("memory = 2048", "memory = 512")
    message = error_of(text).render()
    assert message.startswith("2 problems:")
    assert sorted(lines_of(message)) == [9, 13]
    assert "[env.staging.service] cpu = 3" in message
    assert "[env.production.service]: memory = 512" in message


def test_a_base_error_is_reported_once_not_per_environment() -> None:
    message = error_of(SHOP.replace("cpu = 256", "cpu = 3")).render()
    assert lines_of(message) == [4], message
    assert "env." not in message and "environment " not in message


def test_the_chosen_environment_alone_is_validated() -> None:
    """--env staging uses staging: a broken production table is the next deploy's concern
    (without --env, every table is validated)."""
    text = SHOP.replace("memory = 2048", "memory = 512")
    assert parse_config(text, env="staging").environment == "staging"
    with pytest.raises(UserError):
        parse_config(text)


# ----------------------------------------------------------- diff --env A --env B


def test_environment_diff_compares_file_by_file(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {
        "a": {"vpc.yml": "x: 1\n", "service.yml": "cpu: 256\n", "repository.yml": "r: 1\n"},
        "b": {"vpc.yml": "x: 1\n", "service.yml": "cpu: 1024\n", "extra.yml": "e: 1\n"},
    }
    monkeypatch.setattr(environment_diff, "environment_templates", lambda _, env: texts[env])
    result = environment_diff.compare_environments(None, "a", "b")
    assert result.unchanged == ["vpc.yml"]
    changed = {item.file: item for item in result.changed}
    assert list(changed) == ["service.yml", "repository.yml", "extra.yml"]
    assert changed["service.yml"].diff == (
        "--- a/service.yml (a)\n+++ b/service.yml (b)\n@@ -1 +1 @@\n-cpu: 256\n+cpu: 1024\n"
    )
    assert (changed["repository.yml"].only_in, changed["extra.yml"].only_in) == ("a", "b")
    assert "+e: 1" in changed["extra.yml"].diff
    assert result.summary() == (
        "a -> b: 3 of 4 templates differ (service.yml, repository.yml, extra.yml)"
    )


def test_environment_diff_of_the_same_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        environment_diff, "environment_templates", lambda _, env: {"vpc.yml": "x: 1\n"}
    )
    result = environment_diff.compare_environments(None, "a", "b")
    assert (result.changed, result.unchanged) == ([], ["vpc.yml"])
    assert result.summary() == "a and b: their 1 template is the same"
