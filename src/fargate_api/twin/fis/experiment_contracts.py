"""What `local experiment` measures and what it concludes, as typed documents.

The samples are the raw observations (each request, each egress probe, each reading of
the twin's state, each fault's window), in seconds since the load started; the report is
computed from them alone (experiment_report.py, pure), so a CI job reading report.json
can recompute or extend it. docs/schemas/experiment-report.schema.json is generated from
ExperimentReport (`make schemas`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fargate_api.twin.daemon.contracts import FaultAction


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True)


class RequestSample(_Document):
    """One request of the load. `t` is when it was due (open loop): a request the client
    could only send late still counts its wait, so a stall is never hidden."""

    t: float
    latency_ms: float
    ok: bool  # a 2xx or 3xx answer
    status: int | None = None
    error: str | None = None
    target: str = ""  # the load balancer address it went to


class EgressSample(_Document):
    """One what-is-my-IP probe from a task's namespace."""

    t: float
    task: str
    az: str
    ip: str | None = None
    error: str | None = None


class StatusSample(_Document):
    """The twin's state.json as read once a second."""

    t: float
    healthy: int  # tasks whose target is healthy, every service
    desired: int  # the services' desired counts, summed
    running: int
    faults: list[str] = Field(default_factory=list)  # ids of the faults in force


class FaultWindow(_Document):
    """When a fault was in force, as the experiment sent and ended it; `end` None: it
    had no duration (task-kill) or the run stopped first. `start` is when it was sent,
    `in_force` when the twin had applied every step of it: a reading between the two may
    or may not have met the fault, so it counts as neither before nor during."""

    id: str
    action: FaultAction
    target: str
    az: str | None
    start: float
    in_force: float
    end: float | None
    did: str = ""


class SecondRow(_Document):
    t: int  # the second since the load started
    requests: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None
    healthy: int | None
    desired: int | None
    egress_ok: dict[str, int] = Field(default_factory=dict)  # AZ -> probes that answered
    egress_failed: dict[str, int] = Field(default_factory=dict)
    faults: list[str] = Field(default_factory=list)


class Totals(_Document):
    requests: int
    failed: int
    failed_ratio: float
    p50_ms: float | None
    p99_ms: float | None
    errors: dict[str, int] = Field(default_factory=dict)  # error or HTTP status -> count


RecoveryOutcome = Literal["recovered", "never-dropped", "not-recovered", "no-fault"]


class Recovery(_Document):
    """From the first fault's start until the service is back at its desired count of
    healthy tasks, after having dropped below it."""

    outcome: RecoveryOutcome
    seconds: float | None  # recovered only
    dropped_at: float | None = None
    lowest_healthy: int | None = None


class AzEgress(_Document):
    """What the tasks of one AZ saw as their egress IP, before, during and after the
    faults (the first fault's start to the last one's end)."""

    az: str
    exempt: bool  # the experiment failed this AZ (or its NAT) on purpose
    before: list[str]
    during: list[str]
    after: list[str]
    probes: int
    failed: int
    first_failure: float | None = None
    continuous: bool  # one IP throughout, no failed probe


class ConditionVerdict(_Document):
    name: str  # max_failed_ratio, max_p99_ms, recover_within, egress
    limit: str
    measured: str
    passed: bool


class ExperimentReport(_Document):
    """`local experiment --json` and report.json: per-second rows, totals, recovery,
    egress continuity and the verdict on each stop condition. `passed` is the overall
    verdict (exit 0; 1 when a condition failed)."""

    experiment: str  # the file
    description: str
    twin: str
    started_at: float  # epoch seconds at the load's start
    duration: float  # planned seconds of load
    rate: float
    interrupted: bool = False  # Ctrl-C: a partial report
    rows: list[SecondRow]
    totals: Totals
    recovery: Recovery
    egress: list[AzEgress]
    faults: list[FaultWindow]
    conditions: list[ConditionVerdict]
    passed: bool
