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

from fargate_api.errors import UserError
from fargate_api.images.builders import find_builder
from fargate_api.images.from_templates import build_all
from fargate_api.images.report import BuildReport, BuiltImageRecord
from fargate_api.templates.build_specs import BuildSpec, build_specs_in

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


def _specs(config: Path | None, templates: Path | None) -> tuple[str, list[BuildSpec]]:
    # pydantic, PyYAML and the synth load only when the command runs.
    from fargate_api.config import load_config  # noqa: PLC0415
    from fargate_api.synth import synthesize  # noqa: PLC0415
    from fargate_api.templates.parse import parse_template  # noqa: PLC0415

    if config is not None and templates is not None:
        raise UserError("-c and --templates are alternatives", fix="pass one of them")
    where: str | None
    if templates is None:
        model = load_config(config)
        docs = {name: t.to_dict() for name, t in synthesize(model).items()}
        specs = build_specs_in((name, doc, Path.cwd()) for name, doc in docs.items())
        where = str(config) if config is not None else None
        name = model.name
    else:
        if not templates.is_dir():
            raise UserError("not a folder", where=str(templates), fix="pass the folder synth wrote")
        files = []
        for path in sorted(templates.iterdir()):
            if path.suffix in (".yml", ".yaml", ".json") and path.is_file():
                parsed = parse_template(path, str(path), path.read_text(encoding="utf-8"))
                files.append((path.name, parsed.data, templates))
        specs = build_specs_in(files)
        where = str(templates)
        name = templates.resolve().name
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
) -> None:
    """Build the service's image from its Dockerfile (podman or docker), tagged by commit."""
    err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    out = Console(highlight=False, emoji=False, soft_wrap=True)
    name, specs = _specs(config, templates)
    builder = find_builder()
    err.print(f"builder: {builder.name}")
    built = build_all(
        specs,
        name,
        builder,
        on_line=lambda line: err.print(f"  [dim]{escape(line)}[/dim]"),
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
