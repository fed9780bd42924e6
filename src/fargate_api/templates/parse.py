"""One template file's text to data plus lines, whichever of YAML or JSON it is.

CloudFormation's limits on a template (limits.py: its size, its resource count) are
checked here, the one place every template passes, before anything reads further.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.json_source import Path_, load_json
from fargate_api.templates.limits import (
    MAX_RESOURCES,
    MAX_TEMPLATE_BYTES,
    too_large,
    too_many_resources,
)
from fargate_api.templates.model import TemplateFile
from fargate_api.templates.yaml_source import load_yaml


def parse_text(text: str, display: str) -> tuple[Any, dict[Path_, int]]:
    """The data and the line of each key; a body over CloudFormation's 1 MB is refused
    before it is parsed."""
    if len(text) > MAX_TEMPLATE_BYTES // 4 and (size := len(text.encode())) > MAX_TEMPLATE_BYTES:
        raise too_large(size, display)
    if text.lstrip().startswith("{"):
        return load_json(text, display)
    return load_yaml(text, display)


def parse_template(path: Path, display: str, text: str) -> TemplateFile:
    data, lines = parse_text(text, display)
    problem = template_problem(data)
    if problem is not None:
        line = lines.get(("Resources",))
        raise TemplateError(
            problem,
            where=f"{display}:{line}" if line else display,
            fix="pass a CloudFormation template (YAML or JSON) or a folder of them",
        )
    resources = data["Resources"]
    if not resources:
        raise TemplateError("the Resources section is empty", where=display)
    if len(resources) > MAX_RESOURCES:
        raise too_many_resources(len(resources), f"{display}:{lines.get(('Resources',), 1)}")
    return TemplateFile(
        path=path,
        display=display,
        text=text,
        format="json" if text.lstrip().startswith("{") else "yaml",
        data=data,
        lines=lines,
    )


def looks_like_template(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("Resources"), dict)


def template_problem(data: Any) -> str | None:
    """Why parsed data is not a template, in a user's terms; None when it is one."""
    if looks_like_template(data):
        return None
    if isinstance(data, dict) and data.get("Resources", "") is None:
        return "the Resources section is empty"
    if isinstance(data, dict) and "Resources" in data:
        kind = type(data["Resources"]).__name__
        shown = {"list": "a list", "str": "a string"}.get(kind, f"a {kind}")
        return f"Resources must be a mapping of logical ids to resources, not {shown}"
    return "not a CloudFormation template: no Resources section"
