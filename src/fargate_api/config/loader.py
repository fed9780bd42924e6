"""Reads `fargate-api.toml` into the model and turns every failure into one UserError.

Pydantic's messages name a location as a tuple; users think in TOML tables and keys, and
want the line, the allowed values and, for a typo, the key they meant. That translation
is this module's job.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fargate_api.config.model import Config
from fargate_api.errors import UserError

DEFAULT_CONFIG_PATH = Path("fargate-api.toml")

# Pydantic's wording for a few types, in TOML's terms.
FRIENDLIER = {
    "tuple_type": 'should be a list (a TOML array), e.g. ["a", "b"]',
    "ip_v4_network": "is not an IPv4 range such as '10.0.0.0/16' (the host bits must be zero)",
    "dict_type": 'should be a table, e.g. [section] or { key = "value" }',
}


def load_config(path: Path | None) -> Config:
    """The config at `path`; with no path, ./fargate-api.toml if present, else defaults."""
    if path is None:
        if not DEFAULT_CONFIG_PATH.exists():
            return Config()
        path = DEFAULT_CONFIG_PATH
    if not path.is_file():
        raise UserError(
            "config file not found",
            where=str(path),
            fix="check the path given to -c/--config, or run 'fargate-api init' to write one",
        )
    text = path.read_text(encoding="utf-8")
    return anchor_paths(parse_config(text, source=str(path)), path.parent)


def anchor_paths(config: Config, folder: Path) -> Config:
    """The config with its build context as an absolute path: the file names it relative
    to itself, but synth writes it relative to wherever the templates go."""
    build = config.service.build
    if build is None:
        return config
    context = str((folder / build.context).resolve())
    service = config.service.model_copy(
        update={"build": build.model_copy(update={"context": context})}
    )
    return config.model_copy(update={"service": service})


def parse_config(text: str, source: str = "fargate-api.toml") -> Config:
    import tomllib  # noqa: PLC0415 (only with a config file: the defaults need no parsing)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"not valid TOML: {exc}",
            where=source,
            fix="see https://toml.io for the syntax; strings need quotes",
        ) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _to_user_error(exc, text, source) from None


def _to_user_error(exc: ValidationError, text: str, source: str) -> UserError:
    errors = exc.errors(include_url=False)
    lines = [_describe(error, text, source) for error in errors]
    what = lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n  " + "\n  ".join(lines)
    return UserError(
        what,
        fix="correct the config; 'fargate-api init' writes a commented example of every key",
    )


def _describe(error: ErrorDetails, text: str, source: str) -> str:
    loc = tuple(str(part) for part in error["loc"])
    message = FRIENDLIER.get(error["type"], error["msg"].removeprefix("Value error, "))
    line = _locate(text, loc, message)
    where = f"{source}:{line}" if line else source
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        key = loc[-1]
        table = _table_name(loc[:-1])
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return (
            f"{where}: unknown key '{key}' in {table}{suggestion} (known keys: {', '.join(known)})"
        )
    value = error.get("input")
    is_table = isinstance(value, dict) or error["type"] == "missing"
    # A key that may hold a table or a scalar (`alarms = true`) but holds something else
    # reads as the key it is, not as a table.
    field = _field_name(loc) if is_table else _key_name(loc)
    shown = "" if is_table else f" = {value!r}"
    return f"{where}: {field}{shown}: {message}"


def _key_name(loc: tuple[str, ...]) -> str:
    if len(loc) > 1 and _resolves_to_table(loc) and _resolves_to_table(loc[:-1]):
        return f"[{'.'.join(loc[:-1])}] {loc[-1]}"
    return _field_name(loc)


def _table_name(loc: tuple[str, ...]) -> str:
    return f"[{'.'.join(loc)}]" if loc else "the top level"


def _field_name(loc: tuple[str, ...]) -> str:
    if not loc:
        return "config"
    if _resolves_to_table(loc):
        return _table_name(loc)
    # A tuple/list element shows as its index: network.public_subnets.0
    table, key = loc[:-1], loc[-1]
    if key.isdigit() and table:
        return f"{_field_name(table)}[{key}]"
    return f"[{'.'.join(table)}] {key}" if table else key


def _known_keys(loc: tuple[str, ...]) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model else []


def _resolves_to_table(loc: tuple[str, ...]) -> bool:
    return _model_at(loc) is not None


def _model_at(loc: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None or part not in model.model_fields:
            return None
        model = _model_of(model.model_fields[part].annotation)
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


def _locate(text: str, loc: tuple[str, ...], message: str) -> int | None:
    """Best-effort line of the key an error is about, so the message points into the file.

    A cross-field error is reported by pydantic on its table (or on the whole config);
    then the first key that the message names and the file sets is the one to show.
    """
    lines = _key_lines(text)
    keys = tuple(part for part in loc if not part.isdigit())
    if not keys or _resolves_to_table(keys):
        for path in _mentioned_paths(keys, message):
            if path in lines:
                return lines[path]
    for size in range(len(keys), 0, -1):
        if keys[:size] in lines:
            return lines[keys[:size]]
    return None


def _mentioned_paths(table: tuple[str, ...], message: str) -> list[tuple[str, ...]]:
    found: list[tuple[int, tuple[str, ...]]] = []
    for dotted in re.finditer(r"\b([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)\b", message):
        found.append((dotted.start(), tuple(dotted.group(1).split("."))))
    for key in _known_keys(table):
        bare = re.search(rf"(?<![.\w]){re.escape(key)}\b", message)
        if bare:
            found.append((bare.start(), (*table, key)))
    # Earliest mention first; at one position the longer (dotted) path wins.
    return [path for _, path in sorted(found, key=lambda item: (item[0], -len(item[1])))]


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line of every table header and key in the file, inline tables included."""
    lines: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            current = _dotted(header.group(1))
            for size in range(1, len(current) + 1):
                lines.setdefault(current[:size], number)
            continue
        assignment = re.match(r"^([A-Za-z0-9_\-\".]+)\s*=\s*(.*)$", stripped)
        if not assignment:
            continue
        path = current + _dotted(assignment.group(1))
        lines.setdefault(path, number)
        value = assignment.group(2)
        if value.startswith("{"):
            for inner in re.findall(r"([A-Za-z0-9_\-]+)\s*=", value):
                lines.setdefault((*path, inner), number)
    return lines


def _dotted(name: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"') for part in name.split("."))
