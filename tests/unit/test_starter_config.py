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

HEADER = re.compile(r"^#?\s*\[([A-Za-z0-9_.]+)\]")
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
    ("local", "command"),
}


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
            current = header.group(1)
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
    """(table, field, model) for every field of every section model, walked from Config."""
    pending: list[tuple[str, type[BaseModel]]] = [("", Config)]
    while pending:
        table, model = pending.pop()
        for field_name, field in model.model_fields.items():
            yield table, field_name, model
            sub = model_of(field.annotation)
            if sub is not None:
                pending.append((f"{table}.{field_name}".lstrip("."), sub))


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
    assert set(blocks()) - {""} <= known


def documented_defaults() -> list[tuple[str, int]]:
    """(table, line index) of every commented `key = value` line that shows a default."""
    found = []
    current, header_commented = "", False
    for index, line in enumerate(LINES):
        header = HEADER.match(line)
        if header:
            current, header_commented = header.group(1), line.startswith("#")
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
