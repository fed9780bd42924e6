"""The experiment report's judgements on made-up samples: percentiles, the per-second
rows and their failure windows, time to recover, egress continuity and the verdicts."""

from __future__ import annotations

import json

import pytest

from fargate_api.twin.fis.experiment_contracts import (
    EgressSample,
    ExperimentReport,
    FaultWindow,
    RequestSample,
    StatusSample,
)
from fargate_api.twin.fis.experiment_file import parse_experiment
from fargate_api.twin.fis.experiment_report import (
    build_report,
    egress_continuity,
    per_second,
    percentile,
    time_to_recover,
)

SPEC = parse_experiment(
    """
[load]
rate = 10
duration = 10
[[faults]]
action = "az-outage"
at = 3
duration = 4
az = "a"
[stop]
max_failed_ratio = 0.1
max_p99_ms = 500
recover_within = 5
egress = "continuous"
"""
)
OUTAGE = FaultWindow(
    id="f1", action="az-outage", target="a", az="a", start=3.0, in_force=3.0, end=7.0
)


def _ok(t: float, ms: float = 10.0) -> RequestSample:
    return RequestSample(t=t, latency_ms=ms, ok=True, status=200, target="198.51.100.10")


def _failed(t: float, error: str = "timeout") -> RequestSample:
    return RequestSample(t=t, latency_ms=2000.0, ok=False, error=error)


def _status(t: float, healthy: int, desired: int = 2) -> StatusSample:
    return StatusSample(t=t, healthy=healthy, desired=desired, running=healthy)


def _probe(t: float, az: str, ip: str | None) -> EgressSample:
    return EgressSample(t=t, task=f"task-{az}", az=az, ip=ip, error=None if ip else "timeout")


def _healthy_run() -> list[StatusSample]:
    healthy = [2, 2, 2, 2, 1, 1, 1, 2, 2, 2]  # drops at t=4, back at t=7
    return [_status(t + 0.5, h) for t, h in enumerate(healthy)]


def _requests(failed_at: set[int]) -> list[RequestSample]:
    samples = []
    for second in range(10):
        for tenth in range(10):
            t = second + tenth / 10
            samples.append(_failed(t) if second in failed_at and tenth < 3 else _ok(t, 10 + tenth))
    return samples


def _probes(*, b_fails_during: bool = False, b_changes: bool = False) -> list[EgressSample]:
    probes = []
    for second in range(10):
        during = 3 <= second < 7
        probes.append(_probe(second + 0.2, "a", None if during else "198.51.100.1"))
        ip_b = "198.51.100.2"
        if b_changes and second >= 7:
            ip_b = "198.51.100.9"
        probes.append(_probe(second + 0.2, "b", None if (b_fails_during and during) else ip_b))
    return probes


# ----------------------------------------------------------------- percentiles


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # sorted first
    assert percentile([], 50) is None


# ----------------------------------------------------------------- per-second rows


def test_rows_bin_requests_by_their_due_second_and_show_the_failure_window() -> None:
    rows = per_second(_requests({3, 4}), _probes(), _healthy_run(), [OUTAGE], 10)
    assert len(rows) == 10
    assert [row.requests for row in rows] == [10] * 10
    assert [row.failed for row in rows] == [0, 0, 0, 3, 3, 0, 0, 0, 0, 0]
    # latency percentiles count answered requests only: 13..19 ms in a failing second
    assert rows[3].p50_ms == 16 and rows[3].p99_ms == 19
    assert rows[0].p50_ms == 14 and rows[0].p99_ms == 19
    assert [row.healthy for row in rows] == [2, 2, 2, 2, 1, 1, 1, 2, 2, 2]
    assert rows[0].desired == 2
    assert [row.faults for row in rows][2:8] == [[], ["f1"], ["f1"], ["f1"], ["f1"], []]
    assert rows[4].egress_ok == {"b": 1} and rows[4].egress_failed == {"a": 1}
    assert rows[0].egress_ok == {"a": 1, "b": 1} and rows[0].egress_failed == {}


def test_rows_before_the_first_status_have_no_health() -> None:
    rows = per_second([_ok(0.1), _ok(1.5)], [], [_status(1.2, 2)], [], 2)
    assert [row.healthy for row in rows] == [None, 2]
    assert rows[0].p50_ms == 10


def test_a_fault_without_end_covers_every_later_second() -> None:
    kill = FaultWindow(
        id="f2", action="task-kill", target="b", az=None, start=2.5, in_force=2.5, end=None
    )
    rows = per_second([], [], [_status(4.5, 2)], [kill], 5)
    assert [row.faults for row in rows] == [[], [], ["f2"], ["f2"], ["f2"]]


# ----------------------------------------------------------------- recovery


def test_recovery_is_timed_from_the_first_fault_until_back_at_desired() -> None:
    recovery = time_to_recover(_healthy_run(), [OUTAGE])
    assert recovery.outcome == "recovered"
    assert recovery.seconds == 4.5  # back at t=7.5, the fault started at 3
    assert recovery.dropped_at == 4.5
    assert recovery.lowest_healthy == 1


def test_recovery_without_a_drop_or_a_fault() -> None:
    steady = [_status(t, 2) for t in range(10)]
    assert time_to_recover(steady, [OUTAGE]).outcome == "never-dropped"
    assert time_to_recover(steady, [OUTAGE]).seconds is None
    assert time_to_recover(_healthy_run(), []).outcome == "no-fault"


def test_a_drop_before_the_first_fault_is_not_the_faults() -> None:
    statuses = [_status(0, 1), _status(1, 2), *(_status(t, 2) for t in range(3, 10))]
    assert time_to_recover(statuses, [OUTAGE]).outcome == "never-dropped"


def test_never_back_is_not_recovered() -> None:
    statuses = [_status(t, 2 if t < 4 else 0) for t in range(10)]
    recovery = time_to_recover(statuses, [OUTAGE])
    assert recovery.outcome == "not-recovered"
    assert recovery.seconds is None and recovery.lowest_healthy == 0


# ----------------------------------------------------------------- egress continuity


def test_the_failed_az_is_exempt_and_the_surviving_one_continuous() -> None:
    a, b = egress_continuity(_probes(), [OUTAGE])
    assert (a.az, a.exempt, a.continuous, a.failed) == ("a", True, False, 4)
    assert a.before == ["198.51.100.1"] and a.during == [] and a.after == ["198.51.100.1"]
    assert (b.az, b.exempt, b.continuous, b.failed) == ("b", False, True, 0)
    assert b.before == b.during == b.after == ["198.51.100.2"]
    assert b.probes == 10


def test_a_surviving_az_that_loses_egress_is_not_continuous() -> None:
    _, b = egress_continuity(_probes(b_fails_during=True), [OUTAGE])
    assert not b.continuous and b.failed == 4 and b.first_failure == 3.2
    assert b.during == []


def test_a_reading_while_the_fault_was_being_applied_is_not_during() -> None:
    # Sent at 3.0, in force at 3.4: a probe at 3.2 got through before the twin had
    # applied every step; it is neither a "before" nor a "during" reading.
    applying = OUTAGE.model_copy(update={"in_force": 3.4})
    early = EgressSample(t=3.2, task="tb", az="b", ip="198.51.100.2")
    _, b = egress_continuity([*_probes(b_fails_during=True), early], [applying])
    assert b.before == ["198.51.100.2"] and b.during == []
    _, b = egress_continuity([*_probes(b_fails_during=True), early], [OUTAGE])
    assert b.during == ["198.51.100.2"]


def test_a_changed_egress_ip_is_not_continuous() -> None:
    _, b = egress_continuity(_probes(b_changes=True), [OUTAGE])
    assert b.failed == 0 and not b.continuous
    assert b.after == ["198.51.100.9"]


def test_a_nat_gateway_loss_exempts_its_az_too() -> None:
    loss = OUTAGE.model_copy(update={"action": "nat-gateway-loss"})
    latency = OUTAGE.model_copy(update={"action": "network-latency", "az": "b"})
    zones = {z.az: z.exempt for z in egress_continuity(_probes(), [loss, latency])}
    assert zones == {"a": True, "b": False}


# ----------------------------------------------------------------- verdicts


def _report(**changes: object) -> ExperimentReport:
    inputs: dict[str, object] = {
        "requests": _requests({3}),
        "egress": _probes(),
        "statuses": _healthy_run(),
        "faults": [OUTAGE],
    }
    inputs.update(changes)
    return build_report(
        SPEC,
        experiment="exp.toml",
        twin="t",
        started_at=1000.0,
        **inputs,  # type: ignore[arg-type]
    )


def _verdicts(report: ExperimentReport) -> dict[str, bool]:
    return {c.name: c.passed for c in report.conditions}


def test_a_survived_outage_passes_every_condition() -> None:
    report = _report()
    assert report.totals.requests == 100 and report.totals.failed == 3
    assert report.totals.failed_ratio == 0.03
    assert report.totals.errors == {"timeout": 3}
    assert _verdicts(report) == {
        "max_failed_ratio": True,
        "max_p99_ms": True,
        "recover_within": True,
        "egress": True,
    }
    assert report.passed
    measured = {c.name: c.measured for c in report.conditions}
    assert measured["max_failed_ratio"] == "3.00% (3/100)"
    assert measured["recover_within"] == "4.5 s"
    assert "b: 198.51.100.2" in measured["egress"]


def test_each_breach_fails_its_condition_and_the_whole() -> None:
    too_many = _report(requests=_requests({1, 2, 3, 4}))
    assert _verdicts(too_many)["max_failed_ratio"] is False and not too_many.passed
    slow = _report(requests=[_ok(t / 10, 900.0) for t in range(100)])
    assert _verdicts(slow)["max_p99_ms"] is False and not slow.passed
    late = _report(statuses=[_status(t, 2 if t < 4 or t > 8 else 1) for t in range(10)])
    assert late.recovery.seconds == 6
    assert _verdicts(late)["recover_within"] is False
    never = _report(statuses=[_status(t, 2 if t < 4 else 1) for t in range(10)])
    assert [c.measured for c in never.conditions if c.name == "recover_within"] == ["not recovered"]
    assert _verdicts(never)["recover_within"] is False
    lost = _report(egress=_probes(b_fails_during=True))
    assert _verdicts(lost)["egress"] is False and not lost.passed
    egress = next(c for c in lost.conditions if c.name == "egress")
    assert egress.measured == "b: 4/10 probes failed from t=3.2 s"


def test_no_answered_request_fails_the_p99_bound() -> None:
    report = _report(requests=[_failed(0.1)])
    p99 = next(c for c in report.conditions if c.name == "max_p99_ms")
    assert (p99.passed, p99.measured) == (False, "no answered request")


def test_continuity_with_only_exempt_azs_cannot_pass() -> None:
    report = _report(egress=[p for p in _probes() if p.az == "a"])
    assert _verdicts(report)["egress"] is False


def test_conditions_the_file_leaves_out_are_not_judged() -> None:
    spec = parse_experiment("[load]\nrate = 1\nduration = 5\n[stop]\nmax_p99_ms = 100\n")
    report = build_report(
        spec,
        experiment="x",
        twin="t",
        started_at=0.0,
        requests=[_ok(0.5)],
        egress=[],
        statuses=[],
        faults=[],
    )
    assert [c.name for c in report.conditions] == ["max_p99_ms"]
    assert report.recovery.outcome == "no-fault" and report.passed


def test_an_interrupted_run_never_passes() -> None:
    report = _report(interrupted=True)
    assert all(c.passed for c in report.conditions)
    assert report.interrupted and not report.passed


def test_the_report_round_trips_through_json() -> None:
    report = _report()
    again = ExperimentReport.model_validate_json(report.model_dump_json())
    assert again == report
    data = json.loads(report.model_dump_json())
    assert data["rows"][3]["failed"] == 3 and data["faults"][0]["id"] == "f1"


@pytest.mark.parametrize(("duration", "rows"), [(3.0, 3), (12.0, 5), (4.5, 5)])
def test_rows_end_with_the_load_or_the_last_sample(duration: float, rows: int) -> None:
    """A run interrupted at t=4.5 has five rows, not the twelve it planned; samples read
    after the load (the final state) add none."""
    found = per_second([_ok(0.5), _ok(4.5)], [], [_status(4.2, 2)], [], duration)
    assert len(found) == rows
