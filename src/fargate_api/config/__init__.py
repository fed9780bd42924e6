"""The config file, its model and its validation."""

import os

# pydantic looks for plugins (entry points in the group "pydantic") when it builds its first
# validator, by reading the entry points of every installed distribution (some 120 in the
# dev venv: 20 ms and more of `fargate-api synth`), for plugins this CLI has no use for. The
# config models are built with plugin loading off (PYDANTIC_DISABLE_PLUGINS, pydantic's
# documented switch), as typer builds its parameter validators; the variable is restored
# right after.
_plugins_setting = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
try:
    from fargate_api.config.loader import (
        DEFAULT_CONFIG_PATH,
        LoadedConfig,
        load_config,
        parse_config,
        read_config,
    )
    from fargate_api.config.model import Config, NatMode, Platform
finally:
    if _plugins_setting is None:
        del os.environ["PYDANTIC_DISABLE_PLUGINS"]
    else:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = _plugins_setting
    del _plugins_setting

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "LoadedConfig",
    "NatMode",
    "Platform",
    "load_config",
    "parse_config",
    "read_config",
]
