"""CloudWatch alarm evaluation over the twin's metrics (pure: times are injected).

ECS rolls a deployment back when one of the alarms it watches goes to ALARM, so the
twin evaluates those alarms as CloudWatch does, from the metrics HAProxy's counters
give (metrics.py) and the metric math they are written in (metric_math.py):

* A datapoint closes every ``Period * time scale`` seconds from the evaluator's start
  (the time scale shrinks alarm periods as it shrinks health-check intervals and
  bake times; thresholds are not scaled). Its value is the alarm's returned query over
  that period; None when there is no datapoint.
* Like CloudWatch, the evaluator looks at an *evaluation range* of more datapoints than
  ``EvaluationPeriods`` (N): N + 2, the range of the examples in CloudWatch's user guide
  ("How alarm state is evaluated when data is missing"). When it holds at least N real
  datapoints, the newest N decide and ``TreatMissingData`` does not matter: ALARM when
  at least ``DatapointsToAlarm`` (M) of them breach, else OK. With fewer, missing ones
  are filled in as few times as possible: ``breaching`` and ``notBreaching`` fill them
  as such; with ``missing`` an all-missing range is INSUFFICIENT_DATA, and with
  ``ignore`` it keeps the current state. With ``missing``/``ignore`` and some real
  datapoints, M breaching ones give ALARM and any non-breaching one gives OK; only
  breaching ones, fewer than M, give INSUFFICIENT_DATA (``ignore``: no change). This
  reproduces every row of the guide's two tables but one: ``X - - - -`` with 3 of 3 and
  ``missing``, which CloudWatch resolves to ALARM and the twin to INSUFFICIENT_DATA
  (no reading of the guide's text explains both that row and ``- - - - X``).
* An alarm starts in INSUFFICIENT_DATA, as a new CloudWatch alarm does; the datapoints
  before the evaluator started count as missing.
* A transition carries a reason in CloudWatch's StateReason style, with the datapoints
  (newest first) and their period's start in alarm time since the evaluator started
  (unscaled seconds, ``t+120s``), which is what ``local status`` shows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from fargate_api.twin.cloudwatch.metric_math import Expression, evaluate, parse
from fargate_api.twin.cloudwatch.metrics import check_metric
from fargate_api.twin.plan.model import AlarmRule, Comparison

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
INITIAL_STATE: AlarmState = "INSUFFICIENT_DATA"
EXTRA_DATAPOINTS = 2  # the evaluation range is EvaluationPeriods + this
_PHRASES: dict[Comparison, str] = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


class AlarmRuleError(ValueError):
    """An alarm the twin cannot evaluate as written; says which alarm and why."""


class MetricSource(Protocol):
    """Where datapoints come from: metrics.MetricStore, or a fake in tests."""

    def value(
        self, target_group: str, metric: str, stat: str, start: float, end: float
    ) -> float | None: ...


@dataclass(frozen=True)
class Datapoint:
    index: int  # the period's number since the evaluator started, from 0
    start: float  # on the injected clock
    end: float
    value: float | None  # None: no datapoint


@dataclass(frozen=True)
class AlarmTransition:
    alarm: str  # AlarmRule.key
    name: str  # AlarmRule.name
    old: AlarmState
    new: AlarmState
    reason: str
    at: float  # the injected time of the evaluation that changed it


@dataclass(frozen=True)
class _Query:
    """A query checked: metric math parsed, or a metric stat with every field set."""

    id: str
    expression: Expression | None = None
    target_group: str = ""
    metric: str = ""
    stat: str = ""


@dataclass(frozen=True)
class CompiledRule:
    """An alarm checked once: its queries in an order where each comes after what it reads."""

    rule: AlarmRule
    queries: tuple[_Query, ...]
    returned: str  # id of the query whose value is the datapoint


def _order(rule: AlarmRule, queries: Mapping[str, _Query]) -> list[_Query]:
    ordered: list[_Query] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise AlarmRuleError(f"alarm {rule.name}: its metric math refers to itself: {cycle}")
        query = queries[name]
        visiting.append(name)
        for needed in sorted(query.expression.ids if query.expression else ()):
            if needed not in queries:
                raise AlarmRuleError(
                    f"alarm {rule.name}: expression {name} reads {needed!r}, which is no "
                    "query of the alarm"
                )
            visit(needed)
        visiting.pop()
        done.add(name)
        ordered.append(query)

    for name in queries:
        visit(name)
    return ordered


def compile_rule(rule: AlarmRule) -> CompiledRule:
    """The alarm ready to evaluate, or an error saying why the twin cannot run it:
    `AlarmRuleError`, metric_math.MetricMathError or metrics.MetricError (all
    ValueErrors). The planner calls it to list such alarms before anything starts."""
    if rule.period <= 0:
        raise AlarmRuleError(f"alarm {rule.name}: period must be positive, not {rule.period}")
    if not 1 <= rule.datapoints_to_alarm <= rule.evaluation_periods:
        raise AlarmRuleError(
            f"alarm {rule.name}: DatapointsToAlarm ({rule.datapoints_to_alarm}) must be "
            f"between 1 and EvaluationPeriods ({rule.evaluation_periods})"
        )
    queries: dict[str, _Query] = {}
    for query in rule.queries:
        if query.id in queries:
            raise AlarmRuleError(f"alarm {rule.name}: two queries have the id {query.id!r}")
        if query.expression is not None:
            queries[query.id] = _Query(query.id, parse(query.expression))
            continue
        if query.metric is None or query.stat is None or query.target_group is None:
            raise AlarmRuleError(
                f"alarm {rule.name}: query {query.id} needs a metric, a statistic and a "
                "TargetGroup dimension (the twin has metrics per target group only)"
            )
        check_metric(query.metric, query.stat)
        queries[query.id] = _Query(
            query.id, target_group=query.target_group, metric=query.metric, stat=query.stat
        )
    returned = [q.id for q in rule.queries if q.return_data]
    if len(returned) != 1:
        raise AlarmRuleError(
            f"alarm {rule.name}: exactly one query must return data (ReturnData), "
            f"not {len(returned)}"
        )
    return CompiledRule(rule, tuple(_order(rule, queries)), returned[0])


def datapoint_value(
    compiled: CompiledRule, metrics: MetricSource, start: float, end: float
) -> float | None:
    """The alarm's returned query over the period ``(start, end]``."""
    values: dict[str, float | None] = {}
    for query in compiled.queries:
        if query.expression is not None:
            values[query.id] = evaluate(query.expression, values)
        else:
            values[query.id] = metrics.value(
                query.target_group, query.metric, query.stat, start, end
            )
    return values[compiled.returned]


def breaches(rule: AlarmRule, value: float) -> bool:
    threshold = rule.threshold
    return {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }[rule.comparison]


def _number(value: float) -> str:
    return format(value, ".6g")


def _listing(rule: AlarmRule, points: Iterable[Datapoint | None]) -> str:
    shown = [
        "missing"
        if p is None or p.value is None
        else f"{_number(p.value)} (t+{_number(p.index * rule.period)}s)"
        for p in points
    ]
    return "[" + ", ".join(shown) + "]"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _breaching(rule: AlarmRule, point: Datapoint | None) -> bool:
    """A datapoint breaches, or a missing one filled in as breaching."""
    if point is None or point.value is None:
        return rule.treat_missing_data == "breaching"
    return breaches(rule, point.value)


def _known_fine(rule: AlarmRule, point: Datapoint | None) -> bool:
    return point is not None and point.value is not None and not breaches(rule, point.value)


def decide(
    rule: AlarmRule, recent: Sequence[Datapoint], current: AlarmState
) -> tuple[AlarmState, str]:
    """The state the evaluation range ``recent`` gives (oldest first, at most N + 2
    periods; right after the start fewer, the rest counting as missing), and why."""
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    size = n + EXTRA_DATAPOINTS
    real = [p for p in recent if p.value is not None]
    unknown = size - len(real)
    treat = rule.treat_missing_data
    lenient = treat in ("missing", "ignore")  # missing data neither breaches nor not
    if not real and lenient:
        if treat == "ignore":
            return current, f"{_plural(size, 'datapoint')} missing: state kept"
        verb = "was" if size == 1 else "were"
        return "INSUFFICIENT_DATA", (
            f"Insufficient Data: {_plural(size, 'datapoint')} {verb} unknown."
        )
    # The newest N real datapoints; when there are fewer, missing ones fill the rest.
    evaluated: list[Datapoint | None] = [*([None] * max(0, n - len(real))), *real[-n:]]
    breaching = sum(1 for p in evaluated if _breaching(rule, p))
    listing = _listing(rule, list(reversed(evaluated)))  # newest first, as CloudWatch
    if (
        lenient
        and len(real) < n
        and breaching < m
        and not any(_known_fine(rule, p) for p in evaluated)
    ):
        if treat == "ignore":
            return current, f"{_plural(unknown, 'datapoint')} missing: state kept"
        return "INSUFFICIENT_DATA", (
            f"Insufficient Data: {unknown} of the last {_plural(size, 'datapoint')} were "
            f"unknown, and the known {listing} cannot reach {m} breaching."
        )
    filled = ""
    if len(real) < n:
        filled = f" ({_plural(n - len(real), 'missing datapoint')} treated as {treat})"
    phrase = _PHRASES[rule.comparison]
    threshold = _number(rule.threshold)
    if breaching >= m:
        verb = "was" if breaching == 1 else "were"
        return "ALARM", (
            f"Threshold Crossed: {breaching} out of the last {_plural(n, 'datapoint')} "
            f"{listing}{filled} {verb} {phrase} the threshold ({threshold}) "
            f"(minimum {_plural(m, 'datapoint')} for {current} -> ALARM transition)."
        )
    fine = n - breaching
    verb = "was" if fine == 1 else "were"
    return "OK", (
        f"Threshold Crossed: {fine} out of the last {_plural(n, 'datapoint')} "
        f"{listing}{filled} {verb} not {phrase} the threshold ({threshold}) "
        f"(minimum {_plural(n - m + 1, 'datapoint')} for {current} -> OK transition)."
    )


def sample_retention(rules: Iterable[AlarmRule], time_scale: float) -> float:
    """Seconds of samples a metrics.MetricStore must keep for these alarms: two of the
    longest (scaled) periods, so that a late tick still finds the start of the period it
    closes. For building the store before the evaluator that reads it."""
    return 2 * max((rule.period * time_scale for rule in rules), default=1.0)


class AlarmEvaluator:
    """Evaluates alarms as their periods close; `tick` returns the state changes."""

    def __init__(
        self,
        rules: Iterable[AlarmRule],
        metrics: MetricSource,
        *,
        start: float,
        time_scale: float = 1.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time scale must be positive, not {time_scale}")
        self.metrics = metrics
        self.start = start
        self.time_scale = time_scale
        self.rules = {rule.key: compile_rule(rule) for rule in rules}
        self._states: dict[str, AlarmState] = dict.fromkeys(self.rules, INITIAL_STATE)
        self._recent: dict[str, deque[Datapoint]] = {
            key: deque(maxlen=c.rule.evaluation_periods + EXTRA_DATAPOINTS)
            for key, c in self.rules.items()
        }
        self._next: dict[str, int] = dict.fromkeys(self.rules, 0)

    def period_seconds(self, key: str) -> float:
        """How long one period of the alarm lasts on the injected clock."""
        return self.rules[key].rule.period * self.time_scale

    @property
    def sample_retention(self) -> float:
        """`sample_retention` of the evaluator's alarms."""
        return sample_retention((c.rule for c in self.rules.values()), self.time_scale)

    def state(self, key: str) -> AlarmState:
        return self._states[key]

    @property
    def states(self) -> dict[str, AlarmState]:
        return dict(self._states)

    def datapoints(self, key: str) -> tuple[Datapoint, ...]:
        """The evaluation range of the alarm, oldest first."""
        return tuple(self._recent[key])

    def tick(self, now: float) -> list[AlarmTransition]:
        """Closes every period that ended by ``now`` (several after a late tick), in time
        order per alarm, and returns the state changes that caused."""
        transitions: list[AlarmTransition] = []
        for key, compiled in self.rules.items():
            length = self.period_seconds(key)
            while self.start + (self._next[key] + 1) * length <= now:
                index = self._next[key]
                start, end = self.start + index * length, self.start + (index + 1) * length
                value = datapoint_value(compiled, self.metrics, start, end)
                self._recent[key].append(Datapoint(index, start, end, value))
                self._next[key] = index + 1
                old = self._states[key]
                new, reason = decide(compiled.rule, self._recent[key], old)
                if new != old:
                    self._states[key] = new
                    transitions.append(
                        AlarmTransition(key, compiled.rule.name, old, new, reason, end)
                    )
        return transitions
