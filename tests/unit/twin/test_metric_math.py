"""CloudWatch metric math as the twin runs it: the subset, its errors, missing data."""

from __future__ import annotations

import pytest

from fargate_api.twin.cloudwatch.metric_math import MetricMathError, evaluate, parse

RATE = "IF(req_a > 0, 100 * err_a / req_a, 0)"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),  # left-associative
        ("12 / 4 / 3", 1.0),
        ("-m1 + 5", 3.0),
        ("--m1", 2.0),
        ("2.5e1 + .5", 25.5),
        ("m1 * 100 / m2", 50.0),
        ("m1 > 1", 1.0),
        ("m1 >= 2", 1.0),
        ("m1 < 2", 0.0),
        ("m1 <= 2", 1.0),
        ("m1 == m1", 1.0),
        ("m1 != 2", 0.0),
        ("m1 + 1 > m2 - 2", 1.0),  # comparisons bind loosest: 3 > 2
        ("IF(m1 > 1, 7, 8)", 7.0),
        ("IF(m1 > 5, 7, 8)", 8.0),
        ("IF(m1, m2)", 4.0),  # any nonzero condition is true
        ("MAX([m1, m2, 3])", 4.0),
        ("MIN([m1, m2, 3])", 2.0),
        ("SUM([m1, m2, 3])", 9.0),
        ("AVG([m1, m2, 3])", 3.0),
        ("MAX(m1)", 2.0),  # one series, evaluated one period at a time: its own value
        ("MAX([IF(m1 > 0, 10, 0), m2 * 2])", 10.0),
    ],
)
def test_the_subset_evaluates(expression: str, expected: float) -> None:
    assert evaluate(expression, {"m1": 2.0, "m2": 4.0}) == pytest.approx(expected)


def test_the_deployment_alarm_expressions() -> None:
    """The error rate per target group and the MAX over both, as synth writes them."""
    values: dict[str, float | None] = {"req_a": 200.0, "err_a": 10.0}
    assert evaluate(RATE, values) == pytest.approx(5.0)
    values["rate_a"] = 5.0
    values["rate_b"] = 12.5
    assert evaluate("MAX([rate_a, rate_b])", values) == pytest.approx(12.5)


def test_parse_lists_the_ids_an_expression_reads() -> None:
    assert parse(RATE).ids == {"req_a", "err_a"}
    assert parse("MAX([rate_a, rate_b]) + 1").ids == {"rate_a", "rate_b"}
    assert parse("3 * 4").ids == frozenset()


# ------------------------------------------------------------------------------ missing data


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        # No requests: the ALB reports no RequestCount datapoint, so no rate either.
        (RATE, {"req_a": None, "err_a": None}, None),
        # Requests but no 5xx (no HTTPCode_Target_5XX_Count datapoint): a rate of 0.
        (RATE, {"req_a": 50.0, "err_a": None}, 0.0),
        # Between two series, the missing one is 0 while the other has a value ...
        ("m1 + m2", {"m1": None, "m2": 3.0}, 3.0),
        ("m1 > m2", {"m1": None, "m2": 3.0}, 0.0),
        ("m1 / m2", {"m1": 6.0, "m2": None}, None),  # ... and dividing by it drops the point
        # ... but a number is no series: nothing to align with.
        ("5 * m1", {"m1": None}, None),
        ("m1 > 0", {"m1": None}, None),
        ("-m1", {"m1": None}, None),
        ("m1 + m2", {"m1": None, "m2": None}, None),  # only missing data: missing
        ("m1 / 0", {"m1": 4.0}, None),  # division by zero drops the datapoint
        ("m1 / (m2 - m2)", {"m1": 4.0, "m2": 1.0}, None),
        # IF: no condition, no datapoint; true with a missing value: 0; false without
        # a (present) third argument: no datapoint.
        ("IF(m1, 1, 2)", {"m1": None}, None),
        ("IF(m1, m2, 2)", {"m1": 1.0, "m2": None}, 0.0),
        ("IF(m1, 1)", {"m1": 0.0}, None),
        ("IF(m1, 1, m2)", {"m1": 0.0, "m2": None}, None),
        # Aggregates of a list: a missing member is 0 while another has a value.
        ("MAX([m1, m2])", {"m1": None, "m2": 3.0}, 3.0),
        ("MIN([m1, m2])", {"m1": None, "m2": 3.0}, 0.0),
        ("AVG([m1, m2])", {"m1": None, "m2": 3.0}, 1.5),
        ("SUM([m1, m2])", {"m1": None, "m2": None}, None),
        ("MAX(m1)", {"m1": None}, None),
    ],
)
def test_missing_datapoints_follow_cloudwatch(
    expression: str, values: dict[str, float | None], expected: float | None
) -> None:
    assert evaluate(expression, values) == expected


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("FILL(m1, 0)", r"character 1: FILL\(\) is not supported"),
        ("SUM(METRICS())", r"character 5: METRICS\(\) is not supported"),
        ("max([m1, m2])", "functions are written in upper case: MAX"),
        ("m1 > 1 AND m2 > 1", "character 8: the logical operator AND is not supported"),
        ("m1 && m2", "'&' is not part of the subset"),
        ("m1 ^ 2", "character 4: '\\^' is not part of the subset"),
        ('SUM(METRICS("err"))', "METRICS"),
        ("M1 + 1", "'M1' is not an id"),
        ("m1 +", "expected a number, an id or a function, found 'the end'"),
        ("(m1 + 1", r"expected '\)', found 'the end'"),
        ("m1 m2", "unexpected 'm2'"),
        ("[m1, m2]", r"a \[list\] is only allowed as the argument of MAX"),
        ("MAX(m1, m2)", r"write MAX\(\[a, b\]\)"),
        ("IF(m1)", "IF takes 2 or 3 arguments, not 1"),
        ("IF(m1, 1, 2, 3)", "IF takes 2 or 3 arguments, not 4"),
        ("m1 = 2", "'=' is not part of the subset"),
    ],
)
def test_anything_outside_the_subset_fails_at_parse(expression: str, message: str) -> None:
    with pytest.raises(MetricMathError, match=message) as caught:
        parse(expression)
    assert "the twin runs numbers, ids" in str(caught.value)  # says what it does run


def test_an_unknown_id_is_an_error_not_missing_data() -> None:
    with pytest.raises(MetricMathError, match="no query with id 'm3'"):
        evaluate("m1 + m3", {"m1": 1.0})


def test_errors_are_value_errors_for_callers_that_list_them() -> None:
    assert issubclass(MetricMathError, ValueError)
