"""From the PATHs a user gives to the root templates to load.

A folder may hold a parent and its children (the reference layout), several unrelated
templates, or files that are not templates at all (cdk.out has manifests). Every
template that no other template nests is a root; nested ones are reached through their
parent, with the parameters it passes, instead of being checked on their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.json_source import load_json
from fargate_api.templates.loader import local_child_path, nested_location
from fargate_api.templates.parse import looks_like_template
from fargate_api.templates.reader import TemplateReader
from fargate_api.templates.yaml_source import load_yaml

SUFFIXES = (".yml", ".yaml", ".json", ".template")


@dataclass(frozen=True)
class Discovery:
    roots: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: Sequence[Path], reader: TemplateReader) -> Discovery:
    """Roots among the given files and folders; explicit files must be templates."""
    candidates: list[tuple[Path, bool]] = []
    for path in paths:
        if reader.is_file(path):
            candidates.append((path, True))
        elif path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            candidates.extend((p, False) for p in found)
        else:
            raise TemplateError(
                "no such file or folder", where=str(path), fix="pass template files or folders"
            )
    templates: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    children: set[Path] = set()
    for path, explicit in dict.fromkeys(candidates):
        try:
            data = _probe(path, reader)
        except TemplateError:
            # In a folder, an unparsable file that does not even look like a template
            # (a CI config with its own tags, say) is skipped, not an error.
            if explicit or _claims_to_be_template(reader.read(path)):
                raise
            skipped.append((path, "not a CloudFormation template (not parsable)"))
            continue
        if not looks_like_template(data):
            if explicit:
                raise TemplateError(
                    "not a CloudFormation template: no Resources section",
                    where=reader.display(path),
                    fix="pass a CloudFormation template (YAML or JSON) or a folder of them",
                )
            skipped.append((path, "not a CloudFormation template"))
            continue
        templates.append(path)
        for body in data["Resources"].values():
            child = local_child_path(path, nested_location(body))
            if child is not None:
                children.add(child.resolve())
    if not templates:
        shown = ", ".join(str(p) for p in paths)
        raise TemplateError(
            "no CloudFormation templates found",
            where=shown,
            fix=f"pass template files ({', '.join(SUFFIXES)}) or folders that contain them",
        )
    roots = [p for p in templates if p.resolve() not in children]
    if not roots:  # every template nests another: a loop; load them all and let it show
        roots = templates
    return Discovery(roots=roots, skipped=skipped)


def _probe(path: Path, reader: TemplateReader) -> Any:
    """The parsed top level, enough to tell templates from other YAML/JSON files."""
    text = reader.read(path)
    load = load_json if text.lstrip().startswith("{") else load_yaml
    data, _ = load(text, reader.display(path))
    return data


_TEMPLATE_MARKERS = re.compile(r"AWSTemplateFormatVersion|^\s*\"?Resources\"?\s*:", re.MULTILINE)


def _claims_to_be_template(text: str) -> bool:
    return bool(_TEMPLATE_MARKERS.search(text))
