"""Where a twin's templates come from: `-t` as given, or `-c` synthesized into its state.

`-t` takes files and folders, repeated for several top-level stacks, NAME=PATH naming a
stack; a folder gives its parent.yml (with the children it nests) or every top-level
template in it. A synthesized set is written into the twin's own state folder, because
the daemon reads it after the command returns, and `local down` must remove it with
everything else.
"""

from __future__ import annotations

from pathlib import Path

from fargate_api.config import load_config
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, write_templates
from fargate_api.templates import DiskReader, StackInput, discover, parse_stack_inputs


def templates_for(
    config: Path | None, templates: list[str] | None, destination: Path, env: str | None = None
) -> list[StackInput]:
    """The top-level stacks to run, with absolute paths (the daemon has another cwd)."""
    if (config is not None or env is not None) and templates:
        raise UserError(
            "-c and -t are alternatives",
            fix="pass a config (-c, with --env) or templates (-t), not both",
        )
    if templates:
        found = discover(parse_stack_inputs(templates), DiskReader())
        return [StackInput(stack.path.resolve(), stack.name) for stack in found.stacks]
    model = load_config(config, env)
    destination.mkdir(parents=True, exist_ok=True)
    write_templates(synthesize(model, templates_dir=destination), destination)
    return [StackInput((destination / "parent.yml").resolve())]


def config_secrets(
    config: Path | None, templates: list[str] | None, env: str | None = None
) -> dict[str, str]:
    """The config's `[local.secrets]`: read here, by the command, because the templates
    (which the daemon reads) must never carry secret values."""
    if templates:
        return {}
    return dict(load_config(config, env).local.secrets)
