"""The config file, its model and its validation."""

from fargate_api.config.loader import DEFAULT_CONFIG_PATH, load_config, parse_config
from fargate_api.config.model import Config, NatMode, Platform

__all__ = ["DEFAULT_CONFIG_PATH", "Config", "NatMode", "Platform", "load_config", "parse_config"]
