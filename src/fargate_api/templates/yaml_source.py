"""YAML templates: short-form tags to long form, and the line of every key.

PyYAML's composer gives nodes with marks; walking them ourselves (rather than letting a
constructor build objects) keeps both the data and, for each path, the line, which the
findings need. Duplicate keys are refused: PyYAML would keep the last silently while
CloudFormation rejects the template.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.intrinsics import SHORT_TAGS

Path_ = tuple[str | int, ...]

# Aliases can make a small file expand enormously ("billion laughs").
MAX_NODES = 500_000
YAML_PREFIX = "tag:yaml.org,2002:"


def load_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
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
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag.startswith("!"):
            return self.short_form(node, path)
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

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
        return self.constructor.construct_object(node, deep=True)

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
