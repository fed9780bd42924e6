"""One template file's text to data plus lines, whichever of YAML or JSON it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.json_source import load_json
from fargate_api.templates.model import TemplateFile
from fargate_api.templates.yaml_source import load_yaml


def parse_template(path: Path, display: str, text: str) -> TemplateFile:
    is_json = text.lstrip().startswith("{")
    data, lines = load_json(text, display) if is_json else load_yaml(text, display)
    if not looks_like_template(data):
        raise TemplateError(
            "not a CloudFormation template: no Resources section",
            where=display,
            fix="pass a CloudFormation template (YAML or JSON) or a folder of them",
        )
    resources = data["Resources"]
    if not resources:
        raise TemplateError("the Resources section is empty", where=display)
    return TemplateFile(
        path=path,
        display=display,
        text=text,
        format="json" if is_json else "yaml",
        data=data,
        lines=lines,
    )


def looks_like_template(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("Resources"), dict)
