"""What to check: template files and folders from the command line, or a fresh synth.

Synthesized templates are checked from memory with the file names `synth` would write,
so a finding points at vpc.yml:LINE exactly as in `fargate-api synth`'s output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fargate_api.config import load_config
from fargate_api.synth import synthesize, to_yaml
from fargate_api.templates import (
    DiskReader,
    MemoryReader,
    StackInput,
    StackSet,
    TemplateReader,
    discover,
    load_stacks,
    parse_stack_inputs,
)
from fargate_api.templates.linked import linked_groups


@dataclass(frozen=True)
class Inputs:
    stack_sets: list[StackSet]
    notes: list[str]


def from_paths(paths: Sequence[str | Path]) -> Inputs:
    """PATH or NAME=PATH arguments (see stack_inputs.py)."""
    return _load(parse_stack_inputs(paths), DiskReader())


def from_config(config: Path | None, env: str | None = None) -> Inputs:
    model = load_config(config, env)
    files = {Path(name): to_yaml(t.to_dict()) for name, t in synthesize(model).items()}
    source = str(config) if config else "the default config"
    if env is not None:
        source += f", environment {env}"
    inputs = _load(list(files), MemoryReader(files))
    inputs.notes.insert(0, f"checked the templates synthesized from {source}")
    return inputs


def _load(paths: Sequence[Path | StackInput], reader: TemplateReader) -> Inputs:
    """The top-level stacks, linked by their imports; stacks no import links are checked
    each on its own, as separate deployments."""
    found = discover(paths, reader)
    notes = [f"skipped {reader.display(path)}: {why}" for path, why in found.skipped]
    return Inputs(linked_groups(load_stacks(found.stacks, reader=reader)), notes)
