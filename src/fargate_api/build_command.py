"""`fargate-api build`: the images the templates build from source, into the local store.

It reads the build instructions from the templates (synthesized from -c, or a folder
from `fargate-api synth`), as `deploy` and the twin do, so what it builds is what they
would push or run. Nothing is pushed: `deploy` pushes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from fargate_api.cli_options import EnvOption
from fargate_api.errors import UserError
from fargate_api.images.builders import find_builder
from fargate_api.images.from_templates import build_all
from fargate_api.images.output_lines import tool_output
from fargate_api.images.report import BuildReport, BuiltImageRecord
from fargate_api.templates import MemoryReader, load_stack_set
from fargate_api.templates.build_specs import BuildSpec, build_specs_in_stack_set

PARENT_FILE = "parent.yml"

ConfigOpt = Annotated[
    Path | None,
    typer.Option("-c", "--config", help="The config whose service to build.", show_default=False),
]
TemplatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="A folder written by 'fargate-api synth' to read the build instructions from.",
        show_default=False,
    ),
]


def _specs(
    config: Path | None, templates: Path | None, env: str | None = None
) -> tuple[str, list[BuildSpec]]:
    """The build specs of the config's templates (in memory, named as synth names them,
    so contexts are relative to the working folder) or of a synth folder's parent.yml."""
    # pydantic, PyYAML and the synth load only when the command runs.
    from fargate_api.config import load_config  # noqa: PLC0415
    from fargate_api.synth import synthesize, to_yaml  # noqa: PLC0415

    if (config is not None or env is not None) and templates is not None:
        raise UserError(
            "-c and --templates are alternatives", fix="pass one of them (--env goes with -c)"
        )
    where: str | None
    if templates is None:
        model = load_config(config, env)
        files = {Path(n): to_yaml(t.to_dict()) for n, t in synthesize(model).items()}
        stack_set = load_stack_set(Path(PARENT_FILE), reader=MemoryReader(files))
        where = str(config) if config is not None else None
        name = model.name
    else:
        root = templates / PARENT_FILE
        if not root.is_file():
            raise UserError(
                f"no {PARENT_FILE} in the template folder",
                where=str(templates),
                fix="pass the folder 'fargate-api synth -o DIR' wrote",
            )
        stack_set = load_stack_set(root)
        where = str(templates)
        name = templates.resolve().name
    specs = [spec for _, spec in build_specs_in_stack_set(stack_set)]
    if not specs:
        raise UserError(
            "nothing to build: no task definition has build instructions"
            + ("" if where else " (no config file: the defaults run a public image)"),
            where=where,
            fix='set `build = "PATH"` in [service] (the folder with the Dockerfile) instead '
            "of `image`",
        )
    return name, specs


def build_command(
    config: ConfigOpt = None,
    templates: TemplatesOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Build the service's image from its Dockerfile (podman or docker), tagged by commit."""
    err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    out = Console(highlight=False, emoji=False, soft_wrap=True)
    name, specs = _specs(config, templates, env)
    builder = find_builder()
    err.print(f"builder: {builder.name}")
    built = build_all(
        specs,
        name,
        builder,
        on_line=tool_output(err),
        on_start=lambda spec, request: err.print(
            f"building {escape(str(spec.context))} for {spec.platform}"
        ),
    )
    records = [
        BuiltImageRecord(
            file=item.spec.file,
            task_definition=item.spec.task_definition,
            context=str(item.spec.context),
            platform=item.spec.platform,
            reference=item.image.reference,
            tag=item.image.tag,
            image_id=item.image.image_id,
            architecture=item.image.architecture,
            builder=item.image.builder,
            commit=item.image.source.commit,
            dirty=item.image.source.dirty,
        )
        for item in built
    ]
    report = BuildReport(builder=builder.name, images=records)
    if as_json:
        out.print_json(report.model_dump_json())
        return
    for record in records:
        out.print(f"image: {record.reference}")
        out.print(f"  built by {record.builder} for {record.platform} ({record.image_id[:19]})")
