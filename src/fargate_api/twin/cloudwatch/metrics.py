"""The ALB's per-target-group CloudWatch metrics, from HAProxy's counters (pure).

CloudWatch gets one aggregate per metric and period from the ALB; HAProxy only has
running counters and gauges. The twin therefore keeps *samples* (what `show stat` said
at a moment, elbv2/load_balancers.py `sample`) and derives a period's statistic from
the samples around it:

* ``RequestCount`` and ``HTTPCode_Target_5XX_Count``: the counter's growth from the last
  sample at or before the period's start to the last sample at or before its end (with
  no sample before the start: from the first one inside). ``Sum`` and ``SampleCount``
  are that count; ``Minimum``/``Maximum``/``Average`` are 1, since each request is a
  sample of value 1 (AWS's ELB metric documentation). A period with a count of 0 has
  *no datapoint*: the ALB reports these metrics only when they are nonzero, which is
  why alarms over them say what missing data means (``TreatMissingData``) and guard
  divisions with ``IF(req > 0, ...)``. A counter that went backwards (HAProxy restarted)
  counts 0 for that period rather than a negative number.
* ``HealthyHostCount`` and ``UnHealthyHostCount``: ``Maximum``, ``Minimum``, ``Average``
  (and ``SampleCount``) over the samples taken inside the period.
* ``TargetResponseTime`` (seconds): HAProxy 2.6 keeps no percentiles, only ``rtime``,
  the average server response time of its last 1024 requests. Any statistic, ``p99``
  included, is that average as of the period's last sample, and only when the period
  had requests. So the twin's "p99 response time" alarm is an *average* response time
  alarm: it fires later than AWS's for a slow tail (a few very slow requests among many
  fast ones move an average little), and it can lag by up to 1024 requests on a busy
  group. ``SampleCount`` is the period's request count; ``Sum`` the average times it.

Times are whatever clock the caller injects (the daemon: ``time.monotonic``, already
covering the time scale); a period is ``(start, end]`` on that clock.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

REQUEST_COUNT = "RequestCount"
TARGET_5XX = "HTTPCode_Target_5XX_Count"
HEALTHY_HOSTS = "HealthyHostCount"
UNHEALTHY_HOSTS = "UnHealthyHostCount"
RESPONSE_TIME = "TargetResponseTime"
COUNTERS = frozenset((REQUEST_COUNT, TARGET_5XX))
GAUGES = frozenset((HEALTHY_HOSTS, UNHEALTHY_HOSTS))
METRICS = COUNTERS | GAUGES | {RESPONSE_TIME}
BASIC_STATS = frozenset(("Sum", "SampleCount", "Average", "Minimum", "Maximum"))
# CloudWatch's percentile statistics: p0 .. p100, with up to two decimals (p99.9).
_PERCENTILE = re.compile(r"p(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)")


class MetricError(ValueError):
    """A metric or statistic the twin cannot compute from HAProxy; says which and why."""


@dataclass(frozen=True)
class TargetGroupSample:
    """One target group as HAProxy saw it at ``at`` (counters count since it started)."""

    at: float
    requests: int  # requests sent to a target of the group (a target was chosen)
    http_5xx: int  # 5xx answers that came from a target (not HAProxy's own)
    healthy: int  # targets in "healthy" state
    unhealthy: int  # targets in "unhealthy" state (initial and draining are neither)
    response_time_ms: float | None  # HAProxy's rtime; None before any request


class MonotonicCounters:
    """Running counters that survive their source starting over from 0 (HAProxy
    restarted by the daemon's supervisor): when a raw value goes down, what had been
    counted before becomes an offset added to every later value. The requests between
    the last read and the restart are lost, as a crashed ALB node's would be."""

    def __init__(self) -> None:
        self._last: dict[object, int] = {}
        self._offset: dict[object, int] = {}

    def read(self, key: object, raw: int) -> int:
        last = self._last.get(key)
        if last is not None and raw < last:
            self._offset[key] = self._offset.get(key, 0) + last
        self._last[key] = raw
        return self._offset.get(key, 0) + raw


def check_metric(metric: str, stat: str) -> None:
    """Raises `MetricError` unless `MetricStore.value` computes ``metric`` with ``stat``:
    for the planner, so that an alarm the twin cannot evaluate is named before it runs."""
    if metric not in METRICS:
        raise MetricError(
            f"metric {metric!r}: the twin computes only {', '.join(sorted(METRICS))} "
            "(AWS/ApplicationELB, per target group) from HAProxy's counters"
        )
    percentile = bool(_PERCENTILE.fullmatch(stat))
    if metric == RESPONSE_TIME and (stat in BASIC_STATS or percentile):
        return
    if metric in COUNTERS and stat in BASIC_STATS:
        return
    if metric in GAUGES and stat in ("Average", "Minimum", "Maximum", "SampleCount"):
        return
    raise MetricError(f"statistic {stat!r} of {metric}: not computed by the twin")


def _counter(sample: TargetGroupSample, metric: str) -> int:
    return sample.requests if metric == REQUEST_COUNT else sample.http_5xx


class MetricStore:
    """Samples per target group, oldest first; ``retention`` seconds of them are kept
    (plus the one sample before that, the baseline of the oldest period still asked)."""

    def __init__(self, retention: float) -> None:
        if retention <= 0:
            raise ValueError(f"retention must be positive, not {retention}")
        self.retention = retention
        self._samples: dict[str, list[TargetGroupSample]] = {}

    def add(self, target_group: str, sample: TargetGroupSample) -> None:
        """Adds a sample; they must come in time order (one clock, one sampler)."""
        samples = self._samples.setdefault(target_group, [])
        if samples and sample.at < samples[-1].at:
            raise ValueError(
                f"sample of {target_group} at {sample.at} is older than the last one "
                f"({samples[-1].at}): samples must come in time order"
            )
        samples.append(sample)
        keep_from = bisect_right([s.at for s in samples], sample.at - self.retention) - 1
        if keep_from > 0:
            del samples[:keep_from]

    def samples(self, target_group: str) -> tuple[TargetGroupSample, ...]:
        return tuple(self._samples.get(target_group, ()))

    def value(
        self, target_group: str, metric: str, stat: str, start: float, end: float
    ) -> float | None:
        """The statistic for the period ``(start, end]``, or None: no datapoint (module
        docstring). `MetricError` for a metric/statistic the twin does not compute."""
        check_metric(metric, stat)
        samples = self._samples.get(target_group, [])
        times = [s.at for s in samples]
        inside = samples[bisect_right(times, start) : bisect_right(times, end)]
        if not inside:
            return None
        if metric in GAUGES:
            return _gauge(inside, metric, stat)
        before = bisect_right(times, start) - 1
        baseline = samples[before] if before >= 0 else inside[0]
        last = inside[-1]
        requests = max(0, last.requests - baseline.requests)
        if metric == RESPONSE_TIME:
            if requests == 0 or last.response_time_ms is None:
                return None
            seconds = last.response_time_ms / 1000.0
            if stat == "SampleCount":
                return float(requests)
            return seconds * requests if stat == "Sum" else seconds
        count = max(0, _counter(last, metric) - _counter(baseline, metric))
        if count == 0:
            return None
        return float(count) if stat in ("Sum", "SampleCount") else 1.0


def _gauge(inside: Iterable[TargetGroupSample], metric: str, stat: str) -> float:
    values = [s.healthy if metric == HEALTHY_HOSTS else s.unhealthy for s in inside]
    if stat == "Maximum":
        return float(max(values))
    if stat == "Minimum":
        return float(min(values))
    if stat == "SampleCount":
        return float(len(values))
    return sum(values) / len(values)
