"""Where a key stands in a TOML file, and the file's text parsed: what the config loader
and the twin's experiment files both need to point an error at its line.

tomllib gives values, not positions, so the lines come from a plain scan of the text:
table headers (arrays of tables indexed as pydantic's error locations are), keys, dotted
keys and inline tables. It sits below config/ and the back-ends, so that both use it.
"""

from __future__ import annotations

import re
from typing import Any

from fargate_api.errors import UserError

KeyPath = tuple[str, ...]


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The file's values; invalid TOML is bad input, with tomllib's line and column."""
    import tomllib  # noqa: PLC0415 (only with a file: the config's defaults need no parsing)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"not valid TOML: {exc}",
            where=source,
            fix="see https://toml.io for the syntax; strings need quotes",
        ) from None


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of the key at `path`, else of the nearest table holding it."""
    for size in range(len(path), 0, -1):
        if path[:size] in lines:
            return lines[path[:size]]
    return None


def key_lines(text: str) -> dict[KeyPath, int]:
    """Line of every table header and key in the file, inline tables included. The n-th
    `[[services]]` (or `[[faults]]`) table is ("services", "n-1"), the tables under it
    follow its index."""
    lines: dict[KeyPath, int] = {}
    arrays: dict[KeyPath, int] = {}  # array of tables -> index of its latest element
    current: KeyPath = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = re.match(r"^(\[\[?)\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            current = _resolve(_dotted(header.group(2)), arrays)
            if header.group(1) == "[[":
                index = arrays.get(current, -1) + 1
                arrays[current] = index
                lines.setdefault(current, number)
                current = (*current, str(index))
            for size in range(1, len(current) + 1):
                lines.setdefault(current[:size], number)
            continue
        assignment = re.match(r"^([A-Za-z0-9_\-\".]+)\s*=\s*(.*)$", stripped)
        if not assignment:
            continue
        path = current + _dotted(assignment.group(1))
        lines.setdefault(path, number)
        value = assignment.group(2)
        if value.startswith("{"):
            for inner in re.findall(r"([A-Za-z0-9_\-]+)\s*=", value):
                lines.setdefault((*path, inner), number)
    return lines


def _resolve(parts: KeyPath, arrays: dict[KeyPath, int]) -> KeyPath:
    """A header's path with the index of every array of tables it passes through (its
    last key is the table or array the header opens, so it takes no index)."""
    resolved: KeyPath = ()
    for part in parts[:-1]:
        resolved = (*resolved, part)
        if resolved in arrays:
            resolved = (*resolved, str(arrays[resolved]))
    return (*resolved, *parts[-1:])


def _dotted(name: str) -> KeyPath:
    return tuple(part.strip().strip('"') for part in name.split("."))
