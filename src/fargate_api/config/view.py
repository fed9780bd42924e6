"""`fargate-api config`'s result: every key of the validated config, and its source.

With environments one value can come from three places (the model's default, the base of
the file, or the chosen [env.NAME] table); reading the merge result alone would leave the
reader to redo the merge in their head. Keys are flattened to the dotted form the error
messages use (`service.cpu`, `services[1].paths`), so that a script finds one by name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from fargate_api.config.environments import CHOSEN, KeyPath, Sources, dotted_key, source_of
from fargate_api.config.model import Config


class SourcedValue(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: JsonValue
    source: str = Field(
        description='"default" (the file does not set it), "base" (the file, outside '
        '[env.*]), "env.NAME" (the environment\'s table) or "--env" (set by the chosen '
        "environment: `environment`, and `name` with its suffix)."
    )


class ConfigView(BaseModel):
    """`fargate-api config --env NAME --json`."""

    model_config = ConfigDict(frozen=True)

    file: str | None = Field(description="The config file read; null for the defaults.")
    environment: str | None = Field(description="The environment chosen with --env.")
    environments: list[str] = Field(description="The file's [env.NAME] tables.")
    values: dict[str, SourcedValue] = Field(
        description=f"Every key, dotted ('service.cpu', 'services[1].paths'), in the "
        f"config's order; sources as in SourcedValue ({CHOSEN!r} included)."
    )


def config_view(
    config: Config,
    sources: Sources,
    *,
    file: str | None = None,
    environments: tuple[str, ...] = (),
) -> ConfigView:
    data = config.model_dump(mode="json")
    # A config uses [service] or [[services]]; the other would list only unused defaults.
    data.pop("service" if config.services else "services", None)
    values: dict[str, SourcedValue] = {}
    for path, value in _leaves(data, ()):
        values[dotted_key(path)] = SourcedValue(value=value, source=source_of(path, sources))
    return ConfigView(
        file=file,
        environment=config.environment,
        environments=list(environments),
        values=values,
    )


def _leaves(value: Any, path: KeyPath) -> list[tuple[KeyPath, JsonValue]]:
    """Tables are walked key by key and arrays of tables element by element; everything
    else (scalars, arrays of scalars, empty tables, null) is one value."""
    if isinstance(value, dict) and value:
        return [leaf for key, inner in value.items() for leaf in _leaves(inner, (*path, key))]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, (*path, str(i)))]
    return [(path, value)]
