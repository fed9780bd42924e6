"""Where a twin's templates come from: `-t` as given, or `-c` synthesized into its state.

A synthesized set is written into the twin's own state folder, because the daemon reads
it after the command returns, and `local down` must remove it with everything else.
"""

from __future__ import annotations

from pathlib import Path

from fargate_api.config import load_config
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.cli.lifecycle import resolve_template


def templates_for(
    config: Path | None, template: Path | None, destination: Path, env: str | None = None
) -> Path:
    if (config is not None or env is not None) and template is not None:
        raise UserError(
            "-c and -t are alternatives",
            fix="pass a config (-c, with --env) or templates (-t), not both",
        )
    if template is not None:
        return resolve_template(template)
    model = load_config(config, env)
    destination.mkdir(parents=True, exist_ok=True)
    write_templates(synthesize(model, templates_dir=destination), destination)
    return destination / "parent.yml"


def config_secrets(
    config: Path | None, template: Path | None, env: str | None = None
) -> dict[str, str]:
    """The config's `[local.secrets]`: read here, by the command, because the templates
    (which the daemon reads) must never carry secret values."""
    if template is not None:
        return {}
    return dict(load_config(config, env).local.secrets)
