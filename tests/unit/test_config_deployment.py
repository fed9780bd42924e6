"""`[deployment]`: what each key means once parsed, and every way it can be wrong.

A wrong value is the loader's usual one UserError (exit 2) that names the file and the
line of the key at fault and says what to do; the cases below hold one each.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from fargate_api import cli
from fargate_api.config import Config, parse_config
from fargate_api.config.model import (
    DEFAULT_BAKE_TIME,
    DEFAULT_TEST_TRAFFIC_TIME,
    DeploymentAlarmsConfig,
    DeploymentConfig,
    DeploymentStrategy,
)
from fargate_api.config.starter import STARTER_CONFIG
from fargate_api.errors import USAGE_EXIT_CODE, UserError

SOURCE = "deploy.toml"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
HTTPS = f'[load_balancer]\ncertificate_arn = "{CERTIFICATE}"\n\n'


def parse(text: str) -> Config:
    return parse_config(text, source=SOURCE)


def error_of(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse(text)
    assert caught.value.exit_code == USAGE_EXIT_CODE
    return caught.value.render()


# ---------------------------------------------------------------------- valid configs


def test_no_deployment_table_is_a_rolling_deployment_without_alarms() -> None:
    deployment = parse("").deployment
    assert deployment.strategy is DeploymentStrategy.ROLLING
    assert not deployment.shifts_traffic
    assert deployment.effective_bake_time() is None
    assert deployment.effective_test_traffic_time() == 0
    assert deployment.alarm_settings() is None
    assert parse('[deployment]\nstrategy = "rolling"\n') == Config()


@pytest.mark.parametrize("strategy", ["blue_green", "canary", "linear"])
def test_traffic_shifting_defaults_to_ecs_bake_time_and_alarms(strategy: str) -> None:
    deployment = parse(f'[deployment]\nstrategy = "{strategy}"\n').deployment
    assert deployment.shifts_traffic
    assert deployment.effective_bake_time() == DEFAULT_BAKE_TIME
    assert deployment.alarm_settings() == DeploymentAlarmsConfig()
    assert deployment.effective_test_traffic_time() == 0, "no test listener, no pause"


def test_a_test_listener_pauses_five_minutes_unless_told() -> None:
    base = '[deployment]\nstrategy = "blue_green"\ntest_listener_port = 8080\n'
    assert parse(base).deployment.effective_test_traffic_time() == DEFAULT_TEST_TRAFFIC_TIME
    assert parse(base + "test_traffic_time = 0\n").deployment.effective_test_traffic_time() == 0
    assert parse(base + "test_traffic_time = 30\n").deployment.effective_test_traffic_time() == 30


def test_test_listener_ranges_follow_the_listeners_unless_set() -> None:
    base = (
        '[load_balancer]\ningress_cidrs = ["198.51.100.0/24"]\n\n'
        '[deployment]\nstrategy = "canary"\ntest_listener_port = 8080\n'
    )
    assert parse(base).test_listener_cidrs() == (IPv4Network("198.51.100.0/24"),)
    own = parse(base + 'test_listener_cidrs = ["203.0.113.0/24", "192.0.2.0/24"]\n')
    assert own.test_listener_cidrs() == (
        IPv4Network("203.0.113.0/24"),
        IPv4Network("192.0.2.0/24"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alarms = false", None),
        ("alarms = true", DeploymentAlarmsConfig()),
        ("alarms = {}", DeploymentAlarmsConfig()),
        (
            "alarms = { error_rate_percent = 2, period = 30 }",
            DeploymentAlarmsConfig(error_rate_percent=2.0, period=30),
        ),
    ],
)
def test_alarms_take_a_bool_or_a_table(text: str, expected: DeploymentAlarmsConfig | None) -> None:
    for strategy in ("rolling", "linear"):
        deployment = parse(f'[deployment]\nstrategy = "{strategy}"\n{text}\n').deployment
        assert deployment.alarm_settings() == expected, strategy


def test_alarms_table_turns_alarms_on_for_rolling() -> None:
    text = "[deployment.alarms]\nunhealthy_hosts = false\nperiod = 120\n"
    settings = parse(text).deployment.alarm_settings()
    assert settings == DeploymentAlarmsConfig(unhealthy_hosts=False, period=120)
    assert settings is not None and settings.window_seconds() == 240


@pytest.mark.parametrize("percent", ["0.1", "0.3", "12.3", "99.9", "100", "7"])
def test_canary_percent_in_tenths(percent: str) -> None:
    deployment = parse(f'[deployment]\nstrategy = "canary"\ncanary_percent = {percent}\n')
    assert deployment.deployment.canary_percent == float(percent)


@pytest.mark.parametrize(
    ("percent", "steps"),
    [("10.0", 9), ("25", 3), ("33.3", 3), ("11", 9), ("3", 33), ("100", 0), ("50", 1)],
)
def test_linear_steps_are_counted_as_cloudformation_does(percent: str, steps: int) -> None:
    text = f'[deployment]\nstrategy = "linear"\nlinear_percent = {percent}\n'
    assert parse(text).deployment.linear_steps() == steps


def test_the_longest_deployment_cloudformation_allows_is_accepted() -> None:
    # 33 hours = 1980 minutes: bake 1440 + one canary interval of 540.
    text = '[deployment]\nstrategy = "canary"\nbake_time = 1440\ncanary_interval = 540\n'
    assert parse(text).deployment.deployment_minutes() == 1980


def test_bake_time_is_allowed_with_rolling() -> None:
    assert parse("[deployment]\nbake_time = 5\n").deployment.effective_bake_time() == 5


# ------------------------------------------------------------------------- bad configs


@dataclass(frozen=True)
class Case:
    text: str
    says: tuple[str, ...]
    line: int  # the line the message must point at


def case(text: str, line: int, *says: str) -> Case:
    return Case(text, says, line)


CASES: dict[str, Case] = {
    "unknown-strategy": case(
        '[deployment]\nstrategy = "blue-green"\n',
        2,
        "strategy = 'blue-green'",
        "'rolling', 'blue_green', 'canary' or 'linear'",
    ),
    "unknown-key": case(
        '[deployment]\nstrategy = "canary"\ncanary_precent = 5.0\n',
        3,
        "unknown key 'canary_precent'",
        "did you mean 'canary_percent'?",
    ),
    "unknown-alarm-key": case(
        "[deployment.alarms]\nerror_rate = 5.0\n",
        2,
        "unknown key 'error_rate' in [deployment.alarms]",
        "did you mean 'error_rate_percent'?",
    ),
    "canary-percent-without-canary": case(
        '[deployment]\nstrategy = "linear"\ncanary_percent = 5.0\n',
        3,
        "canary_percent is set, but strategy = 'linear'",
        "strategy = 'canary'",
    ),
    "canary-interval-without-canary": case(
        "[deployment]\ncanary_interval = 10\n",
        2,
        "canary_interval is set, but strategy = 'rolling'",
    ),
    "linear-percent-without-linear": case(
        '[deployment]\nstrategy = "blue_green"\nlinear_percent = 20.0\n',
        3,
        "linear_percent is set, but strategy = 'blue_green'",
        "strategy = 'linear'",
    ),
    "linear-interval-without-linear": case(
        '[deployment]\nstrategy = "canary"\nlinear_interval = 3\n',
        3,
        "linear_interval is set, but strategy = 'canary'",
    ),
    "canary-percent-not-a-tenth": case(
        '[deployment]\nstrategy = "canary"\ncanary_percent = 0.35\n',
        3,
        "canary_percent = 0.35",
        "multiple of 0.1",
    ),
    "canary-percent-too-small": case(
        '[deployment]\nstrategy = "canary"\ncanary_percent = 0.05\n',
        3,
        "canary_percent = 0.05",
        "greater than or equal to 0.1",
    ),
    "canary-percent-too-large": case(
        '[deployment]\nstrategy = "canary"\ncanary_percent = 100.5\n',
        3,
        "less than or equal to 100",
    ),
    "linear-percent-too-small": case(
        '[deployment]\nstrategy = "linear"\nlinear_percent = 2.9\n',
        3,
        "linear_percent = 2.9",
        "greater than or equal to 3",
    ),
    "linear-percent-not-a-tenth": case(
        '[deployment]\nstrategy = "linear"\nlinear_percent = 12.34\n',
        3,
        "multiple of 0.1",
    ),
    "percent-is-text": case(
        '[deployment]\nstrategy = "canary"\ncanary_percent = "5"\n',
        3,
        "canary_percent = '5'",
    ),
    "bake-time-negative": case(
        "[deployment]\nbake_time = -1\n", 2, "bake_time = -1", "greater than or equal to 0"
    ),
    "bake-time-over-a-day": case(
        '[deployment]\nstrategy = "blue_green"\nbake_time = 1441\n',
        3,
        "bake_time = 1441",
        "less than or equal to 1440",
    ),
    "canary-interval-over-a-day": case(
        '[deployment]\nstrategy = "canary"\ncanary_interval = 1441\n',
        3,
        "less than or equal to 1440",
    ),
    "deployment-longer-than-cloudformation-waits": case(
        '[deployment]\nstrategy = "linear"\nlinear_percent = 3.0\nlinear_interval = 100\n',
        4,
        "3315 minutes",
        "linear_interval 100 x 33 steps",
        "1980 minutes",
    ),
    "canary-longer-than-cloudformation-waits": case(
        '[deployment]\nstrategy = "canary"\nbake_time = 1440\ncanary_interval = 541\n',
        3,
        "1981 minutes",
        "bake_time 1440 + canary_interval 541",
    ),
    "test-pause-counts-against-the-limit": case(
        '[deployment]\nstrategy = "blue_green"\ntest_listener_port = 8080\n'
        "test_traffic_time = 1966\n",
        4,
        "test_traffic_time 1966",
    ),
    "test-pause-longer-than-a-hook-waits": case(
        '[deployment]\nstrategy = "blue_green"\ntest_listener_port = 8080\n'
        "test_traffic_time = 20161\n",
        4,
        "less than or equal to 20160",
    ),
    "test-listener-with-rolling": case(
        "[deployment]\ntest_listener_port = 8080\n",
        2,
        "test_listener_port is set, but strategy = 'rolling'",
        "choose blue_green, canary or linear",
    ),
    "test-traffic-time-without-test-listener": case(
        '[deployment]\nstrategy = "canary"\ntest_traffic_time = 5\n',
        3,
        "test_traffic_time is set without test_listener_port",
    ),
    "test-cidrs-without-test-listener": case(
        '[deployment]\nstrategy = "canary"\ntest_listener_cidrs = ["10.0.0.0/8"]\n',
        3,
        "test_listener_cidrs is set without test_listener_port",
    ),
    "test-port-out-of-range": case(
        '[deployment]\nstrategy = "canary"\ntest_listener_port = 70000\n',
        3,
        "test_listener_port = 70000",
    ),
    "test-port-is-the-http-port": case(
        '[deployment]\nstrategy = "canary"\ntest_listener_port = 80\n',
        3,
        "deployment.test_listener_port (80) is load_balancer.http_port",
        "a port of its own",
    ),
    "test-port-is-the-https-port": case(
        HTTPS + '[deployment]\nstrategy = "canary"\ntest_listener_port = 443\n',
        6,
        "deployment.test_listener_port (443) is load_balancer.https_port",
    ),
    "test-port-is-the-redirect-port": case(
        HTTPS + '[deployment]\nstrategy = "blue_green"\ntest_listener_port = 80\n',
        6,
        "(80) is load_balancer.http_port",
    ),
    "test-cidrs-empty": case(
        '[deployment]\nstrategy = "canary"\ntest_listener_port = 8080\ntest_listener_cidrs = []\n',
        4,
        "at least one range is needed",
    ),
    "test-cidrs-repeated": case(
        '[deployment]\nstrategy = "canary"\ntest_listener_port = 8080\n'
        'test_listener_cidrs = ["10.0.0.0/8", "10.0.0.0/8"]\n',
        4,
        "10.0.0.0/8 is listed twice",
    ),
    "test-cidrs-host-bits": case(
        '[deployment]\nstrategy = "canary"\ntest_listener_port = 8080\n'
        'test_listener_cidrs = ["10.0.0.1/8"]\n',
        4,
        "test_listener_cidrs",
        "host bits",
    ),
    "test-cidrs-overflow-the-security-group": case(
        HTTPS.replace(
            "\n\n",
            "\ningress_cidrs = [" + ", ".join(f'"10.0.{i}.0/24"' for i in range(30)) + "]\n\n",
        )
        + '[deployment]\nstrategy = "canary"\ntest_listener_port = 8443\n',
        7,
        "need 90 rules",
        "holds 60",
    ),
    "alarms-is-text": case(
        '[deployment]\nalarms = "on"\n',
        2,
        "[deployment] alarms = 'on'",
        "true, false or a table",
    ),
    "alarm-period-not-allowed": case(
        "[deployment.alarms]\nperiod = 45\n",
        2,
        "period = 45",
        "10, 30 or a multiple of 60",
    ),
    "alarm-period-over-a-day": case(
        "[deployment.alarms]\nperiod = 86460\n", 2, "less than or equal to 86400"
    ),
    "alarm-window-over-a-day": case(
        "[deployment.alarms]\nperiod = 600\nevaluation_periods = 145\ndatapoints_to_alarm = 1\n",
        3,
        "evaluation_periods (145) x period (600)",
        "86400 s at most",
    ),
    "alarm-datapoints-beyond-periods": case(
        '[deployment]\nstrategy = "canary"\n\n[deployment.alarms]\nevaluation_periods = 2\n'
        "datapoints_to_alarm = 3\n",
        6,
        "datapoints_to_alarm (3) is more than evaluation_periods (2)",
        "could never fire",
    ),
    "alarm-datapoints-inline": case(
        "[deployment]\nalarms = { evaluation_periods = 1 }\n",
        2,
        "datapoints_to_alarm (2) is more than evaluation_periods (1)",
    ),
    "alarm-error-rate-zero": case(
        "[deployment.alarms]\nerror_rate_percent = 0\n", 2, "error_rate_percent = 0"
    ),
    "alarm-error-rate-over-100": case(
        "[deployment.alarms]\nerror_rate_percent = 150\n", 2, "less than or equal to 100"
    ),
    "alarm-response-time-beyond-idle-timeout": case(
        '[load_balancer]\nidle_timeout = 20\n\n[deployment]\nstrategy = "canary"\n\n'
        "[deployment.alarms]\np99_response_time = 25.0\n",
        8,
        "deployment.alarms.p99_response_time (25 s)",
        "load_balancer.idle_timeout (20 s)",
        "could never fire",
    ),
    "alarm-unhealthy-hosts-not-bool": case(
        "[deployment.alarms]\nunhealthy_hosts = 1\n", 2, "unhealthy_hosts = 1"
    ),
    "request-count-scaling-with-traffic-shifting": case(
        "[autoscaling]\nmin = 2\nmax = 4\nrequests_per_target = 500\n\n"
        '[deployment]\nstrategy = "blue_green"\n',
        4,
        "autoscaling.requests_per_target",
        "autoscaling.cpu_target instead",
    ),
}


def where_lines(message: str) -> list[int]:
    return [int(n) for n in re.findall(rf"{re.escape(SOURCE)}:(\d+)", message)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_deployment_is_one_user_error_at_its_line(name: str) -> None:
    bad = CASES[name]
    message = error_of(bad.text)
    for fragment in bad.says:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert where_lines(message) == [bad.line], message
    assert "\n  fix: " in message
    assert "Traceback" not in message and "Value error" not in message


@pytest.mark.parametrize("name", ["canary-percent-without-canary", "test-port-is-the-http-port"])
def test_synth_exits_2_on_a_bad_deployment(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / SOURCE
    config.write_text(CASES[name].text, encoding="utf-8")
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["fargate-api", "synth", "-c", str(config), "-o", str(out)])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == USAGE_EXIT_CODE
    stderr = capsys.readouterr().err
    assert f"{config}:{CASES[name].line}:" in stderr, stderr
    assert not out.exists(), "nothing is written for a bad config"


# ------------------------------------------------------------------ the starter config


def starter_lines(header: str) -> dict[str, str]:
    """Key -> its line, uncommented, under the commented-out `# [header]` of the starter."""
    lines = STARTER_CONFIG.splitlines()
    (start,) = [
        i for i, line in enumerate(lines) if re.match(rf"^# \[{re.escape(header)}\]\s", line)
    ]
    found: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if not line.startswith("# "):
            break
        key = re.match(r"^# ([a-z][a-z0-9_]*) = ", line)
        if key:
            found[key.group(1)] = line.removeprefix("# ")
    return found


# Lines that show an example value; every other line shows the default.
STARTER_EXAMPLES = {"strategy", "test_listener_port", "test_listener_cidrs", "alarms"}
# The strategy (and the test listener) a shown key needs to be accepted at all.
NEEDS = {
    "canary_percent": 'strategy = "canary"',
    "canary_interval": 'strategy = "canary"',
    "linear_percent": 'strategy = "linear"',
    "linear_interval": 'strategy = "linear"',
    "test_traffic_time": 'strategy = "canary"\ntest_listener_port = 8080',
}


def test_starter_lists_every_deployment_key_in_the_models_order() -> None:
    assert list(starter_lines("deployment")) == list(DeploymentConfig.model_fields)
    assert list(starter_lines("deployment.alarms")) == list(DeploymentAlarmsConfig.model_fields)


@pytest.mark.parametrize(
    "key", sorted(set(starter_lines("deployment")) - STARTER_EXAMPLES), ids=str
)
def test_each_shown_deployment_value_is_the_default(key: str) -> None:
    base = "[deployment]\n" + NEEDS.get(key, 'strategy = "blue_green"') + "\n"
    shown = parse(base + starter_lines("deployment")[key] + "\n").deployment
    default = parse(base).deployment
    assert shown.effective_bake_time() == default.effective_bake_time()
    assert shown.effective_test_traffic_time() == default.effective_test_traffic_time()
    assert shown.model_dump(exclude={"bake_time", "test_traffic_time"}) == default.model_dump(
        exclude={"bake_time", "test_traffic_time"}
    )


@pytest.mark.parametrize("key", sorted(starter_lines("deployment.alarms")), ids=str)
def test_each_shown_alarm_value_is_the_default(key: str) -> None:
    shown = parse("[deployment.alarms]\n" + starter_lines("deployment.alarms")[key] + "\n")
    assert shown.deployment.alarm_settings() == DeploymentAlarmsConfig()


def test_starter_examples_of_deployment_parse() -> None:
    lines = starter_lines("deployment")
    text = '[deployment]\nstrategy = "blue_green"\n' + "\n".join(
        lines[key] for key in ("test_listener_port", "test_listener_cidrs", "alarms")
    )
    deployment = parse(text + "\n").deployment
    assert deployment.test_listener_port == 8080
    assert deployment.test_listener_cidrs == (IPv4Network("203.0.113.0/24"),)
    assert deployment.alarm_settings() == DeploymentAlarmsConfig()
    assert parse(f"[deployment]\n{lines['strategy']}\n") == Config()
