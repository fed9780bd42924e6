"""YAML templates: short-form tags to long form, and the line of every key.

PyYAML's composer gives nodes with marks; walking them ourselves (rather than letting a
constructor build objects) keeps both the data and, for each path, the line, which the
findings need. Duplicate keys are refused: PyYAML would keep the last silently while
CloudFormation rejects the template.

Input is bounded before anything recurses on it: nesting deeper than MAX_DEPTH is
refused while composing (PyYAML's composer and this walker recurse once per level, so a
file nested a few hundred levels deep would otherwise end in a RecursionError), and so
is an alias inside the node it names (a cycle no value can hold). Numbers that are not
finite JSON numbers (`.inf`, `.nan`, ints past Python's digit limit) are refused too:
CloudFormation templates are JSON data, and they would come out as invalid JSON later.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.intrinsics import SHORT_TAGS
from fargate_api.templates.limits import MAX_DEPTH, too_deep

Path_ = tuple[str | int, ...]

# Aliases can make a small file expand enormously ("billion laughs").
MAX_NODES = 500_000
YAML_PREFIX = "tag:yaml.org,2002:"


class _TooDeepError(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at MAX_DEPTH levels instead of recursing on."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _TooDeepError(event.start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
    except _TooDeepError as exc:
        raise too_deep(f"{source}:{exc.line}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = exc.problem or exc.context or "syntax error"
        raise TemplateError(
            f"not valid YAML: {problem}",
            where=where,
            fix="fix the syntax there (indentation, quotes, a stray ':' or tab)",
        ) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {exc}", where=source) from None
    if root is None:
        return None, {}
    walker = _Walker(source)
    return walker.value(root, ()), walker.lines


class _Walker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.count = 0
        self.constructor = SafeConstructor()
        self.open: set[int] = set()  # the nodes being walked: an alias to one is a cycle

    def where(self, node: Node) -> str:
        return f"{self.source}:{node.start_mark.line + 1}"

    def value(self, node: Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise TemplateError(
                f"more than {MAX_NODES} values once YAML aliases are expanded",
                where=self.source,
                fix="CloudFormation does not support aliases; write the values out",
            )
        if id(node) in self.open:
            raise TemplateError(
                "recursive alias: an alias inside the node its anchor names",
                where=self.where(node),
                fix="CloudFormation does not support aliases; write the values out",
            )
        if len(path) > MAX_DEPTH:  # aliases can nest deeper than the text does
            raise too_deep(self.where(node))
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, ScalarNode) and not node.tag.startswith("!"):
            return self.scalar(node)
        self.open.add(id(node))
        try:
            if node.tag.startswith("!"):
                return self.short_form(node, path)
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            assert isinstance(node, SequenceNode)
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise TemplateError(
                    "a mapping key must be a plain string", where=self.where(key_node)
                )
            if key_node.tag == YAML_PREFIX + "merge":
                raise TemplateError(
                    "YAML merge keys (<<) are not supported by CloudFormation",
                    where=self.where(key_node),
                )
            key = str(key_node.value)
            if key in result:
                raise TemplateError(
                    f"duplicate key '{key}'",
                    where=self.where(key_node),
                    fix="CloudFormation rejects duplicate keys; keep one",
                )
            key_path = (*path, key)
            self.lines[key_path] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, key_path)
        return result

    def scalar(self, node: Node) -> Any:
        # CloudFormation reads dates such as 2012-10-17 as strings; keep the source text.
        if node.tag in (YAML_PREFIX + "timestamp", YAML_PREFIX + "binary"):
            return str(node.value)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ValueError:  # an int past Python's digit limit (4300 digits)
            raise TemplateError(
                f"a number too long to read ({len(str(node.value))} characters)",
                where=self.where(node),
                fix="quote the value if it is text; CloudFormation numbers are far shorter",
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise TemplateError(
                f"{node.value!r} is not a finite number (JSON, and so CloudFormation, "
                "has no NaN or Infinity)",
                where=self.where(node),
                fix="write a finite number, or quote the value if it is text",
            )
        return value

    def short_form(self, node: Node, path: Path_) -> dict[str, Any]:
        name = SHORT_TAGS.get(node.tag)
        if name is None:
            raise TemplateError(
                f"unknown intrinsic function {node.tag}",
                where=self.where(node),
                fix="use a CloudFormation short form such as !Ref, !Sub, !GetAtt, !Join, !If",
            )
        inner = (*path, name)
        self.lines.setdefault(inner, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            text = str(node.value)
            if name == "Fn::GetAtt":
                return {name: text.split(".", 1)}
            # A tagged scalar is a string for CloudFormation (!GetAZs '' and !Ref Name).
            return {name: text}
        if isinstance(node, SequenceNode):
            return {name: [self.value(item, (*inner, i)) for i, item in enumerate(node.value)]}
        assert isinstance(node, MappingNode)
        return {name: self.mapping(node, inner)}
