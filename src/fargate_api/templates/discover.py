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
from fargate_api.templates.loader import local_child_path, nested_location
from fargate_api.templates.parse import parse_text, template_problem
from fargate_api.templates.reader import TemplateReader, resolved
from fargate_api.templates.stack_inputs import StackInput

SUFFIXES = (".yml", ".yaml", ".json", ".template")


@dataclass(frozen=True)
class Discovery:
    stacks: list[StackInput]  # the top-level stacks, each with the name -t gave it
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def roots(self) -> list[Path]:
        return [stack.path for stack in self.stacks]


def discover(paths: Sequence[Path | StackInput], reader: TemplateReader) -> Discovery:
    """Roots among the given files and folders; explicit files must be templates. A name
    given with NAME=PATH goes to the one root its PATH holds."""
    inputs = [p if isinstance(p, StackInput) else StackInput(p) for p in paths]
    names = {item.path: item.name for item in inputs if item.name is not None}
    candidates: list[tuple[Path, bool]] = []
    for path in (item.path for item in inputs):
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
            # Named for what it is (a pipe, a device, a link loop): "no such file" misleads.
            problem = reader.problem(path)
            if problem is None or problem.missing:
                raise TemplateError(
                    "no such file or folder", where=str(path), fix="pass template files or folders"
                )
            raise TemplateError(problem.what, where=str(path), fix=problem.fix)
    templates: list[Path] = []
    shown = ", ".join(str(item.path) for item in inputs)
    skipped: list[tuple[Path, str]] = []
    children: set[Path] = set()
    for path, explicit in dict.fromkeys(candidates):
        try:
            data = _probe(path, reader)
        except TemplateError:
            # In a folder, an unparsable file that does not even look like a template
            # (a CI config with its own tags, say) is skipped, not an error.
            if explicit or _claims_to_be_template(_head(path, reader)):
                raise
            skipped.append((path, "not a CloudFormation template (not parsable)"))
            continue
        not_template = template_problem(data)
        if not_template is not None:
            if explicit:
                raise TemplateError(
                    not_template,
                    where=reader.display(path),
                    fix="pass a CloudFormation template (YAML or JSON) or a folder of them",
                )
            skipped.append((path, "not a CloudFormation template"))
            continue
        templates.append(path)
        for body in data["Resources"].values():
            child = local_child_path(path, nested_location(body))
            if child is not None:
                children.add(resolved(child))
    if not templates:
        raise TemplateError(
            "no CloudFormation templates found",
            where=shown,
            fix=f"pass template files ({', '.join(SUFFIXES)}) or folders that contain them",
        )
    roots = [p for p in templates if resolved(p) not in children]
    if not roots:  # every template nests another: a loop; load them all and let it show
        roots = templates
    return Discovery(stacks=_named(roots, names, reader), skipped=skipped)


def _named(roots: list[Path], names: dict[Path, str], reader: TemplateReader) -> list[StackInput]:
    """Each root with the name given to it, or to the folder that holds it alone."""
    stacks = []
    for root in roots:
        owner = next((p for p in names if p == root or p in root.parents), None)
        stacks.append(StackInput(root, names[owner] if owner is not None else None))
    for path, name in names.items():
        held = [s.path for s in stacks if s.name == name]
        if len(held) > 1:
            raise TemplateError(
                f"stack name {name!r} was given to {path}, which holds {len(held)} "
                "top-level templates",
                where=", ".join(reader.display(p) for p in held),
                fix="name each template on its own: -t NAME=FILE",
            )
    return stacks


def _probe(path: Path, reader: TemplateReader) -> Any:
    """The parsed top level, enough to tell templates from other YAML/JSON files."""
    data, _ = parse_text(reader.read(path), reader.display(path))
    return data


HEAD_CHARS = 65_536


def _head(path: Path, reader: TemplateReader) -> str:
    """The text that tells whether an unparsable file claims to be a template: all of it,
    or, for a file the reader refuses whole (one over CloudFormation's 1 MB, such as a big
    cdk.out/tree.json), its beginning, so such a file is skipped unless it is a template."""
    try:
        return reader.read(path)
    except TemplateError:
        try:
            with path.open(encoding="utf-8", errors="replace") as file:
                return file.read(HEAD_CHARS)
        except OSError:
            return ""


_TEMPLATE_MARKERS = re.compile(r"AWSTemplateFormatVersion|^\s*\"?Resources\"?\s*:", re.MULTILINE)


def _claims_to_be_template(text: str) -> bool:
    return bool(_TEMPLATE_MARKERS.search(text))
