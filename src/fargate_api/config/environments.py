"""The `[env.NAME]` tables of a config file: one base, several environments over it.

One file describes every environment so that they cannot drift apart by copy and paste:
an `[env.production]` table holds only what production changes. Merging is plain and
predictable: tables merge key by key, anything else (a scalar, an array, an array of
tables) is replaced whole, because merging lists element by element would have to guess
which element is which. The loader validates the result; this module only shapes the
data and remembers where every value came from, so that `config --env` can say it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fargate_api.config.model import ENVIRONMENT_PATTERN, Config

ENV_TABLE = "env"
# Set from --env, never written in the file: one file serves every environment.
ENVIRONMENT_KEY = "environment"
NAME_KEY = "name"

DEFAULT = "default"
BASE = "base"
# A value --env produced: `environment` itself, and `name` with the environment's suffix.
CHOSEN = "--env"

KeyPath = tuple[str, ...]
Sources = dict[KeyPath, str]


class EnvironmentTableError(ValueError):
    """A malformed `[env]` part of the file; `path` is the key to point at."""

    def __init__(self, message: str, path: KeyPath) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Layers:
    """The file split in two: the base (every key but `env`) and the environments."""

    base: dict[str, Any]
    environments: dict[str, dict[str, Any]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.environments))


def env_label(name: str) -> str:
    """How a value's source and a message name the environment's table."""
    return f"{ENV_TABLE}.{name}"


def dotted_key(path: KeyPath) -> str:
    """How messages and `config` name a key: ("services", "1", "cpu") -> "services[1].cpu"."""
    name = ""
    for part in path:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name


def split_layers(data: Mapping[str, Any]) -> Layers:
    """The base and the `[env.NAME]` tables, with their shape checked: a table of tables,
    names an environment can have, and no `environment` key (--env sets it)."""
    base = {key: value for key, value in data.items() if key != ENV_TABLE}
    if ENVIRONMENT_KEY in base:
        raise EnvironmentTableError(
            f"{ENVIRONMENT_KEY} is set by --env, not in the file; remove it, and write "
            "what differs per environment in [env.NAME] tables",
            (ENVIRONMENT_KEY,),
        )
    tables = data.get(ENV_TABLE, {})
    if not isinstance(tables, dict):
        raise EnvironmentTableError(
            f"{ENV_TABLE} should be a table of environments, e.g. [env.staging]", (ENV_TABLE,)
        )
    environments: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        path = (ENV_TABLE, name)
        if not re.fullmatch(ENVIRONMENT_PATTERN, name):
            raise EnvironmentTableError(
                f"[env.{name}]: {name!r} is not an environment name: lower-case letters, "
                "digits and '-', starting with a letter, 16 characters at most (it ends "
                "the stack names)",
                path,
            )
        if not isinstance(table, dict):
            raise EnvironmentTableError(
                f"env.{name} should be a table of the keys that {name} changes, e.g. "
                f"[env.{name}.service]",
                path,
            )
        if ENVIRONMENT_KEY in table:
            raise EnvironmentTableError(
                f"[env.{name}] {ENVIRONMENT_KEY}: set by --env, not in the file; remove it",
                (*path, ENVIRONMENT_KEY),
            )
        environments[name] = table
    return Layers(base, environments)


def unknown_environment(name: str, layers: Layers) -> str:
    """What to say when --env names no table of the file."""
    if not layers.environments:
        return f"unknown environment {name!r}: this config defines no [env.*] tables"
    return f"unknown environment {name!r}; known: {', '.join(layers.names)}"


def environment_data(layers: Layers, name: str) -> tuple[dict[str, Any], Sources]:
    """The data of environment `name` (its table merged over the base, `name` suffixed,
    `environment` set), and the source of each of its leaf keys."""
    table = layers.environments[name]
    merged, sources = merge(layers.base, table, env_label(name))
    if NAME_KEY not in table:
        base_name = layers.base.get(NAME_KEY, Config.model_fields[NAME_KEY].default)
        # A name of the wrong type is left as it is: the model says what is wrong with it.
        if isinstance(base_name, str):
            merged[NAME_KEY] = f"{base_name}-{name}"
            sources[(NAME_KEY,)] = CHOSEN
    merged[ENVIRONMENT_KEY] = name
    sources[(ENVIRONMENT_KEY,)] = CHOSEN
    return merged, sources


def base_sources(layers: Layers) -> Sources:
    """The source of every leaf key of the base: all of them are the base's."""
    sources: Sources = {}
    _mark(layers.base, (), BASE, sources)
    return sources


def merge(
    base: Mapping[str, Any], override: Mapping[str, Any], label: str
) -> tuple[dict[str, Any], Sources]:
    """`override` deep-merged over `base` (tables key by key; arrays, arrays of tables and
    scalars replaced), and each leaf key's source: `label` or "base"."""
    sources: Sources = {}
    return _merge(base, override, (), label, sources), sources


def _merge(
    base: Mapping[str, Any],
    override: Mapping[str, Any],
    path: KeyPath,
    label: str,
    sources: Sources,
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in (*base, *(key for key in override if key not in base)):
        at = (*path, key)
        if key not in override:
            merged[key] = base[key]
            _mark(base[key], at, BASE, sources)
        elif key in base and isinstance(base[key], dict) and isinstance(override[key], dict):
            merged[key] = _merge(base[key], override[key], at, label, sources)
        else:
            merged[key] = override[key]
            _mark(override[key], at, label, sources)
    return merged


def _mark(value: Any, path: KeyPath, label: str, sources: Sources) -> None:
    """Every leaf under `path` comes from `label`; an empty table is a leaf of its own."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _mark(inner, (*path, key), label, sources)
    else:
        sources[path] = label


def source_of(path: KeyPath, sources: Sources) -> str:
    """Where the value at `path` (a key of the validated config) came from. A key inside a
    value the file gives whole (an array of tables, `build = "."`) shares its source."""
    for size in range(len(path), 0, -1):
        found = sources.get(path[:size])
        if found is not None:
            return found
    below = sorted({label for key, label in sources.items() if key[: len(path)] == path})
    if not below:
        return DEFAULT
    return next((label for label in below if label != BASE), BASE)
