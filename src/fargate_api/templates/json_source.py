"""JSON templates with the line of every key.

The standard library parses and reports syntax errors well but keeps no positions, so a
second, small pass over the already-valid text records the line of each key and item.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from typing import Any

from fargate_api.templates.errors import TemplateError

Path_ = tuple[str | int, ...]

# The standard library's own string scanner (exported by json.decoder, untyped in typeshed).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def load_json(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            where=f"{source}:{exc.lineno}",
            fix="fix the syntax there (a missing comma or quote, a trailing comma)",
        ) from None
    positions = _Positions(text, source)
    positions.value(0, ())
    return data, positions.lines


class _Positions:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line(self, index: int) -> int:
        return bisect.bisect_right(self.newlines, index - 1) + 1

    def skip(self, index: int) -> int:
        match = _WHITESPACE.match(self.text, index)
        return match.end() if match else index

    def value(self, index: int, path: Path_) -> int:
        index = self.skip(index)
        self.lines.setdefault(path, self.line(index))
        char = self.text[index]
        if char == "{":
            return self.obj(index + 1, path)
        if char == "[":
            return self.array(index + 1, path)
        if char == '"':
            return _scanstring(self.text, index + 1)[1]
        match = _SCALAR.match(self.text, index)
        assert match, "json.loads accepted the text, so every value is a JSON scalar"
        return match.end()

    def obj(self, index: int, path: Path_) -> int:
        seen: set[str] = set()
        index = self.skip(index)
        if self.text[index] == "}":
            return index + 1
        while True:
            index = self.skip(index)
            key_line = self.line(index)
            key, index = _scanstring(self.text, index + 1)
            if key in seen:
                raise TemplateError(
                    f"duplicate key '{key}'",
                    where=f"{self.source}:{key_line}",
                    fix="CloudFormation rejects duplicate keys; keep one",
                )
            seen.add(key)
            self.lines[(*path, key)] = key_line
            index = self.skip(index) + 1  # the ':'
            index = self.skip(self.value(index, (*path, key)))
            if self.text[index] == "}":
                return index + 1
            index += 1  # the ','

    def array(self, index: int, path: Path_) -> int:
        index = self.skip(index)
        if self.text[index] == "]":
            return index + 1
        item = 0
        while True:
            index = self.skip(self.value(index, (*path, item)))
            item += 1
            if self.text[index] == "]":
                return index + 1
            index += 1
