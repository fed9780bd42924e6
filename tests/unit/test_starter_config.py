"""The starter config documents every key with its default, so docs and model cannot drift."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from fargate_api.config import Config, parse_config
from fargate_api.config.model import AutoscalingConfig
from fargate_api.config.starter import STARTER_CONFIG

HEADER = re.compile(r"^#?\s*(\[\[?)([A-Za-z0-9_.]+)\]")
COMMENTED_KEY = re.compile(r"^# ([A-Za-z_][A-Za-z0-9_]*) = ")
LINES = STARTER_CONFIG.splitlines()

# Commented lines that show an example rather than the default (the default is "unset").
EXAMPLES = {
    ("network", "subnet_prefix"),
    ("network", "public_subnets"),
    ("network", "private_subnets"),
    ("service", "command"),
    ("service", "user"),
    ("service", "build"),
    ("load_balancer", "certificate_arn"),
    ("load_balancer", "access_logs"),
    ("load_balancer", "domain"),
    ("load_balancer", "hosted_zone_id"),
    ("local", "command"),
}
# Set by --env, never written in the file (the [env.*] prose explains it).
NOT_FILE_KEYS = {("", "environment")}
# ServiceConfig keys that only [[services]] tables take: documented there.
SERVICES_ONLY = {"paths", "hosts", "priority", "allow_from", "autoscaling"}
ENV_TABLE = re.compile(r"^env\.[a-z][a-z0-9-]*\.?")


def model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = model_of(arg)
            if found is not None:
                return found
    return None


def blocks() -> dict[str, list[str]]:
    """Lines under each table header, commented-out headers included; '' is the top."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for line in LINES:
        header = HEADER.match(line)
        if header:
            current = header.group(2)
            if header.group(1) == "[[":  # an array of tables: one header per element
                found.setdefault(current, [])
                continue
            assert current not in found, f"[{current}] appears twice"
            found[current] = []
            continue
        found[current].append(line)
    return found


def assigns(lines: list[str], key: str) -> str | None:
    """The text after `key =` on a (possibly commented) line, if any line sets key."""
    for line in lines:
        match = re.match(rf"^#?\s*{re.escape(key)}\s*=\s*(.*)$", line)
        if match:
            return match.group(1)
    return None


def documented_fields() -> Iterator[tuple[str, str, type[BaseModel]]]:
    """(table, field, model) for every field of every section model, walked from Config,
    with the keys only [[services]] takes under `services`, where they are written."""
    pending: list[tuple[str, type[BaseModel]]] = [("", Config)]
    while pending:
        table, model = pending.pop()
        for field_name, field in model.model_fields.items():
            if (table, field_name) in NOT_FILE_KEYS:
                continue
            where = "services" if table == "service" and field_name in SERVICES_ONLY else table
            yield where, field_name, model
            sub = model_of(field.annotation)
            if sub is not None:
                pending.append((f"{where}.{field_name}".lstrip("."), sub))


def test_starter_parses_to_exactly_the_defaults() -> None:
    assert parse_config(STARTER_CONFIG, source="fargate-api.toml") == Config()


def test_every_model_field_is_documented() -> None:
    sections = blocks()
    walked = list(documented_fields())
    assert {model.__name__ for _, _, model in walked} >= {
        "Config",
        "NetworkConfig",
        "ServiceConfig",
        "LoadBalancerConfig",
        "AccessLogsConfig",
        "AutoscalingConfig",
        "LocalConfig",
        "BuildConfig",
    }
    missing = []
    for table, field_name, _ in walked:
        path = f"{table}.{field_name}".lstrip(".")
        if path in sections:
            continue
        if table in sections and assigns(sections[table], field_name) is not None:
            continue
        parent, _, key = table.rpartition(".")
        inline = assigns(sections.get(parent, []), key)
        if inline is not None and re.search(rf"[{{,]\s*{field_name}\s*=", inline):
            continue
        missing.append(path)
    assert not missing, f"the starter config does not mention {missing}"


def test_every_table_in_the_starter_exists_in_the_model() -> None:
    known = {f"{t}.{f}".lstrip(".") for t, f, _ in documented_fields()}
    tables = {ENV_TABLE.sub("", name) for name in blocks()} - {""}
    assert tables <= known


def test_environment_is_not_a_file_key() -> None:
    assert "environment" in Config.model_fields
    assert assigns(blocks()[""], "environment") is None
    assert "`environment` is set by --env" in STARTER_CONFIG.replace("\n# ", " ")


def documented_defaults() -> list[tuple[str, int]]:
    """(table, line index) of every commented `key = value` line that shows a default."""
    found = []
    current, header_commented = "", False
    for index, line in enumerate(LINES):
        header = HEADER.match(line)
        if header:
            current, header_commented = header.group(2), line.startswith("#")
            continue
        key = COMMENTED_KEY.match(line)
        if key and not header_commented and (current, key.group(1)) not in EXAMPLES:
            found.append((f"{current}.{key.group(1)}", index))
    return found


def uncommented(*indexes: int) -> str:
    lines = list(LINES)
    for index in indexes:
        assert lines[index].startswith("# ")
        lines[index] = lines[index].removeprefix("# ")
    return "\n".join(lines) + "\n"


def test_every_plain_field_shows_its_default() -> None:
    expected = {
        f"{table}.{name}"
        for table, name, _ in documented_fields()
        if table in ("network", "service", "load_balancer")
        and (table, name) not in EXAMPLES
        and name not in ("environment", "secrets")
    }
    shown = [key for key, _ in documented_defaults()]
    assert len(shown) == len(set(shown)), "a key is shown twice"
    assert set(shown) == expected


@pytest.mark.parametrize(("key", "index"), documented_defaults(), ids=str)
def test_each_shown_value_is_the_default(key: str, index: int) -> None:
    text = uncommented(index)
    assert parse_config(text, source="fargate-api.toml") == Config(), LINES[index]


def index_of(prefix: str) -> int:
    (index,) = [i for i, line in enumerate(LINES) if line.startswith(prefix)]
    return index


def test_shown_subnet_layout_is_the_computed_one() -> None:
    default_plan = Config().network.subnet_plan()
    prefix_only = parse_config(uncommented(index_of("# subnet_prefix =")))
    assert prefix_only.network.subnet_plan() == default_plan
    explicit = parse_config(
        uncommented(index_of("# public_subnets ="), index_of("# private_subnets ="))
    )
    assert explicit.network.subnet_plan() == default_plan


def test_shown_autoscaling_block_uses_the_model_defaults() -> None:
    start = index_of("# [autoscaling]")
    block = [start]
    for index in range(start + 1, len(LINES)):
        if not COMMENTED_KEY.match(LINES[index]):
            break
        block.append(index)
    config = parse_config(uncommented(*block))
    scaling = config.autoscaling
    assert scaling is not None
    fields = AutoscalingConfig.model_fields
    for name in ("min", "max", "scale_in_cooldown", "scale_out_cooldown"):
        assert getattr(scaling, name) == fields[name].default, name
    assert scaling.cpu_target is not None
    assert scaling.requests_per_target is not None


@pytest.mark.parametrize(
    "lines",
    [
        ("# command = [",),
        ("# user = ",),
        ("# access_logs = ",),
        ("# [service.environment]", "# LOG_LEVEL = "),
        ("# [service.secrets]", "# DATABASE_URL = "),
        ('# command = "python3',),
    ],
)
def test_shown_examples_are_valid(lines: tuple[str, ...]) -> None:
    config = parse_config(uncommented(*(index_of(p) for p in lines)))
    assert config != Config()


def commented_block(first: str, last: str) -> list[int]:
    """The indexes of the commented lines from the first one starting with `first` to the
    one starting with `last`, both included."""
    start = next(i for i, line in enumerate(LINES) if line.startswith(first))
    end = index_of(last)
    return [i for i in range(start, end + 1) if LINES[i].startswith("# ")]


def test_shown_domain_and_zone_are_valid_together() -> None:
    config = parse_config(uncommented(index_of("# domain = "), index_of("# hosted_zone_id = ")))
    assert config.load_balancer.domain == "api.example.com"
    assert config.load_balancer.hosted_zone_id is not None
    assert config.load_balancer.creates_certificate


def test_shown_services_example_is_valid() -> None:
    text = uncommented(*commented_block("# [[services]]", '# paths = ["/*"]'))
    # The example says to remove [service]: [service] and [[services]] are exclusive.
    config = parse_config(text.replace("\n[service]\n", "\n"))
    assert [svc.name for svc in config.services] == ["api", "web"]
    api, web = config.services
    assert api.paths == ("/api/*",) and api.allow_from == ("web",)
    assert api.autoscaling is not None and api.autoscaling.cpu_target == 60
    assert web.paths == ("/*",)
    assert [config.service_priority(i) for i in range(2)] == [10, 20]


def test_shown_environments_are_valid() -> None:
    text = uncommented(*commented_block("# [env.staging.service]", "# deletion_protection = true"))
    # The example asks for a short name: the default one with a suffix is too long.
    text = text.replace('name = "serverless-api-environment"', 'name = "shop"')
    production = parse_config(text, env="production")
    assert (production.name, production.environment) == ("shop-production", "production")
    assert (production.service.cpu, production.service.desired_count) == (1024, 4)
    assert production.load_balancer.deletion_protection
    staging = parse_config(text, env="staging")
    assert (staging.name, staging.service.desired_count) == ("shop-staging", 1)
    assert staging.network.nat == "single"
    assert parse_config(text) == parse_config(text.split("[env.staging.service]")[0])
