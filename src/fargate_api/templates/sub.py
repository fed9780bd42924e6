"""Fn::Sub's template syntax: literal text and ${Name} / ${Resource.Attribute} holes.

`${!Literal}` stays as the text `${Literal}`, as CloudFormation writes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hole:
    name: str


def parse_sub(template: str) -> list[str | Hole]:
    parts: list[str | Hole] = []
    literal: list[str] = []
    index = 0
    while index < len(template):
        start = template.find("${", index)
        if start < 0:
            literal.append(template[index:])
            break
        end = template.find("}", start + 2)
        if end < 0:
            literal.append(template[index:])
            break
        literal.append(template[index:start])
        name = template[start + 2 : end]
        if name.startswith("!"):
            literal.append("${" + name[1:] + "}")
        else:
            parts.append("".join(literal))
            literal = []
            parts.append(Hole(name.strip()))
        index = end + 1
    parts.append("".join(literal))
    return [p for p in parts if p != ""]
