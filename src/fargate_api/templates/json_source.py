"""JSON templates with the line of every key.

The standard library parses and reports syntax errors well but keeps no positions, so a
second, small pass over the already-valid text records the line of each key and item.

Both passes recurse once per nesting level, so the nesting is measured first, without
recursing, and refused past MAX_DEPTH (a RecursionError otherwise). The second pass also
refuses what the standard library accepts but JSON does not have (NaN, Infinity) and
numbers that cannot be read back (past Python's 4300-digit limit, or beyond a float's
range): each with its line, where json.loads would fail without one or let them through.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Callable
from typing import Any

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.limits import MAX_DEPTH, too_deep

Path_ = tuple[str | int, ...]

# The standard library's own string scanner (exported by json.decoder, untyped in typeshed).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_CONSTANT = re.compile(r"true|false|null")
# Strings (JSON strings hold no raw newline) and brackets: enough to measure the nesting.
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}]')
_MAX_INT_DIGITS = 4300  # Python's int(str) limit (sys.get_int_max_str_digits)


def _int(token: str) -> int | None:
    """json.loads' int parser that does not raise past the digit limit: the position pass
    refuses such a number with its line."""
    return int(token) if len(token) <= _MAX_INT_DIGITS else None


def load_json(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    _check_depth(text, source)
    try:
        data = json.loads(text, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            where=f"{source}:{exc.lineno}",
            fix="fix the syntax there (a missing comma or quote, a trailing comma)",
        ) from None
    positions = _Positions(text, source)
    positions.value(0, ())
    return data, positions.lines


def _check_depth(text: str, source: str) -> None:
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise too_deep(f"{source}:{text.count(chr(10), 0, match.start()) + 1}")
        elif char in "]}":
            depth -= 1


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
        constant = _CONSTANT.match(self.text, index)
        if constant:
            return constant.end()
        number = _NUMBER.match(self.text, index)
        if number is None:  # NaN, Infinity or -Infinity: json.loads takes them
            raise TemplateError(
                "not valid JSON: NaN and Infinity are not JSON numbers",
                where=f"{self.source}:{self.line(index)}",
                fix="write a finite number, or a string if it is text",
            )
        token = number.group()
        digits = len(token.lstrip("-"))
        if ("." in token or "e" in token.lower()) and not math.isfinite(float(token)):
            problem = "a number beyond the range of a float"
        elif digits > _MAX_INT_DIGITS and token.lstrip("-").isdigit():
            problem = f"a number too long to read ({digits} digits)"
        else:
            return number.end()
        raise TemplateError(
            problem, where=f"{self.source}:{self.line(index)}", fix="write a smaller number"
        )

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
