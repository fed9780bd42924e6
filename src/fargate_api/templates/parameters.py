"""A stack's parameters: what each Ref gives, from the parent's value or the default.

List-typed parameters receive a comma-joined string from a parent (Fn::Join or Fn::Sub
over subnet ids, say), so values are split here the way CloudFormation splits them;
Number parameters become numbers so that rules can compare ports and counts; one that
is not a finite number ("inf", "NaN", "1e400") is refused: CloudFormation would not take
it, and it would come out of `cost --json` as invalid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.model import Parameter
from fargate_api.templates.values import Text, Unresolved, UnresolvedKind, split


def effective_parameters(
    declared: Mapping[str, Any],
    passed: Mapping[str, Any],
    *,
    where: Callable[[str], str] | None = None,
) -> dict[str, Parameter]:
    """Each declared parameter's value; `where(name)` (file:line of the declaration) is
    named when a Number parameter's value is not a finite number."""
    result: dict[str, Parameter] = {}
    for name, raw in declared.items():
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        type_ = str(body.get("Type", "String"))
        has_default = "Default" in body
        if name in passed:
            value = passed[name]
        elif has_default:
            value = body["Default"]
        else:
            value = Unresolved(
                UnresolvedKind.PARAMETER, f"parameter {name} has no default and no value is passed"
            )
        if type_.startswith("AWS::SSM::Parameter::Value"):
            value = Unresolved(UnresolvedKind.SSM_PARAMETER, f"parameter {name} is read from SSM")
        number = coerce(type_, value)
        if isinstance(number, float) and not math.isfinite(number):
            source = "the value passed" if name in passed else "its Default"
            raise TemplateError(
                f"parameter {name}: {source} ({value!r}) is not a finite number",
                where=where(name) if where else None,
                fix="give the Number parameter a finite number (JSON has no NaN or Infinity)",
            )
        result[name] = Parameter(
            name=name,
            type=type_,
            value=number,
            passed=name in passed,
            has_default=has_default,
            no_echo=str(body.get("NoEcho", "false")).lower() == "true",
        )
    return result


def coerce(type_: str, value: Any) -> Any:
    if isinstance(value, Unresolved):
        return value
    if type_.startswith("List<") or type_ == "CommaDelimitedList":
        if isinstance(value, list):
            return value
        items = split(value, ",")
        if isinstance(items, list):
            return [item.strip() if isinstance(item, str) else item for item in items]
        return items
    if type_ == "Number" and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    if type_ == "Number" and isinstance(value, Text):
        return value
    return value
