"""`diff --env a --env b`: what differs between two environments, template by template.

The environments of one file are meant to differ on purpose only (sizes, counts, a
domain); this shows every difference as the templates carry it, locally and without AWS,
so that a change to the base or to one table can be reviewed before either is deployed.
The comparison is of the synthesized YAML, as `synth --env` would write it.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from fargate_api.config import load_config
from fargate_api.synth.render import synthesize, to_yaml


class TemplateDifference(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str = Field(description="The template's file name, as synth writes it.")
    only_in: str | None = Field(
        default=None, description="The one environment that has the file, if only one does."
    )
    diff: str = Field(description="A unified diff of the two YAML texts (first -> second).")


class EnvironmentDiff(BaseModel):
    """`fargate-api diff --env A --env B --json`."""

    model_config = ConfigDict(frozen=True)

    first: str = Field(description="The first --env: the diff's `a` side.")
    second: str = Field(description="The second --env: the diff's `b` side.")
    changed: list[TemplateDifference] = Field(
        description="Every template whose text differs, in synth's order."
    )
    unchanged: list[str] = Field(description="The templates that are the same in both.")

    def summary(self) -> str:
        total = len(self.changed) + len(self.unchanged)
        if not self.changed:
            each = "template is" if total == 1 else "templates are"
            return f"{self.first} and {self.second}: their {total} {each} the same"
        names = ", ".join(item.file for item in self.changed)
        return (
            f"{self.first} -> {self.second}: {len(self.changed)} of {total} templates "
            f"differ ({names})"
        )


def environment_templates(config: Path | None, env: str) -> dict[str, str]:
    """The YAML text of each template of environment `env`, keyed by file name."""
    model = load_config(config, env)
    return {name: to_yaml(t.to_dict()) for name, t in synthesize(model).items()}


def compare_environments(config: Path | None, first: str, second: str) -> EnvironmentDiff:
    """Both environments' templates, compared as text, file by file."""
    ours, theirs = environment_templates(config, first), environment_templates(config, second)
    files = [*ours, *(name for name in theirs if name not in ours)]
    changed: list[TemplateDifference] = []
    unchanged: list[str] = []
    for name in files:
        before, after = ours.get(name), theirs.get(name)
        if before == after:
            unchanged.append(name)
            continue
        only_in = first if after is None else second if before is None else None
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"a/{name} ({first})",
            tofile=f"b/{name} ({second})",
        )
        changed.append(TemplateDifference(file=name, only_in=only_in, diff="".join(lines)))
    return EnvironmentDiff(first=first, second=second, changed=changed, unchanged=unchanged)
