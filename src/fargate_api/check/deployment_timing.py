"""How long a traffic-shifting deployment holds each split, as FA407 and FA408 judge it.

Both rules compare how long ECS holds a split with the longest of another kind of duration
(the alarms' evaluation windows, the target groups' drain windows). Reading the interval,
whether it is ECS's default, and where a finding about it points in one place keeps the two
rules' findings about the same setting worded and placed alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from fargate_api.templates.deployments import (
    CANARY_INTERVAL_PATH,
    CONFIGURATION_PATH,
    LINEAR_INTERVAL_PATH,
    DeploymentView,
    deployments,
)
from fargate_api.templates.model import PropertyPath
from fargate_api.templates.props import get
from fargate_api.templates.query import StackQuery

_Item = TypeVar("_Item")


@dataclass(frozen=True)
class ShiftInterval:
    """The canary phase, or each linear step: the bake time of one traffic split."""

    minutes: int
    lasts: str  # "canary phase lasts" / "linear steps last", for a finding's sentence
    declared: bool  # written in the template; else ECS's default
    path: PropertyPath  # where a finding about it points (see `finding_path`)

    def describe(self) -> str:
        return minutes_text(self.minutes, self.declared)


def shifting_deployments(query: StackQuery) -> Iterator[DeploymentView]:
    """The deployments in which ECS moves traffic between target groups; a controller or
    strategy not known statically is not judged."""
    for view in deployments(query):
        if view.known("controller", "strategy") and view.shifts_traffic():
            yield view


def shift_interval(view: DeploymentView) -> ShiftInterval | None:
    """None for a blue/green deployment (one shift, nothing between splits) and for an
    interval that is not known statically."""
    if view.strategy == "CANARY":
        field, lasts, path = "canary_interval_minutes", "canary phase lasts", CANARY_INTERVAL_PATH
        minutes = view.canary_interval_minutes
    elif view.strategy == "LINEAR":
        field, lasts, path = "linear_interval_minutes", "linear steps last", LINEAR_INTERVAL_PATH
        minutes = view.linear_interval_minutes
    else:
        return None
    if not view.known(field):
        return None
    declared = get(view.service.properties, *path[1:]) is not None
    return ShiftInterval(minutes, lasts, declared, finding_path(view, path))


def longest(
    items: Iterable[_Item], seconds: Callable[[_Item], int | None]
) -> tuple[int, _Item] | None:
    """The longest known duration and what it is of (the first, on a tie); None when none
    is known. A duration not known statically is left out: the longest known one is then
    a lower bound, and an interval shorter than it is short whatever the others say."""
    known = [(duration, item) for item in items if (duration := seconds(item)) is not None]
    return max(known, key=lambda pair: pair[0]) if known else None


def minutes_text(minutes: int, declared: bool) -> str:
    return f"{minutes} min" + ("" if declared else " (the default)")


def finding_path(view: DeploymentView, path: PropertyPath) -> PropertyPath:
    """The setting when the template has it, else DeploymentConfiguration (or Properties):
    a default has no line of its own to point at."""
    if get(view.service.properties, *path[1:]) is not None:
        return path
    if "DeploymentConfiguration" in view.service.properties:
        return CONFIGURATION_PATH
    return ("Properties",)
