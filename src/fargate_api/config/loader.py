"""Reads `fargate-api.toml` into the model and turns every failure into one UserError.

Pydantic's messages name a location as a tuple; users think in TOML tables and keys, and
want the line, the allowed values and, for a typo, the key they meant. That translation
is this module's job. A file with `[env.NAME]` tables is validated once per environment
too (environments.py merges them), so that a broken production table fails on the
developer's machine, not in the production deploy; its errors point into that table.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fargate_api.config.environments import (
    ENV_TABLE,
    ENVIRONMENT_KEY,
    NAME_KEY,
    EnvironmentTableError,
    KeyPath,
    Layers,
    Sources,
    base_sources,
    dotted_key,
    environment_data,
    split_layers,
    unknown_environment,
)
from fargate_api.config.model import Config, ServiceConfig
from fargate_api.errors import UserError
from fargate_api.toml_lines import key_lines, line_of, parse_toml

DEFAULT_CONFIG_PATH = Path("fargate-api.toml")

# Pydantic's wording for a few types, in TOML's terms.
FRIENDLIER = {
    "tuple_type": 'should be a list (a TOML array), e.g. ["a", "b"]',
    "ip_v4_network": "is not an IPv4 range such as '10.0.0.0/16' (the host bits must be zero)",
    "dict_type": 'should be a table, e.g. [section] or { key = "value" }',
}
FIX = "correct the config; 'fargate-api init' writes a commented example of every key"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and what `config` shows about it: where each value came from."""

    config: Config
    sources: Sources = field(default_factory=dict)
    """Every leaf key the file (or --env) sets -> "base", "env.NAME" or "--env"."""
    environments: tuple[str, ...] = ()
    """The names of the file's [env.NAME] tables."""
    file: Path | None = None


def load_config(path: Path | None, env: str | None = None) -> Config:
    """The config at `path`; with no path, ./fargate-api.toml if present, else defaults.
    With `env`, its [env.NAME] table merged over the rest of the file."""
    return read_config(path, env).config


def read_config(path: Path | None, env: str | None = None) -> LoadedConfig:
    """load_config, with each value's source and the file's environments."""
    if path is None:
        if not DEFAULT_CONFIG_PATH.exists():
            if env is not None:
                raise UserError(
                    f"--env {env} picks an [env.{env}] table of the config file, and there "
                    f"is no config file (no -c, no ./{DEFAULT_CONFIG_PATH})",
                    fix="pass -c CONFIG, or drop --env; 'fargate-api init' writes a config "
                    "with an [env.*] example",
                )
            return LoadedConfig(Config())
        path = DEFAULT_CONFIG_PATH
    if not path.is_file():
        raise UserError(
            "config file not found",
            where=str(path),
            fix="check the path given to -c/--config, or run 'fargate-api init' to write one",
        )
    text = path.read_text(encoding="utf-8")
    loaded = parse_layered(text, source=str(path), env=env)
    return replace(loaded, config=anchor_paths(loaded.config, path.parent), file=path)


def anchor_paths(config: Config, folder: Path) -> Config:
    """The config with its build contexts as absolute paths: the file names them relative
    to itself, but synth writes them relative to wherever the templates go."""

    def anchored(service: ServiceConfig) -> ServiceConfig:
        build = service.build
        if build is None:
            return service
        context = str((folder / build.context).resolve())
        return service.model_copy(update={"build": build.model_copy(update={"context": context})})

    update: dict[str, Any] = {}
    if config.service.build is not None:
        update["service"] = anchored(config.service)
    if any(service.build is not None for service in config.services):
        update["services"] = tuple(anchored(service) for service in config.services)
    return config.model_copy(update=update) if update else config


def parse_config(text: str, source: str = "fargate-api.toml", env: str | None = None) -> Config:
    return parse_layered(text, source, env).config


def parse_layered(
    text: str, source: str = "fargate-api.toml", env: str | None = None
) -> LoadedConfig:
    """The config a file's text describes, for environment `env` or the base; without
    `env` every environment is validated as well."""
    data = parse_toml(text, source)
    layers = _layers(data, text, source)
    if env is None:
        # The base and every environment, so that one run reports every broken table.
        # Every environment inherits the base's problems: they are reported once.
        config, problems = _validate(layers.base, text, source, None)
        if config is not None:
            for name in layers.names:
                problems += _validate(environment_data(layers, name)[0], text, source, name)[1]
        if config is None or problems:
            raise _to_user_error(problems)
        return LoadedConfig(config, base_sources(layers), layers.names)
    if env not in layers.environments:
        raise UserError(
            unknown_environment(env, layers),
            where=source,
            fix="pass the name of one of the file's [env.NAME] tables to --env, or add "
            f"[env.{env}]",
        )
    merged, sources = environment_data(layers, env)
    config, problems = _validate(merged, text, source, env)
    if config is None:
        raise _to_user_error(problems)
    return LoadedConfig(config, sources, layers.names)


def _layers(data: dict[str, Any], text: str, source: str) -> Layers:
    try:
        return split_layers(data)
    except EnvironmentTableError as exc:
        line = _FileLines(text).line_of(exc.path)
        raise UserError(str(exc), where=f"{source}:{line}" if line else source, fix=FIX) from None


def _validate(
    data: dict[str, Any], text: str, source: str, env: str | None
) -> tuple[Config | None, list[str]]:
    """The config, or None and one line per problem (file:line, key, what)."""
    try:
        return Config.model_validate(data), []
    except ValidationError as exc:
        lines = _FileLines(text)
        errors = exc.errors(include_url=False)
        return None, [_describe(error, lines, source, env) for error in errors]


def _to_user_error(problems: list[str]) -> UserError:
    what = (
        problems[0]
        if len(problems) == 1
        else f"{len(problems)} problems:\n  " + "\n  ".join(problems)
    )
    return UserError(what, fix=FIX)


def _describe(error: ErrorDetails, lines: _FileLines, source: str, env: str | None) -> str:
    loc = tuple(str(part) for part in error["loc"])
    message = FRIENDLIER.get(error["type"], error["msg"].removeprefix("Value error, "))
    line, in_env = lines.locate(loc, message, env)
    where = f"{source}:{line}" if line else source
    # In the environment's table the key is named as written there; a base key's error
    # says which environment it broke.
    prefix: KeyPath = (ENV_TABLE, env) if env is not None and in_env else ()
    context = f"environment {env}: " if env is not None and not in_env else ""
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1], top_level_file=not prefix)
        key = loc[-1]
        table = _table_name(loc[:-1], prefix)
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return (
            f"{where}: {context}unknown key '{key}' in {table}{suggestion} "
            f"(known keys: {', '.join(known)})"
        )
    if env is not None and loc == (NAME_KEY,) and not in_env:
        message += (
            f"; with --env {env} the name is the base name followed by '-{env}': "
            f"shorten `name`, or set a name of its own in [env.{env}]"
        )
    value = error.get("input")
    is_table = isinstance(value, dict) or error["type"] == "missing"
    # A key that may hold a table or a scalar (`alarms = true`) but holds something else
    # reads as the key it is, not as a table.
    name = _field_name(loc, prefix) if is_table else _key_name(loc, prefix)
    shown = "" if is_table else f" = {value!r}"
    return f"{where}: {context}{name}{shown}: {message}"


def _key_name(loc: KeyPath, prefix: KeyPath) -> str:
    if len(loc) > 1 and _resolves_to_table(loc) and _resolves_to_table(loc[:-1]):
        return _key_in(loc[:-1], loc[-1], prefix)
    return _field_name(loc, prefix)


def _field_name(loc: KeyPath, prefix: KeyPath = ()) -> str:
    if not loc:
        return _table_name((), prefix) if prefix else "config"
    if _resolves_to_table(loc):
        return _table_name(loc, prefix)
    # A tuple/list element shows as its index: network.public_subnets.0
    table, key = loc[:-1], loc[-1]
    if key.isdigit() and table:
        return f"{_field_name(table, prefix)}[{key}]"
    return _key_in(table, key, prefix)


def _key_in(table: KeyPath, key: str, prefix: KeyPath) -> str:
    """`[network] cidr`, `[env.staging.service] cpu`, or in an array of tables
    `services[1].cpu` (the form the model's own messages use)."""
    if _has_index(table):
        return dotted_key((*prefix, *table, key))
    if not table and not prefix:
        return key
    return f"{_table_name(table, prefix)} {key}"


def _table_name(loc: KeyPath, prefix: KeyPath = ()) -> str:
    parts = (*prefix, *loc)
    if not parts:
        return "the top level"
    if _has_index(loc):
        return dotted_key(parts)
    return f"[{'.'.join(parts)}]"


def _has_index(loc: KeyPath) -> bool:
    return any(part.isdigit() for part in loc)


def _known_keys(loc: KeyPath, *, top_level_file: bool = False) -> list[str]:
    model = _model_at(loc)
    if model is None:
        return []
    known = list(model.model_fields)
    if not loc:
        # `environment` is --env's, never a file key; `env` holds the environments.
        known.remove(ENVIRONMENT_KEY)
        if top_level_file:
            known.append(ENV_TABLE)
    return known


def _resolves_to_table(loc: KeyPath) -> bool:
    return _model_at(loc) is not None


def _model_at(loc: KeyPath) -> type[BaseModel] | None:
    """The model of the table at `loc`; an array of tables' element is `(key, index)`."""
    model: type[BaseModel] | None = Config
    items: type[BaseModel] | None = None  # set after the key of an array of tables
    for part in loc:
        if items is not None:
            if not part.isdigit():
                return None
            model, items = items, None
            continue
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        items = _items_model(annotation)
        model = None if items is not None else _model_of(annotation)
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found:
                return found
    return None


def _items_model(annotation: Any) -> type[BaseModel] | None:
    """The element model of an array of tables (`tuple[ServiceConfig, ...]`)."""
    if typing.get_origin(annotation) in (tuple, list):
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        if len(args) == 1:
            return _model_of(args[0])
    return None


class _FileLines:
    """The line of every key of the file, and the same seen from inside one [env.NAME]
    table, so that an environment's error points at its table when the key is there."""

    def __init__(self, text: str) -> None:
        self.lines = key_lines(text)

    def line_of(self, path: KeyPath) -> int | None:
        return line_of(self.lines, path)

    def locate(self, loc: KeyPath, message: str, env: str | None) -> tuple[int | None, bool]:
        """Best-effort line of the key an error is about, and whether it lies in the
        environment's table. A cross-field error is reported by pydantic on its table (or
        on the whole config); then the first key that the message names and the file sets
        is the one to show. Keys the file sets win over the tables that hold them."""
        base = {path: n for path, n in self.lines.items() if path[:1] != (ENV_TABLE,)}
        views = [(base, False)]
        if env is not None:
            inside = (ENV_TABLE, env)
            table = {p[2:]: n for p, n in self.lines.items() if p[:2] == inside and p[2:]}
            views.insert(0, (table, True))
        mentioned = _mentioned_paths(loc, message) if _is_table_error(loc) else []
        # The keys the message names before the table it was raised on (its header line
        # says less); the environment's own keys first: the base alone is validated too,
        # so what an environment breaks is most likely what it changes.
        for candidates in (mentioned, [loc]):
            for lines, in_env in views:
                for path in candidates:
                    if path and path in lines:
                        return lines[path], in_env
            for lines, in_env in views:
                for path in candidates:
                    for size in range(len(path) - 1, 0, -1):
                        if path[:size] in lines:
                            return lines[path[:size]], in_env
        return None, False


def _is_table_error(loc: KeyPath) -> bool:
    return not loc or _resolves_to_table(loc)


# A key as the model's messages name it: `service.desired_count`, `services[1].allow_from`,
# `services[1]`, `load_balancer.domain`.
MENTION = re.compile(
    r"(?<![\w.])([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z_][a-z0-9_]*(?:\[\d+\])?)*)(?![\w\[])"
)


def _mentioned_paths(table: KeyPath, message: str) -> list[KeyPath]:
    found: list[tuple[int, KeyPath]] = []
    for mention in MENTION.finditer(message):
        text = mention.group(1)
        if "." not in text and "[" not in text:
            continue
        path = tuple(part for part in re.split(r"[.\[\]]+", text) if part)
        found.append((mention.start(), path))
        if table:  # named from inside its table, as a sub-table's message does
            found.append((mention.start(), (*table, *path)))
    for key in _known_keys(table):
        # Not the first part of a dotted mention (`service.cpu` names cpu, not [service]).
        bare = re.search(rf"(?<![.\w]){re.escape(key)}\b(?![.\[])", message)
        if bare:
            found.append((bare.start(), (*table, key)))
    # Earliest mention first; at one position the longer (dotted) path wins.
    return [path for _, path in sorted(found, key=lambda item: (item[0], -len(item[1])))]
