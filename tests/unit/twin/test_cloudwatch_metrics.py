"""Target group metrics from HAProxy samples: which samples a period reads and what each
statistic of each metric is. Times are made up; a period is (start, end]."""

from __future__ import annotations

import pytest

from fargate_api.twin.cloudwatch.metrics import (
    HEALTHY_HOSTS,
    REQUEST_COUNT,
    RESPONSE_TIME,
    TARGET_5XX,
    UNHEALTHY_HOSTS,
    MetricError,
    MetricStore,
    TargetGroupSample,
    check_metric,
)

TG = "Svc/Blue"


def sample(
    at: float,
    requests: int = 0,
    *,
    errors: int = 0,
    healthy: int = 2,
    unhealthy: int = 0,
    rtime: float | None = 20.0,
) -> TargetGroupSample:
    return TargetGroupSample(at, requests, errors, healthy, unhealthy, rtime)


def store_with(*samples: TargetGroupSample, retention: float = 1000.0) -> MetricStore:
    store = MetricStore(retention)
    for s in samples:
        store.add(TG, s)
    return store


def test_counters_count_the_growth_from_the_sample_before_the_period() -> None:
    store = store_with(
        sample(5, requests=100, errors=1),
        sample(10, requests=130, errors=3),  # at the start: the baseline, not inside
        sample(15, requests=150, errors=4),
        sample(20, requests=170, errors=8),  # at the end: inside
        sample(25, requests=999, errors=99),  # after: not read
    )
    assert store.value(TG, REQUEST_COUNT, "Sum", 10, 20) == 40.0
    assert store.value(TG, REQUEST_COUNT, "SampleCount", 10, 20) == 40.0
    assert store.value(TG, TARGET_5XX, "Sum", 10, 20) == 5.0
    # Each request is a sample of value 1 (the ELB metric documentation).
    for stat in ("Average", "Minimum", "Maximum"):
        assert store.value(TG, REQUEST_COUNT, stat, 10, 20) == 1.0
    # A period between samples takes the baseline from the last sample before it.
    assert store.value(TG, REQUEST_COUNT, "Sum", 12, 16) == 20.0


def test_counters_without_a_sample_before_count_from_the_first_inside() -> None:
    store = store_with(sample(11, requests=500), sample(19, requests=520))
    assert store.value(TG, REQUEST_COUNT, "Sum", 10, 20) == 20.0


def test_a_zero_count_or_no_sample_is_no_datapoint() -> None:
    """The ALB reports these metrics only when nonzero: no 5xx is missing, not 0."""
    store = store_with(sample(5, requests=10, errors=2), sample(15, requests=30, errors=2))
    assert store.value(TG, REQUEST_COUNT, "Sum", 10, 20) == 20.0
    assert store.value(TG, TARGET_5XX, "Sum", 10, 20) is None
    assert store.value(TG, REQUEST_COUNT, "Sum", 20, 30) is None  # no sample inside
    assert store.value("Svc/Other", REQUEST_COUNT, "Sum", 0, 30) is None
    # A counter that went backwards (HAProxy restarted) counts nothing, never negative.
    restarted = store_with(sample(5, requests=100), sample(15, requests=3))
    assert restarted.value(TG, REQUEST_COUNT, "Sum", 10, 20) is None


def test_host_counts_aggregate_the_samples_inside_the_period() -> None:
    store = store_with(
        sample(9, healthy=9, unhealthy=9),  # before: not read for gauges
        sample(11, healthy=2, unhealthy=0),
        sample(14, healthy=1, unhealthy=1),
        sample(17, healthy=0, unhealthy=3),
    )
    assert store.value(TG, UNHEALTHY_HOSTS, "Maximum", 10, 20) == 3.0
    assert store.value(TG, UNHEALTHY_HOSTS, "Minimum", 10, 20) == 0.0
    assert store.value(TG, UNHEALTHY_HOSTS, "Average", 10, 20) == pytest.approx(4 / 3)
    assert store.value(TG, HEALTHY_HOSTS, "Maximum", 10, 20) == 2.0
    assert store.value(TG, HEALTHY_HOSTS, "SampleCount", 10, 20) == 3.0
    assert store.value(TG, HEALTHY_HOSTS, "Maximum", 20, 30) is None


@pytest.mark.parametrize("stat", ["p99", "p50", "p99.9", "p100", "Average", "Maximum"])
def test_response_time_is_haproxys_average_whatever_the_statistic(stat: str) -> None:
    """HAProxy keeps no percentiles: p99 is its average (rtime, ms) in seconds."""
    store = store_with(
        sample(5, requests=10, rtime=5.0),
        sample(12, requests=20, rtime=100.0),
        sample(18, requests=30, rtime=250.0),  # the period's last sample decides
    )
    assert store.value(TG, RESPONSE_TIME, stat, 10, 20) == pytest.approx(0.25)


def test_response_time_needs_requests_in_the_period() -> None:
    store = store_with(
        sample(5, requests=10, rtime=300.0),
        sample(15, requests=10, rtime=300.0),  # an old average, nothing new served
    )
    assert store.value(TG, RESPONSE_TIME, "p99", 10, 20) is None
    never = store_with(sample(5, requests=0, rtime=None), sample(15, requests=4, rtime=None))
    assert never.value(TG, RESPONSE_TIME, "p99", 10, 20) is None
    counted = store_with(sample(5, requests=10), sample(15, requests=14, rtime=500.0))
    assert counted.value(TG, RESPONSE_TIME, "SampleCount", 10, 20) == 4.0
    assert counted.value(TG, RESPONSE_TIME, "Sum", 10, 20) == pytest.approx(2.0)


def test_the_store_keeps_its_retention_plus_one_baseline() -> None:
    store = store_with(*(sample(t, requests=t) for t in range(0, 101, 10)), retention=25)
    # Newest at 100: 75..100 are kept, and 70 as the baseline of a period from 75.
    assert [s.at for s in store.samples(TG)] == [70, 80, 90, 100]
    assert store.value(TG, REQUEST_COUNT, "Sum", 75, 100) == 30.0


def test_samples_must_come_in_time_order() -> None:
    store = store_with(sample(10))
    with pytest.raises(ValueError, match="time order"):
        store.add(TG, sample(9))
    with pytest.raises(ValueError, match="retention"):
        MetricStore(0)


@pytest.mark.parametrize(
    ("metric", "stat", "message"),
    [
        ("CPUUtilization", "Average", "computes only"),
        ("HTTPCode_ELB_5XX_Count", "Sum", "computes only"),
        ("RequestCountPerTarget", "Sum", "computes only"),
        (REQUEST_COUNT, "p99", "not computed"),
        (UNHEALTHY_HOSTS, "Sum", "not computed"),
        (UNHEALTHY_HOSTS, "p90", "not computed"),
        (RESPONSE_TIME, "p101", "not computed"),
        (RESPONSE_TIME, "tm99", "not computed"),
    ],
)
def test_unsupported_metrics_and_statistics_are_named(metric: str, stat: str, message: str) -> None:
    with pytest.raises(MetricError, match=message):
        check_metric(metric, stat)
    with pytest.raises(MetricError, match=message):
        store_with(sample(1)).value(TG, metric, stat, 0, 10)
