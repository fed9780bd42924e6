"""CloudWatch alarm evaluation in the twin: M of N, missing data, transitions and their
reasons, driven by made-up times and a time scale (no clock, no HAProxy)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from fargate_api.twin.cloudwatch.alarms import (
    AlarmEvaluator,
    AlarmRuleError,
    AlarmState,
    Datapoint,
    compile_rule,
    decide,
    sample_retention,
)
from fargate_api.twin.cloudwatch.metric_math import MetricMathError
from fargate_api.twin.cloudwatch.metrics import MetricError, MetricStore, TargetGroupSample
from fargate_api.twin.plan.model import AlarmRule, MetricQuery, TreatMissingData

BLUE, GREEN = "Svc/Blue", "Svc/Green"


def single(metric: str = "UnHealthyHostCount", stat: str = "Maximum") -> tuple[MetricQuery, ...]:
    return (MetricQuery("m1", True, metric=metric, target_group=BLUE, stat=stat),)


def rule(
    queries: tuple[MetricQuery, ...] | None = None,
    *,
    threshold: float = 5.0,
    n: int = 3,
    m: int = 3,
    treat: TreatMissingData = "missing",
    period: int = 60,
) -> AlarmRule:
    return AlarmRule(
        key="Svc/Alarm",
        name="svc-alarm",
        queries=queries or single(),
        threshold=threshold,
        comparison="GreaterThanThreshold",
        period=period,
        evaluation_periods=n,
        datapoints_to_alarm=m,
        treat_missing_data=treat,
    )


def error_rate_rule(threshold: float = 5.0) -> AlarmRule:
    """The error-rate alarm synth writes for two target groups (design Part 1)."""
    queries: list[MetricQuery] = []
    for g, tg in (("a", BLUE), ("b", GREEN)):
        queries += [
            MetricQuery(f"req_{g}", False, metric="RequestCount", target_group=tg, stat="Sum"),
            MetricQuery(
                f"err_{g}", False, metric="HTTPCode_Target_5XX_Count", target_group=tg, stat="Sum"
            ),
            MetricQuery(
                f"rate_{g}", False, expression=f"IF(req_{g} > 0, 100 * err_{g} / req_{g}, 0)"
            ),
        ]
    queries.append(MetricQuery("rate", True, expression="MAX([rate_a, rate_b])"))
    return replace(
        rule(tuple(queries), threshold=threshold, n=2, m=2, treat="notBreaching"),
        key="Svc/ErrorRate",
        name="svc-target-5xx-rate",
    )


# ------------------------------------------------------------------------------ decide()
# CloudWatch's user guide, "How alarm state is evaluated when data is missing": its two
# tables, a row each: 0 not breaching, X breaching, - missing; 5 datapoints retrieved.

TREATS: tuple[TreatMissingData, ...] = ("missing", "ignore", "breaching", "notBreaching")
INSUFFICIENT = "INSUFFICIENT_DATA"
TABLE = [
    # M of 3, datapoints, then the state for MISSING, IGNORE, BREACHING, NOT BREACHING
    # ("keep": the current state is kept).
    (3, "0 - X - X", ("OK", "OK", "OK", "OK")),
    (3, "0 - - - -", ("OK", "OK", "OK", "OK")),
    (3, "- - - - -", (INSUFFICIENT, "keep", "ALARM", "OK")),
    (3, "0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    (3, "- - - - X", (INSUFFICIENT, "keep", "ALARM", "OK")),
    # CloudWatch says ALARM for MISSING here; the twin's one deviation (alarms.py).
    (3, "X - - - -", (INSUFFICIENT, "keep", "ALARM", "OK")),
    (2, "0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    (2, "0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    (2, "0 - X - -", ("OK", "OK", "ALARM", "OK")),
    (2, "- - - - 0", ("OK", "OK", "ALARM", "OK")),
    (2, "- - - - X", (INSUFFICIENT, "keep", "ALARM", "OK")),
]


def points(text: str) -> list[Datapoint]:
    values = {"0": 1.0, "X": 9.0, "-": None}
    return [Datapoint(i, 60.0 * i, 60.0 * (i + 1), values[c]) for i, c in enumerate(text.split())]


@pytest.mark.parametrize(("m", "data", "expected"), TABLE)
def test_decide_reproduces_cloudwatchs_missing_data_tables(
    m: int, data: str, expected: tuple[str, str, str, str]
) -> None:
    for treat, want in zip(TREATS, expected, strict=True):
        current: AlarmState
        for current in ("OK", "ALARM"):
            state, reason = decide(rule(m=m, treat=treat), points(data), current)
            assert state == (current if want == "keep" else want), (treat, current, reason)


def test_decide_with_fewer_datapoints_than_the_range_counts_the_rest_as_missing() -> None:
    """Right after the start only a few periods have closed."""
    assert decide(rule(m=2), points("X X"), "INSUFFICIENT_DATA")[0] == "ALARM"
    assert decide(rule(m=2), points("X"), "INSUFFICIENT_DATA")[0] == "INSUFFICIENT_DATA"
    assert decide(rule(m=2, treat="breaching"), points("X"), "OK")[0] == "ALARM"
    assert decide(rule(), [], "OK")[0] == "INSUFFICIENT_DATA"


def test_reasons_name_the_datapoints_the_threshold_and_the_transition() -> None:
    state, reason = decide(rule(m=2), points("0 0 X 0 X"), "OK")
    assert state == "ALARM"
    assert reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [9 (t+240s), 1 (t+180s), "
        "9 (t+120s)] were greater than the threshold (5) (minimum 2 datapoints for "
        "OK -> ALARM transition)."
    )
    state, reason = decide(rule(m=2), points("X X 0 0 X"), "ALARM")
    assert state == "OK"
    assert reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [9 (t+240s)")
    assert reason.endswith(
        "were not greater than the threshold (5) (minimum 2 datapoints for ALARM -> OK transition)."
    )
    _, reason = decide(rule(m=2, treat="breaching"), points("- - - - 0"), "OK")
    assert "[1 (t+240s), missing, missing] (2 missing datapoints treated as breaching)" in reason
    _, reason = decide(rule(), points("- - - - -"), "OK")
    assert reason == "Insufficient Data: 5 datapoints were unknown."


# ------------------------------------------------------------------------------ evaluator


@dataclass
class FakeMetrics:
    """Values by period index; records the windows asked for."""

    series: dict[tuple[str, str], list[float | None]]
    origin: float
    length: float
    asked: list[tuple[str, str, float, float]] = field(default_factory=list)

    def value(
        self, target_group: str, metric: str, stat: str, start: float, end: float
    ) -> float | None:
        self.asked.append((target_group, metric, start, end))
        index = round((start - self.origin) / self.length)
        values = self.series.get((target_group, metric), [])
        return values[index] if index < len(values) else None


def test_datapoints_close_every_scaled_period_and_m_of_n_decides() -> None:
    # Period 60 s at time scale 0.1: a datapoint every 6 s from t=1000; 2 of 3 > 0.5.
    series: list[float | None] = [0, 1, 0, 2, 0, 0, 1, 1]
    fake = FakeMetrics({(BLUE, "UnHealthyHostCount"): series}, 1000.0, 6.0)
    evaluator = AlarmEvaluator([rule(threshold=0.5, n=3, m=2)], fake, start=1000.0, time_scale=0.1)
    assert evaluator.state("Svc/Alarm") == "INSUFFICIENT_DATA"
    assert evaluator.tick(1005.9) == []  # the first period has not closed
    assert fake.asked == []
    # One datapoint, not breaching: with 2 of 3 no missing one can make it ALARM.
    (change,) = evaluator.tick(1006.0)
    assert (change.old, change.new, change.at) == ("INSUFFICIENT_DATA", "OK", 1006.0)
    assert fake.asked == [(BLUE, "UnHealthyHostCount", 1000.0, 1006.0)]
    assert evaluator.tick(1012.0) == []  # 0 1
    assert evaluator.tick(1018.0) == []  # 0 1 0
    (change,) = evaluator.tick(1024.5)  # 1 0 2: two of the last three
    assert (change.alarm, change.name, change.old, change.new) == (
        "Svc/Alarm",
        "svc-alarm",
        "OK",
        "ALARM",
    )
    assert "[2 (t+180s), 0 (t+120s), 1 (t+60s)]" in change.reason
    # A late tick closes every period it missed, in order: 0 2 0 gives OK at 1030,
    # then 0 0 1 stays OK and 0 1 1 gives ALARM at 1048.
    changes = evaluator.tick(1050.0)
    assert [(c.new, c.at) for c in changes] == [("OK", 1030.0), ("ALARM", 1048.0)]
    assert [p.index for p in evaluator.datapoints("Svc/Alarm")] == [3, 4, 5, 6, 7]
    assert evaluator.sample_retention == pytest.approx(12.0)
    longer = replace(rule(), key="Svc/Longer", period=300)
    assert sample_retention([rule(), longer], 0.1) == pytest.approx(60.0)


def test_treat_missing_data_when_the_metric_stops() -> None:
    breaching = AlarmEvaluator(
        [rule(n=2, m=2, treat="breaching")], FakeMetrics({}, 0.0, 60.0), start=0.0
    )
    (change,) = breaching.tick(120.0)
    assert change.new == "ALARM" and "treated as breaching" in change.reason
    ignoring = AlarmEvaluator(
        [rule(n=2, m=2, treat="ignore")], FakeMetrics({}, 0.0, 60.0), start=0.0
    )
    assert ignoring.tick(600.0) == []
    assert ignoring.state("Svc/Alarm") == "INSUFFICIENT_DATA"  # kept, as it started


def test_the_error_rate_alarm_over_haproxy_samples() -> None:
    """Synth's rate alarm, end to end through the metric store: green starts serving 5xx."""
    store = MetricStore(retention=300.0)
    evaluator = AlarmEvaluator([error_rate_rule()], store, start=0.0, time_scale=0.1)
    states: list[AlarmState] = []
    blue = green = errors = 0
    for second in range(1, 31):  # periods of 6 s
        blue += 10
        green += 10
        if second > 12:
            errors += 2  # 2 of green's 10 requests a second: 20 %
        store.add(BLUE, TargetGroupSample(float(second), blue, 0, 1, 0, 5.0))
        store.add(GREEN, TargetGroupSample(float(second), green, errors, 1, 0, 5.0))
        states += [t.new for t in evaluator.tick(float(second))]
    assert states == ["OK", "ALARM"]
    assert evaluator.state("Svc/ErrorRate") == "ALARM"
    last = evaluator.datapoints("Svc/ErrorRate")[-1]
    assert last.value == pytest.approx(20.0)
    # Before green failed: requests but no 5xx anywhere, a rate of 0, not missing.
    assert evaluator.datapoints("Svc/ErrorRate")[0].value == 0.0


@pytest.mark.parametrize(
    ("queries", "error", "message"),
    [
        (
            (MetricQuery("m1", False, metric="RequestCount", target_group=BLUE, stat="Sum"),),
            AlarmRuleError,
            "exactly one query must return data",
        ),
        (
            (
                MetricQuery("m1", True, metric="RequestCount", target_group=BLUE, stat="Sum"),
                MetricQuery("m2", True, metric="RequestCount", target_group=BLUE, stat="Sum"),
            ),
            AlarmRuleError,
            "exactly one query must return data",
        ),
        ((MetricQuery("e1", True, expression="m9 * 2"),), AlarmRuleError, "reads 'm9'"),
        (
            (
                MetricQuery("e1", True, expression="e2 + 1"),
                MetricQuery("e2", False, expression="e1 + 1"),
            ),
            AlarmRuleError,
            "refers to itself: e1 -> e2 -> e1",
        ),
        (
            (MetricQuery("m1", True, metric="RequestCount", stat="Sum"),),
            AlarmRuleError,
            "TargetGroup dimension",
        ),
        ((MetricQuery("e1", True, expression="FILL(m1, 0)"),), MetricMathError, "FILL"),
        (
            (MetricQuery("m1", True, metric="CPUUtilization", target_group=BLUE, stat="Average"),),
            MetricError,
            "CPUUtilization",
        ),
        (
            (
                MetricQuery("m1", True, metric="RequestCount", target_group=BLUE, stat="Sum"),
                MetricQuery("m1", False, metric="RequestCount", target_group=BLUE, stat="Sum"),
            ),
            AlarmRuleError,
            "two queries have the id 'm1'",
        ),
    ],
)
def test_alarms_the_twin_cannot_run_are_refused_with_the_reason(
    queries: tuple[MetricQuery, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        compile_rule(rule(queries))
    with pytest.raises(ValueError, match=message):  # one except clause for the planner
        AlarmEvaluator([rule(queries)], FakeMetrics({}, 0.0, 60.0), start=0.0)


def test_bad_evaluation_settings_are_refused() -> None:
    with pytest.raises(AlarmRuleError, match="DatapointsToAlarm"):
        compile_rule(rule(n=2, m=3))
    with pytest.raises(AlarmRuleError, match="period must be positive"):
        compile_rule(rule(period=0))
    with pytest.raises(ValueError, match="time scale"):
        AlarmEvaluator([rule()], FakeMetrics({}, 0.0, 60.0), start=0.0, time_scale=0)


def test_expressions_are_evaluated_after_what_they_read() -> None:
    compiled = compile_rule(error_rate_rule())
    order = [q.id for q in compiled.queries]
    for g in "ab":
        assert order.index(f"rate_{g}") > max(order.index(f"req_{g}"), order.index(f"err_{g}"))
    assert order[-1] == "rate" and compiled.returned == "rate"
