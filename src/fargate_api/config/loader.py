"""Reads `fargate-api.toml` into the model and turns every failure into one UserError.

Pydantic's messages name a location as a tuple; users think in TOML tables and keys, and
want the line, the allowed values and, for a typo, the key they meant. That translation
is this module's job.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fargate_api.config.model import Config
from fargate_api.errors import UserError

DEFAULT_CONFIG_PATH = Path("fargate-api.toml")


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
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "fargate-api.toml") -> Config:
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
    line = _line_of(text, loc)
    where = f"{source}:{line}" if line else source
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        key = loc[-1]
        table = _table_name(loc[:-1])
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return (
            f"{where}: unknown key '{key}' in {table}{suggestion} (known keys: {', '.join(known)})"
        )
    field = _field_name(loc)
    value = error.get("input")
    shown = "" if isinstance(value, dict) or error["type"] == "missing" else f" = {value!r}"
    return f"{where}: {field}{shown}: {message}"


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


def _line_of(text: str, loc: tuple[str, ...]) -> int | None:
    """Best-effort line of a key, so that the message points into the file."""
    keys = [part for part in loc if not part.isdigit()]
    if not keys:
        return None
    table, key = keys[:-1], keys[-1]
    current: list[str] = []
    header_line: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            current = [p.strip().strip('"') for p in header.group(1).split(".")]
            if current == keys:
                header_line = number
            continue
        assignment = re.match(r"^([A-Za-z0-9_\-\".]+)\s*=", stripped)
        if not assignment:
            continue
        dotted = [p.strip().strip('"') for p in assignment.group(1).split(".")]
        if current + dotted[:-1] == table and dotted[-1] == key:
            return number
    return header_line
