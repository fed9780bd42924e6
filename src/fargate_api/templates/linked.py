"""Which top-level stacks of a set belong together: those linked by imports.

`check` and `cost` judge a folder of unrelated templates one deployment at a time, as
before several stacks could be linked; stacks wired by `Fn::ImportValue` are one
deployment, judged together, so a rule sees the VPC stack's subnets behind the service
stack's import.
"""

from __future__ import annotations

from fargate_api.templates.model import StackSet


def linked_groups(stack_set: StackSet) -> list[StackSet]:
    """One StackSet per group of top-level stacks that imports connect, in deploy order."""
    roots = [stack.key for stack in stack_set.top_level()]
    if len(roots) == 1:
        return [stack_set]
    group = {key: key for key in roots}

    def find(key: str) -> str:
        while group[key] != key:
            key = group[key]
        return key

    for link in stack_set.imports:
        group[find(stack_set.root_of(link.importer))] = find(link.exporter)
    found: dict[str, list[str]] = {}
    for key in roots:
        found.setdefault(find(key), []).append(key)
    if len(found) == 1:
        return [stack_set]
    return [_subset(stack_set, members) for members in found.values()]


def _subset(stack_set: StackSet, roots: list[str]) -> StackSet:
    keys = {key for key in stack_set.stacks if stack_set.root_of(key) in roots}
    stacks = {key: stack for key, stack in stack_set.stacks.items() if key in keys}
    files = {stack.file.path for stack in stacks.values()}
    return StackSet(
        root=stack_set.stacks[roots[0]],
        stacks=stacks,
        links=tuple(link for link in stack_set.links if link.parent in keys),
        files={path: file for path, file in stack_set.files.items() if path in files},
        roots=tuple(stack_set.stacks[key] for key in roots),
        imports=tuple(link for link in stack_set.imports if link.importer in keys),
    )
