"""Inventories of synthesized configs, built in memory the way `cost -c` builds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fargate_api.config.model import Config
from fargate_api.cost.inventory import Inventory, from_stack_set
from fargate_api.synth import synthesize, to_yaml
from fargate_api.templates import MemoryReader, StackSet, load_stack_set


def stack_set_of(config: Config) -> StackSet:
    files = {Path(n): to_yaml(t.to_dict()) for n, t in synthesize(config).items()}
    return load_stack_set(Path("parent.yml"), reader=MemoryReader(files))


def inventory_of(**sections: Any) -> Inventory:
    return from_stack_set(stack_set_of(Config.model_validate(sections)))


def stack_set_from_text(**files: str) -> StackSet:
    """A hand-written template set; the first file is the root."""
    paths = {Path(name): text for name, text in files.items()}
    return load_stack_set(next(iter(paths)), reader=MemoryReader(paths))


PRIVATE_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:1.4.2"
