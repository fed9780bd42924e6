"""What can be told about a build before running a builder: the inputs exist, the target
is a stage of the Dockerfile, and this machine can run the platform's binaries.

A builder reports these late (after pulling base images, sometimes minutes in) and in
its own words; checking first turns them into a UserError that says where and how to fix
it. The Dockerfile reading is deliberately small: only `FROM ... AS name` matters here,
with the parts of the syntax that can hide or split it (parser directives, comments,
line continuations, heredocs).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fargate_api.errors import UserError
from fargate_api.images.build_request import BuildRequest
from fargate_api.images.platforms import BINFMT_DIR, emulation_problem

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z_]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


def _escape_char(lines: list[str]) -> str:
    """The `# escape=` parser directive (backslash unless set); directives are only read
    before the first comment, blank line or instruction."""
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, one string each, continuations joined, comments and
    heredoc bodies left out."""
    lines = text.splitlines()
    escape = _escape_char(lines)
    result: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and current):
            continue  # a comment, or a blank line inside a continuation: both ignored
        if not stripped:
            continue
        if stripped.endswith(escape):
            current.append(stripped[:-1])
            continue
        current.append(stripped)
        instruction = " ".join(part.strip() for part in current if part.strip())
        current = []
        result.append(instruction)
        index = _skip_heredocs(instruction, lines, index)
    if current:
        result.append(" ".join(part.strip() for part in current if part.strip()))
    return result


def _skip_heredocs(instruction: str, lines: list[str], index: int) -> int:
    """The index of the first line after the heredoc bodies `instruction` opens."""
    keyword = instruction.split(maxsplit=1)[0].upper() if instruction else ""
    if keyword not in _HEREDOC_INSTRUCTIONS:
        return index
    for strip_tabs, _, word in _HEREDOC.findall(instruction):
        while index < len(lines):
            body = lines[index].lstrip("\t") if strip_tabs else lines[index]
            index += 1
            if body.rstrip() == word:
                break
    return index


def stage_names(text: str) -> list[str]:
    """The names of the Dockerfile's stages (`FROM image AS name`), in order, as written."""
    names: list[str] = []
    for instruction in instructions(text):
        words = instruction.split()
        if not words or words[0].upper() != "FROM":
            continue
        rest = [w for w in words[1:] if not w.startswith("--")]
        if len(rest) >= 3 and rest[1].upper() == "AS":
            names.append(rest[2])
    return names


def check_inputs(
    request: BuildRequest, *, machine: str | None = None, binfmt_dir: Path = BINFMT_DIR
) -> None:
    """Raises UserError when the build cannot work: run it before any builder.

    `machine` (platform.machine() by default) and `binfmt_dir` are for tests.
    """
    context = request.context
    if not context.is_dir():
        what = "is not a folder" if context.exists() else "does not exist"
        raise UserError(
            f"the build context {what}",
            where=str(context),
            fix="set `build` in [service] (or `context` in [service.build]) to the folder "
            "that holds the application and its Dockerfile",
        )
    dockerfile = request.dockerfile
    if not dockerfile.is_file():
        raise UserError(
            "no Dockerfile found",
            where=str(dockerfile),
            fix=f"looked for it at {dockerfile}; create it there, or set `dockerfile` in "
            "[service.build] to its path, relative to the context folder",
        )
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read the Dockerfile: {exc}",
            where=str(dockerfile),
            fix="make it a readable UTF-8 text file",
        ) from None
    if request.target is not None:
        stages = stage_names(text)
        if request.target.lower() not in {name.lower() for name in stages}:
            listed = ", ".join(stages) if stages else "none (no `FROM image AS name` line)"
            raise UserError(
                f"the build target {request.target!r} is not a stage of the Dockerfile; "
                f"its stages are: {listed}",
                where=str(dockerfile),
                fix="set `target` in [service.build] to one of those stages, or remove it "
                "to build the last stage",
            )
    if sys.platform == "linux":
        problem = emulation_problem(request.platform, machine=machine, binfmt_dir=binfmt_dir)
        if problem is not None:
            raise problem
