"""An experiment file (`local experiment FILE`): load, faults at set times, and the
conditions the service must meet, as a typed, frozen model.

The file is checked completely before anything runs, so that a typo costs a second, not
a twin brought up and a minute of load. Every problem is reported with the file's line
(found by a small scan of the text: TOML parsers keep no positions) and what to write
instead. What only the twin can judge (does the AZ exist, is the task running) is left
to the daemon, which refuses such a fault with the valid values.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from fargate_api.errors import UserError
from fargate_api.toml_lines import KeyPath, key_lines, line_of, parse_toml
from fargate_api.twin.daemon.contracts import FaultAction

MAX_RATE = 500.0  # requests per second: one CLI process's threads, not a load tester
MAX_LOAD_SECONDS = 3600.0
FIX = "see docs/twin.md (experiment files) and examples/experiments/ for a complete file"

Runtime = Literal["auto", "container", "process"]


class _Table(BaseModel):
    # Strict like the config: `rate = "20"` is a mistake to report, not to coerce; ints
    # are still accepted where a float is meant (`duration = 60`).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TwinSection(_Table):
    """Bring a twin up for the experiment and remove it afterwards."""

    config: str = ""  # relative to the experiment file; "": the default config
    time_scale: Annotated[float, Field(ge=0.01, le=1.0)] = 0.1
    runtime: Runtime = "auto"


class LoadSection(_Table):
    """Open-loop HTTP load from the twin's internet host."""

    rate: Annotated[float, Field(gt=0, le=MAX_RATE)]
    duration: Annotated[float, Field(gt=0, le=MAX_LOAD_SECONDS)]
    path: Annotated[str, Field(pattern=r"^/\S*$")] = "/"
    timeout_ms: Annotated[int, Field(ge=10, le=60_000)] = 2000


class FaultStep(_Table):
    """One fault, sent at `at` seconds after the load starts; the other keys are those of
    `local fault` (FaultRequest)."""

    action: FaultAction
    at: Annotated[float, Field(ge=0)]
    duration: Annotated[float, Field(gt=0)] | None = None
    az: str | None = None
    task: str | None = None
    service: str | None = None
    percent: Annotated[int, Field(ge=1, le=100)] | None = None
    ms: Annotated[int, Field(ge=1)] | None = None
    jitter_ms: Annotated[int, Field(ge=0)] = 0
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    traffic: Literal["ingress", "egress", "both"] = "both"

    @model_validator(mode="after")
    def _duration_fits_action(self) -> FaultStep:
        if self.action == "task-kill" and self.duration is not None:
            raise ValueError("task-kill has no duration (ECS replaces the stopped tasks)")
        if self.action != "task-kill" and self.duration is None:
            raise ValueError(f"{self.action} needs a duration in seconds")
        if self.action in ("az-outage", "nat-gateway-loss") and not self.az:
            raise ValueError(f"{self.action} needs an az")
        return self

    @property
    def end(self) -> float | None:
        return None if self.duration is None else self.at + self.duration


class StopSection(_Table):
    """The conditions the experiment passes on; an absent key is not judged."""

    max_failed_ratio: Annotated[float, Field(ge=0, le=1)] | None = None
    max_p99_ms: Annotated[float, Field(gt=0)] | None = None
    recover_within: Annotated[float, Field(gt=0)] | None = None
    egress: Literal["continuous", "any"] = "any"


class ExperimentFile(_Table):
    description: str = ""
    twin: TwinSection | None = None
    load: LoadSection
    faults: tuple[FaultStep, ...] = Field(default=(), strict=False)  # a TOML array
    stop: StopSection = StopSection()

    @model_validator(mode="after")
    def _faults_start_under_load(self) -> ExperimentFile:
        for index, fault in enumerate(self.faults):
            if fault.at >= self.load.duration:
                raise ValueError(
                    f"faults[{index}].at ({fault.at:g}) is not before the load ends "
                    f"(load.duration {self.load.duration:g})"
                )
        return self


def load_experiment(path: Path) -> ExperimentFile:
    """The experiment at `path`; a UserError (exit 2) with file:line and a fix otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(
            "experiment file not found", where=str(path), fix="check the FILE path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read the experiment file: {exc}", where=str(path), fix=FIX
        ) from None
    spec = parse_experiment(text, str(path))
    check_twin_config(spec, path, text)
    return spec


def parse_experiment(text: str, source: str = "experiment.toml") -> ExperimentFile:
    data = parse_toml(text, source)
    try:
        return ExperimentFile.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        problems = [_describe(error, lines, source) for error in exc.errors(include_url=False)]
    what = (
        problems[0]
        if len(problems) == 1
        else f"{len(problems)} problems:\n  " + "\n  ".join(problems)
    )
    raise UserError(what, fix=FIX)


def _describe(error: ErrorDetails, lines: dict[KeyPath, int], source: str) -> str:
    loc = tuple(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    mentioned = re.search(r"faults\[(\d+)\]\.at", message)
    located = ("faults", mentioned.group(1), "at") if mentioned else loc
    line = line_of(lines, located)
    where = f"{source}:{line}" if line else source
    name = key_name(loc)
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        table = key_name(loc[:-1]) if loc[:-1] else "the top level"
        return (
            f"{where}: unknown key '{loc[-1]}' in {table}{suggestion} "
            f"(known keys: {', '.join(known)})"
        )
    if error["type"] == "literal_error" and loc[-1:] == ("action",):
        message = f"is not a fault action; use one of: {', '.join(get_args(FaultAction))}"
    if not loc:  # a rule across tables: the message names the key
        return f"{where}: {message}"
    value = error.get("input")
    shown = "" if isinstance(value, dict) or error["type"] == "missing" else f" = {value!r}"
    return f"{where}: {name}{shown}: {message}"


def key_name(loc: KeyPath) -> str:
    """`[load] rate`, `faults[1].az`, `[stop]`, `description`."""
    if not loc:
        return "the file"
    if loc[0] == "faults" and len(loc) > 1:
        head = f"faults[{loc[1]}]"
        return f"{head}.{'.'.join(loc[2:])}" if len(loc) > 2 else head
    if len(loc) == 1:
        return f"[{loc[0]}]" if loc[0] in ("twin", "load", "stop") else loc[0]
    return f"[{loc[0]}] {'.'.join(loc[1:])}"


def _known_keys(table: KeyPath) -> list[str]:
    model: type[BaseModel] = ExperimentFile
    sections: dict[str, type[BaseModel]] = {
        "twin": TwinSection,
        "load": LoadSection,
        "stop": StopSection,
        "faults": FaultStep,
    }
    if table:
        model = sections.get(table[0], ExperimentFile)
    return list(model.model_fields)


def twin_config_path(spec: ExperimentFile, experiment: Path) -> Path | None:
    """The config the experiment's own twin runs, relative to the experiment file; None
    for the default config."""
    if spec.twin is None or not spec.twin.config:
        return None
    return (experiment.parent / spec.twin.config).resolve()


def check_twin_config(spec: ExperimentFile, experiment: Path, text: str = "") -> None:
    """A [twin] config that does not exist is bad input, found before anything runs."""
    path = twin_config_path(spec, experiment)
    if path is None or path.is_file():
        return
    line = line_of(key_lines(text), ("twin", "config"))
    where = f"{experiment}:{line}" if line else str(experiment)
    assert spec.twin is not None
    raise UserError(
        f"[twin] config = {spec.twin.config!r}: no such file ({path})",
        where=where,
        fix='name a fargate-api config relative to the experiment file, or "" for the '
        "default config",
    )
