"""Static evaluation of intrinsic functions within one stack.

What can be computed without deploying is computed (parameters, pseudo parameters,
mappings, conditions, string functions, and the few attributes CloudFormation derives
from a literal name, such as an ECR repository's URI); other physical ids and attributes
stay symbolic (ResourceRef, AttributeRef); the rest becomes Unresolved with the reason. Malformed
arguments never raise: cfn-lint reports them, and the resolver must not crash on the
templates it is meant to diagnose. Only an unknown function name is an input error.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Callable, Mapping
from typing import Any

from fargate_api.templates.intrinsics import function_name
from fargate_api.templates.model import Parameter, PropertyPath, TemplateFile
from fargate_api.templates.options import ResolveOptions
from fargate_api.templates.sub import Hole, parse_sub
from fargate_api.templates.values import (
    AttributeRef,
    ResourceRef,
    Text,
    Unresolved,
    UnresolvedKind,
    concat,
    is_plain,
    split,
)

NestedOutput = Callable[[str, str], Any]
# An export's value by name, from another top-level stack of the set; the path is where
# the Fn::ImportValue stands, for the loader's messages. None: no stack of the set is
# asked (one template read alone), the import stays Unresolved.
ImportValue = Callable[[str, PropertyPath], Any]
NESTED_STACK_TYPES = ("AWS::CloudFormation::Stack", "AWS::Serverless::Application")

# Attributes that CloudFormation derives from a name the template sets: (type, attribute)
# -> (the naming property, the attribute's shape). With a literal name the value is known
# before deploy, as CloudFormation itself returns it (the twin runs images under the
# repository URI a deploy would push to); without one it stays an AttributeRef.
DERIVED_ATTRIBUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("AWS::ECR::Repository", "RepositoryUri"): (
        "RepositoryName",
        "{account}.dkr.ecr.{region}.{url_suffix}/{name}",
    ),
    ("AWS::ECR::Repository", "Arn"): (
        "RepositoryName",
        "arn:{partition}:ecr:{region}:{account}:repository/{name}",
    ),
}


class _NoValue:
    """AWS::NoValue: the enclosing key or list item disappears."""


NO_VALUE = _NoValue()


def _invalid(detail: str) -> Unresolved:
    return Unresolved(UnresolvedKind.INVALID, detail)


class Resolver:
    def __init__(
        self,
        *,
        stack_key: str,
        stack_name: str,
        file: TemplateFile,
        parameters: Mapping[str, Parameter],
        options: ResolveOptions,
        nested_output: NestedOutput,
        import_value: ImportValue | None = None,
    ) -> None:
        self.stack_key = stack_key
        self.stack_name = stack_name
        self.file = file
        self.parameters = parameters
        self.options = options
        self.nested_output = nested_output
        self.import_value = import_value
        data = file.data
        self.resources: Mapping[str, Any] = data.get("Resources") or {}
        self.mappings: Mapping[str, Any] = _mapping(data.get("Mappings"))
        self.condition_bodies: Mapping[str, Any] = _mapping(data.get("Conditions"))
        self._conditions: dict[str, bool | None] = {}
        self._evaluating: set[str] = set()
        self._deriving: set[str] = set()

    # -- entry points ------------------------------------------------------------------

    def resolve(self, node: Any, path: PropertyPath) -> Any:
        value = self._resolve(node, path)
        return None if value is NO_VALUE else value

    def condition(self, name: str) -> bool | None:
        """True/False when decidable from parameters and pseudo parameters, else None."""
        if name in self._conditions:
            return self._conditions[name]
        if name in self._evaluating or name not in self.condition_bodies:
            return None
        self._evaluating.add(name)
        try:
            result = self._truth(self.condition_bodies[name], ("Conditions", name))
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = result
        return result

    def resource_created(self, logical_id: str) -> bool | None:
        body = self.resources.get(logical_id)
        if not isinstance(body, dict) or "Condition" not in body:
            return True
        condition = body["Condition"]
        return self.condition(condition) if isinstance(condition, str) else None

    # -- walking -----------------------------------------------------------------------

    def _where(self, path: PropertyPath) -> str:
        line = self.file.line_of(path)
        return f"{self.file.display}:{line}" if line else self.file.display

    def _resolve(self, node: Any, path: PropertyPath) -> Any:
        if isinstance(node, dict):
            name = function_name(node, self._where(path))
            if name is not None:
                return self._call(name, node[name], (*path, name))
            result: dict[str, Any] = {}
            for key, child in node.items():
                value = self._resolve(child, (*path, key))
                if value is not NO_VALUE:
                    result[key] = value
            return result
        if isinstance(node, list):
            items = [self._resolve(child, (*path, i)) for i, child in enumerate(node)]
            return [item for item in items if item is not NO_VALUE]
        return node

    def _call(self, name: str, arg: Any, path: PropertyPath) -> Any:
        handler = _HANDLERS.get(name)
        if handler is None:
            if name in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
                truth = self._truth({name: arg}, path)
                return truth if truth is not None else Unresolved(UnresolvedKind.CONDITION, name)
            if name == "Fn::Transform":
                return Unresolved(UnresolvedKind.TRANSFORM, "Fn::Transform runs at deploy time")
            return Unresolved(UnresolvedKind.UNSUPPORTED, f"{name} is not evaluated statically")
        return handler(self, arg, path)

    # -- functions ---------------------------------------------------------------------

    def _ref(self, arg: Any, path: PropertyPath) -> Any:
        name = self._resolve(arg, path)
        if not isinstance(name, str):
            return _invalid("Ref needs a name")
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name].value
        if name in self.resources:
            if self.resource_created(name) is False:
                return Unresolved(UnresolvedKind.REFERENCE, f"{name} is not created")
            return ResourceRef(self.stack_key, name)
        return Unresolved(UnresolvedKind.REFERENCE, f"no parameter or resource named {name}")

    def _pseudo(self, name: str) -> Any:
        o = self.options
        values: dict[str, Any] = {
            "AWS::AccountId": o.account_id,
            "AWS::Region": o.region,
            "AWS::Partition": o.partition,
            "AWS::URLSuffix": o.url_suffix,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{o.partition}:cloudformation:{o.region}:{o.account_id}:"
            f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        return values.get(name)

    def _get_att(self, arg: Any, path: PropertyPath) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2:
            return _invalid("Fn::GetAtt needs [resource, attribute]")
        logical_id = self._resolve(arg[0], (*path, 0))
        attribute = self._resolve(arg[1], (*path, 1))
        if not isinstance(logical_id, str) or not isinstance(attribute, str):
            return _invalid("Fn::GetAtt needs names")
        return self._attribute(logical_id, attribute)

    def _attribute(self, logical_id: str, attribute: str) -> Any:
        body = self.resources.get(logical_id)
        if not isinstance(body, dict):
            return Unresolved(UnresolvedKind.REFERENCE, f"no resource named {logical_id}")
        if self.resource_created(logical_id) is False:
            return Unresolved(UnresolvedKind.REFERENCE, f"{logical_id} is not created")
        if body.get("Type") in NESTED_STACK_TYPES and attribute.startswith("Outputs."):
            return self.nested_output(logical_id, attribute.removeprefix("Outputs."))
        derived = self._derived(logical_id, body, attribute)
        if derived is not None:
            return derived
        return AttributeRef(self.stack_key, logical_id, attribute)

    def _derived(self, logical_id: str, body: Mapping[str, Any], attribute: str) -> str | None:
        """An attribute CloudFormation computes from the resource's own literal name (see
        DERIVED_ATTRIBUTES), or None: then it stays an AttributeRef, known after deploy."""
        rule = DERIVED_ATTRIBUTES.get((str(body.get("Type")), attribute))
        if rule is None:
            return None
        name_property, shape = rule
        properties = body.get("Properties")
        if not isinstance(properties, dict) or name_property not in properties:
            return None  # CloudFormation generates the name: unknown before deploy
        if logical_id in self._deriving:
            return None  # a name made from its own attribute: cfn-lint reports the loop
        self._deriving.add(logical_id)
        try:
            name = self._resolve(
                properties[name_property], ("Resources", logical_id, "Properties", name_property)
            )
        finally:
            self._deriving.discard(logical_id)
        if not isinstance(name, str) or not name:
            return None
        o = self.options
        return shape.format(
            name=name,
            account=o.account_id,
            region=o.region,
            partition=o.partition,
            url_suffix=o.url_suffix,
        )

    def _sub(self, arg: Any, path: PropertyPath) -> Any:
        variables: dict[str, Any] = {}
        template = arg
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                return _invalid("Fn::Sub needs a string or [string, {variables}]")
            template = arg[0]
            variables = {k: self._resolve(v, (*path, 1, k)) for k, v in arg[1].items()}
        template = self._resolve(template, (*path, 0) if isinstance(arg, list) else path)
        if not isinstance(template, str):
            return _invalid("Fn::Sub needs a string")
        parts: list[Any] = []
        for part in parse_sub(template):
            if isinstance(part, str):
                parts.append(part)
                continue
            value = self._hole(part, variables)
            if value is NO_VALUE:
                value = ""
            parts.append(_as_text_part(value))
        return concat(parts)

    def _hole(self, hole: Hole, variables: Mapping[str, Any]) -> Any:
        if hole.name in variables:
            return variables[hole.name]
        if "." in hole.name and not hole.name.startswith("AWS::"):
            logical_id, attribute = hole.name.split(".", 1)
            return self._attribute(logical_id, attribute)
        return self._ref(hole.name, ())

    def _join(self, arg: Any, path: PropertyPath) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return _invalid("Fn::Join needs [delimiter, [values]]")
        delimiter = self._resolve(arg[0], (*path, 0))
        values = self._resolve(arg[1], (*path, 1))
        if isinstance(values, Unresolved):
            return values
        if not isinstance(delimiter, str) or not isinstance(values, list):
            return _invalid("Fn::Join needs a string delimiter and a list")
        parts: list[Any] = []
        for i, value in enumerate(values):
            if i:
                parts.append(delimiter)
            parts.append(_as_text_part(value))
        return concat(parts)

    def _select(self, arg: Any, path: PropertyPath) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return _invalid("Fn::Select needs [index, [values]]")
        index = self._resolve(arg[0], (*path, 0))
        values = self._resolve(arg[1], (*path, 1))
        if isinstance(index, Unresolved):
            return index
        if isinstance(values, Unresolved):
            return values
        try:
            position = int(index)
        except (TypeError, ValueError):
            return _invalid("Fn::Select needs a number as index")
        if not isinstance(values, list):
            return _invalid("Fn::Select needs a list")
        if not 0 <= position < len(values):
            return _invalid(f"Fn::Select index {position} is outside a list of {len(values)}")
        return values[position]

    def _split(self, arg: Any, path: PropertyPath) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return _invalid("Fn::Split needs [delimiter, string]")
        delimiter = self._resolve(arg[0], (*path, 0))
        source = self._resolve(arg[1], (*path, 1))
        if not isinstance(delimiter, str) or not delimiter:
            return _invalid("Fn::Split needs a delimiter")
        return split(source, delimiter)

    def _find_in_map(self, arg: Any, path: PropertyPath) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            return _invalid("Fn::FindInMap needs [map, top-level key, second-level key]")
        keys = [self._resolve(item, (*path, i)) for i, item in enumerate(arg[:3])]
        default = None
        if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            default = self._resolve(arg[3]["DefaultValue"], (*path, 3, "DefaultValue"))
        unknown = next((k for k in keys if isinstance(k, Unresolved)), None)
        if unknown is not None:
            return unknown
        if not all(isinstance(k, str | int) for k in keys):
            return _invalid("Fn::FindInMap needs string keys")
        level: Any = self.mappings
        for key in keys:
            level = level.get(str(key)) if isinstance(level, dict) else None
        if level is None:
            if default is not None:
                return default
            return _invalid(f"no mapping entry {'/'.join(str(k) for k in keys)}")
        return level

    def _get_azs(self, arg: Any, path: PropertyPath) -> Any:
        region = self._resolve(arg, path)
        if isinstance(region, Unresolved):
            return region
        if region in ("", None):
            region = self.options.region
        if not isinstance(region, str):
            return _invalid("Fn::GetAZs needs a region")
        return self.options.availability_zones(region)

    def _if(self, arg: Any, path: PropertyPath) -> Any:
        if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
            return _invalid("Fn::If needs [condition, value if true, value if false]")
        truth = self.condition(arg[0])
        if truth is None:
            return Unresolved(UnresolvedKind.CONDITION, f"condition {arg[0]} cannot be decided")
        return self._resolve(arg[1], (*path, 1)) if truth else self._resolve(arg[2], (*path, 2))

    def _import_value(self, arg: Any, path: PropertyPath) -> Any:
        name = self._resolve(arg, path)
        if isinstance(name, str) and self.import_value is not None:
            return self.import_value(name, path)
        shown = name if isinstance(name, str) else str(name)
        return Unresolved(UnresolvedKind.IMPORT, f"export {shown} of another stack")

    def _get_stack_output(self, arg: Any, path: PropertyPath) -> Any:
        """An output of another, separately deployed stack (CDK's weak cross-stack refs)."""
        value = self._resolve(arg, path)
        if not isinstance(value, dict):
            return _invalid("Fn::GetStackOutput needs {StackName, OutputName}")
        stack, output = value.get("StackName"), value.get("OutputName")
        shown = f"output {output} of stack {stack}"
        return Unresolved(UnresolvedKind.IMPORT, shown)

    def _base64(self, arg: Any, path: PropertyPath) -> Any:
        value = self._resolve(arg, path)
        if isinstance(value, str):
            return base64.b64encode(value.encode()).decode()
        return (
            value
            if isinstance(value, Unresolved)
            else Unresolved(UnresolvedKind.UNSUPPORTED, "Fn::Base64 of a deploy-time value")
        )

    def _cidr(self, arg: Any, path: PropertyPath) -> Any:
        if not isinstance(arg, list) or len(arg) != 3:
            return _invalid("Fn::Cidr needs [block, count, bits]")
        block, count, bits = (self._resolve(item, (*path, i)) for i, item in enumerate(arg))
        try:
            network = ipaddress.ip_network(str(block), strict=False)
            new_prefix = network.max_prefixlen - int(bits)
            subnets = network.subnets(new_prefix=new_prefix)
            return [str(next(subnets)) for _ in range(int(count))]
        except (ValueError, TypeError, StopIteration):
            if not is_plain([block, count, bits]):
                return Unresolved(UnresolvedKind.UNSUPPORTED, "Fn::Cidr of a deploy-time value")
            return _invalid("Fn::Cidr arguments do not describe subnets")

    def _length(self, arg: Any, path: PropertyPath) -> Any:
        value = self._resolve(arg, path)
        return len(value) if isinstance(value, list) else _invalid("Fn::Length needs a list")

    def _to_json_string(self, arg: Any, path: PropertyPath) -> Any:
        value = self._resolve(arg, path)
        if is_plain(value):
            return json.dumps(value, separators=(",", ":"))
        return Unresolved(UnresolvedKind.UNSUPPORTED, "Fn::ToJsonString of a deploy-time value")

    # -- conditions --------------------------------------------------------------------

    def _truth(self, node: Any, path: PropertyPath) -> bool | None:
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if not isinstance(node, dict) or len(node) != 1:
            return None
        ((name, arg),) = node.items()
        if name == "Condition":
            return self.condition(arg) if isinstance(arg, str) else None
        if name in ("Fn::And", "Fn::Or"):
            if not isinstance(arg, list):
                return None
            values = [self._truth(item, (*path, name, i)) for i, item in enumerate(arg)]
            decisive: bool = name == "Fn::Or"  # Or is decided by a True, And by a False
            if decisive in values:
                return decisive
            return None if None in values else not decisive
        if name == "Fn::Not":
            inner = arg[0] if isinstance(arg, list) and len(arg) == 1 else None
            truth = self._truth(inner, (*path, name, 0))
            return None if truth is None else not truth
        if name == "Fn::Equals":
            if not isinstance(arg, list) or len(arg) != 2:
                return None
            left, right = (self.resolve(item, (*path, name, i)) for i, item in enumerate(arg))
            if left == right:
                return True
            if is_plain(left) and is_plain(right):
                return bool(_scalar_text(left) == _scalar_text(right))
            return None
        return self._truth(self.resolve(node, path), path) if name.startswith("Fn::") else None


def _as_text_part(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str | Text | ResourceRef | AttributeRef | Unresolved):
        return value
    return _invalid(f"a {type(value).__name__} cannot be part of a string")


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


_HANDLERS: dict[str, Callable[[Resolver, Any, PropertyPath], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::GetAZs": Resolver._get_azs,
    "Fn::If": Resolver._if,
    "Fn::ImportValue": Resolver._import_value,
    "Fn::GetStackOutput": Resolver._get_stack_output,
    "Fn::Base64": Resolver._base64,
    "Fn::Cidr": Resolver._cidr,
    "Fn::Length": Resolver._length,
    "Fn::ToJsonString": Resolver._to_json_string,
}
