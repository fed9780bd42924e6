"""Loads top-level templates and, recursively, the local templates of their nested stacks.

A nested stack's parameters are resolved in the parent, so a child sees the parent's
values (including references to resources of sibling stacks, through their outputs).
Children are built on first need: resolving a parent's `!GetAtt VpcStack.Outputs.X`
builds VpcStack before the resource that asked for it, whatever the file order.

Several top-level stacks are wired the same way through `Export` and `Fn::ImportValue`:
every top-level stack's export names are resolved first (they depend on parameters and
`AWS::StackName`, not on other stacks), then an import builds the exporting stack on
first need and takes its output's value, so a Ref to the VPC stack's subnet reaches the
subnet itself. The order in which the top-level stacks finish is the order a deploy must
create them in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.exports import Export, ExportIndex, import_cycle, missing_export
from fargate_api.templates.model import (
    ImportLink,
    Output,
    PropertyPath,
    Resource,
    Stack,
    StackLink,
    StackSet,
    TemplateFile,
)
from fargate_api.templates.options import ResolveOptions
from fargate_api.templates.parameters import effective_parameters
from fargate_api.templates.parse import parse_template
from fargate_api.templates.reader import DiskReader, TemplateReader, resolved
from fargate_api.templates.resolver import NESTED_STACK_TYPES, Resolver
from fargate_api.templates.stack_inputs import StackInput
from fargate_api.templates.values import Unresolved, UnresolvedKind

MAX_NESTING = 10
REMOTE_PREFIXES = ("http://", "https://", "s3://")


MissingExports = Literal["error", "unresolved"]


def load_stack_set(
    root: Path,
    *,
    reader: TemplateReader | None = None,
    options: ResolveOptions | None = None,
) -> StackSet:
    """One top-level template; an import stays Unresolved (its exporter is not here)."""
    return load_stacks([StackInput(root)], reader=reader, options=options)


def load_stacks(
    stacks: Sequence[StackInput],
    *,
    reader: TemplateReader | None = None,
    options: ResolveOptions | None = None,
    missing_exports: MissingExports | None = None,
) -> StackSet:
    """Top-level stacks linked by exports. An import no given stack exports is an error
    when several stacks are given (the set is meant to be whole), or with "error";
    with one template alone it stays Unresolved, so `check` still reads a service stack
    whose VPC stack was deployed on its own. `options.parameters` go to every top-level
    stack that declares them."""
    if not stacks:
        raise TemplateError("no templates given", fix="pass a template file or folder")
    options = options or ResolveOptions()
    mode = missing_exports or ("error" if len(stacks) > 1 else "unresolved")
    builder = _Builder(reader or DiskReader(), options, require_exports=mode == "error")
    roots = builder.top_level(stacks)
    return StackSet(
        root=roots[0],
        stacks=dict(builder.stacks),
        links=tuple(builder.links),
        files=dict(builder.files),
        roots=tuple(roots),
        imports=tuple(builder.imports),
    )


def nested_location(body: Any) -> Any:
    """The raw Location/TemplateURL of a nested stack resource body, if it is one."""
    if not isinstance(body, dict) or body.get("Type") not in NESTED_STACK_TYPES:
        return None
    properties = body.get("Properties")
    if not isinstance(properties, dict):
        return None
    key = "Location" if body["Type"] == "AWS::Serverless::Application" else "TemplateURL"
    return properties.get(key)


def local_child_path(parent: Path, location: Any) -> Path | None:
    """The child template's path, relative to the parent's folder and normalised lexically
    (`nodir/../child.yml` is `child.yml`), the way `aws cloudformation package` and `sam`
    join a local TemplateURL to its parent's folder (os.path.normpath), so the file that
    gets packaged is the file read here, and one file has one path."""
    if not isinstance(location, str) or location.startswith(REMOTE_PREFIXES) or not location:
        return None
    return Path(os.path.normpath(parent.parent / location.removeprefix("file://")))


@dataclass
class _Context:
    """A stack being built: what its resolver and its children need."""

    key: str
    file: TemplateFile
    resolver: Resolver
    chain: tuple[Path, ...]
    root: str  # the key of its top-level stack


@dataclass
class _TopLevel:
    """A top-level stack before it is built: enough to resolve its export names."""

    key: str
    name: str
    file: TemplateFile
    context: _Context | None = None


class _Builder:
    def __init__(
        self, reader: TemplateReader, options: ResolveOptions, *, require_exports: bool = False
    ) -> None:
        self.reader = reader
        self.options = options
        self.require_exports = require_exports
        self.files: dict[Path, TemplateFile] = {}
        self.stacks: dict[str, Stack] = {}
        self.links: list[StackLink] = []
        self.imports: list[ImportLink] = []
        self.building: set[str] = set()
        self.exports = ExportIndex()
        self.top: dict[str, _TopLevel] = {}
        self.finished: list[Stack] = []
        # The top-level stacks waiting on an import, innermost last: (importer's root,
        # export name, where the import stands), to name a cycle.
        self.waiting: list[tuple[str, str, str]] = []

    def top_level(self, inputs: Sequence[StackInput]) -> list[Stack]:
        """Every top-level stack built, in the order a deploy must create them."""
        for item in inputs:
            file = self.file(item.path)
            name = item.name or Path(item.path).stem
            key = file.display if file.display not in self.top else f"{file.display}#{name}"
            self.top[key] = _TopLevel(key, name, file)
        for top in self.top.values():
            top.context = self._context(
                top.file, key=top.key, name=top.name, passed=dict(self.options.parameters)
            )
            self._index_exports(top)
        for top in self.top.values():
            self._build_top(top)
        return self.finished

    def _index_exports(self, top: _TopLevel) -> None:
        assert top.context is not None
        resolver = top.context.resolver
        for output, body in _section(top.file.data, "Outputs").items():
            export = body.get("Export") if isinstance(body, dict) else None
            if not isinstance(export, dict) or "Name" not in export:
                continue
            condition = body.get("Condition")
            if isinstance(condition, str) and resolver.condition(condition) is False:
                continue
            path = ("Outputs", output, "Export", "Name")
            name = resolver.resolve(export["Name"], path)
            if isinstance(name, str):
                self.exports.add(Export(name, top.key, output, self._where(top.file, path)))

    def _build_top(self, top: _TopLevel) -> Stack:
        if top.key in self.stacks:
            return self.stacks[top.key]
        assert top.context is not None
        stack = self._build(top.context, name=top.name)
        self.finished.append(stack)
        return stack

    def _import(self, context: _Context, name: str, path: PropertyPath) -> Any:
        where = self._where(context.file, path)
        export = self.exports.get(name)
        if export is None:
            if self.require_exports:
                raise missing_export(name, where, self.exports)
            return Unresolved(UnresolvedKind.IMPORT, f"export {name} of another stack")
        exporter = self.top[export.stack]
        if exporter.key == context.root or exporter.key in self.building:
            steps = [*self.waiting, (context.root, name, where)]
            first = next(i for i, step in enumerate(steps) if step[0] == exporter.key)
            cycle = steps[first:]
            shown = [
                (w, n, self.top[cycle[(i + 1) % len(cycle)][0]].file.display)
                for i, (_, n, w) in enumerate(cycle)
            ]
            raise import_cycle(shown)
        self.waiting.append((context.root, name, where))
        try:
            stack = self._build_top(exporter)
        finally:
            self.waiting.pop()
        output = stack.outputs.get(export.output)
        self.imports.append(ImportLink(context.key, exporter.key, name, export.output, where))
        if output is None:
            return Unresolved(UnresolvedKind.REFERENCE, f"export {name}'s output is not created")
        return output.value

    def file(self, path: Path) -> TemplateFile:
        if path not in self.files:
            text = self.reader.read(path)
            self.files[path] = parse_template(path, self.reader.display(path), text)
        return self.files[path]

    def _context(
        self,
        file: TemplateFile,
        *,
        key: str,
        name: str,
        passed: dict[str, Any],
        chain: tuple[Path, ...] = (),
        root: str | None = None,
    ) -> _Context:
        parameters = effective_parameters(
            _section(file.data, "Parameters"),
            passed,
            where=lambda name: self._where(file, ("Parameters", name)),
        )
        context: _Context

        def nested_output(logical_id: str, output: str) -> Any:
            return self._nested_output(context, logical_id, output)

        def import_value(export: str, path: PropertyPath) -> Any:
            return self._import(context, export, path)

        resolver = Resolver(
            stack_key=key,
            stack_name=name,
            file=file,
            parameters=parameters,
            options=self.options,
            nested_output=nested_output,
            import_value=import_value,
        )
        context = _Context(key, file, resolver, (*chain, file.path), root or key)
        return context

    def _build(self, context: _Context, *, name: str, parent: str | None = None) -> Stack:
        key, file, resolver = context.key, context.file, context.resolver
        self.building.add(key)
        parameters = resolver.parameters
        resources: dict[str, Resource] = {}
        excluded: list[str] = []
        for logical_id, body in _section(file.data, "Resources").items():
            if not isinstance(body, dict) or logical_id.startswith("Fn::ForEach::"):
                continue
            if resolver.resource_created(logical_id) is False:
                excluded.append(logical_id)
                continue
            resource = self._resource(context, logical_id, body)
            resources[logical_id] = resource
            if resource.type in NESTED_STACK_TYPES:
                self._child(context, logical_id)
        outputs = self._outputs(context)
        conditions = {n: resolver.condition(n) for n in _section(file.data, "Conditions")}
        stack = Stack(
            key=key,
            name=name,
            file=file,
            parameters=parameters,
            resources=resources,
            outputs=outputs,
            conditions=conditions,
            excluded=tuple(excluded),
            parent=parent,
        )
        self.stacks[key] = stack
        self.building.discard(key)
        return stack

    def _resource(self, context: _Context, logical_id: str, body: dict[str, Any]) -> Resource:
        base = ("Resources", logical_id)
        resolve = context.resolver.resolve
        properties = resolve(body.get("Properties", {}), (*base, "Properties"))
        metadata = resolve(body.get("Metadata", {}), (*base, "Metadata"))
        depends = body.get("DependsOn", [])
        condition = body.get("Condition")
        return Resource(
            logical_id=logical_id,
            type=str(body.get("Type", "")),
            properties=properties if isinstance(properties, dict) else {},
            raw_properties=_dict(body.get("Properties")),
            metadata=metadata if isinstance(metadata, dict) else {},
            condition=condition if isinstance(condition, str) else None,
            depends_on=tuple(depends) if isinstance(depends, list) else (str(depends),),
            deletion_policy=_str_or_none(body.get("DeletionPolicy")),
            update_replace_policy=_str_or_none(body.get("UpdateReplacePolicy")),
            stack=context.key,
            file=context.file,
        )

    def _outputs(self, context: _Context) -> dict[str, Output]:
        outputs: dict[str, Output] = {}
        for name, body in _section(context.file.data, "Outputs").items():
            if not isinstance(body, dict):
                continue
            condition = body.get("Condition")
            if isinstance(condition, str) and context.resolver.condition(condition) is False:
                continue
            raw = body.get("Value")
            value = context.resolver.resolve(raw, ("Outputs", name, "Value"))
            outputs[name] = Output(name=name, value=value, raw=raw)
        return outputs

    def _child(self, context: _Context, logical_id: str) -> Stack | None:
        """The nested stack that `logical_id` creates, built once; None if not local."""
        key = f"{context.key}/{logical_id}"
        if key in self.stacks:
            return self.stacks[key]
        if key in self.building:
            return None  # a cycle through outputs; the resolver marks the value unresolved
        body = _section(context.file.data, "Resources")[logical_id]
        base = ("Resources", logical_id, "Properties")
        key_name = (
            "Location" if body.get("Type") == "AWS::Serverless::Application" else "TemplateURL"
        )
        location = context.resolver.resolve(nested_location(body), (*base, key_name))
        path = local_child_path(context.file.path, location)
        if path is None:
            return None
        where = self._where(context.file, (*base, key_name))
        problem = self.reader.problem(path)
        if problem is not None:
            raise TemplateError(
                f"nested stack {logical_id}: {self.reader.display(path)}: {problem.what}",
                where=where,
                fix=f"{problem.fix}; the Location/TemplateURL is relative to the parent "
                "template's folder",
            )
        # Compared resolved, so that another spelling of a template above (../X/parent.yml,
        # a symbolic link) is seen as the loop it is, and named as that loop.
        chain = [resolved(p) for p in context.chain]
        if resolved(path) in chain:
            loop = context.chain[chain.index(resolved(path)) :]
            shown = " -> ".join(self.reader.display(p) for p in (*loop, path))
            raise TemplateError(
                f"nested stack {logical_id} includes {self.reader.display(path)}, a template "
                f"that includes this one: a loop ({shown})",
                where=where,
                fix="a nested stack's TemplateURL must name another template than its parents",
            )
        if len(context.chain) >= MAX_NESTING:
            raise TemplateError(
                f"nested stack {logical_id}: nested stacks more than {MAX_NESTING} levels deep",
                where=where,
            )
        passed = context.resolver.resolve(
            _dict(body.get("Properties")).get("Parameters", {}), (*base, "Parameters")
        )
        passed = passed if isinstance(passed, dict) else {}
        child_file = self.file(path)
        child = self._context(
            child_file,
            key=key,
            name=logical_id,
            passed=passed,
            chain=context.chain,
            root=context.root,
        )
        stack = self._build(child, name=logical_id, parent=context.key)
        declared = _section(child_file.data, "Parameters")
        self.links.append(
            StackLink(
                parent=context.key,
                resource=logical_id,
                child=key,
                location=str(location),
                parameters=passed,
                undeclared=tuple(sorted(set(passed) - set(declared))),
                missing=tuple(
                    sorted(
                        name
                        for name, p in stack.parameters.items()
                        if not p.passed and not p.has_default
                    )
                ),
            )
        )
        return stack

    def _nested_output(self, context: _Context, logical_id: str, output: str) -> Any:
        child = self._child(context, logical_id)
        if child is None:
            return Unresolved(
                UnresolvedKind.NESTED_OUTPUT,
                f"output {output} of nested stack {logical_id}, whose template is not local",
            )
        if output not in child.outputs:
            return Unresolved(
                UnresolvedKind.REFERENCE, f"nested stack {logical_id} has no output {output}"
            )
        return child.outputs[output].value

    @staticmethod
    def _where(file: TemplateFile, path: PropertyPath) -> str:
        line = file.line_of(path)
        return f"{file.display}:{line}" if line else file.display


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
