"""The experiment file: a valid one, the shipped ones, and every refusal with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.toml_lines import key_lines
from fargate_api.twin.fis.experiment_file import (
    ExperimentFile,
    load_experiment,
    parse_experiment,
    twin_config_path,
)

REPO = Path(__file__).resolve().parents[3]

VALID = """\
description = "AZ outage"

[twin]
config = "single-nat.toml"
time_scale = 0.1

[load]
rate = 20
duration = 60
path = "/health"
timeout_ms = 1500

[[faults]]
action = "az-outage"
at = 10
duration = 30
az = "us-east-1a"

[[faults]]
action = "task-kill"
at = 40
service = "api"
percent = 50

[stop]
max_failed_ratio = 0.05
max_p99_ms = 1500
recover_within = 60
egress = "continuous"
"""


def _refusal(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse_experiment(text, "exp.toml")
    assert caught.value.fix  # every refusal says what to do
    return caught.value.what


def test_a_valid_file_is_read_into_the_typed_model() -> None:
    spec = parse_experiment(VALID)
    assert isinstance(spec, ExperimentFile)
    assert spec.twin is not None and spec.twin.time_scale == 0.1
    assert spec.load.rate == 20.0 and spec.load.duration == 60.0
    assert spec.load.path == "/health" and spec.load.timeout_ms == 1500
    outage, kill = spec.faults
    assert (outage.action, outage.at, outage.end, outage.az) == ("az-outage", 10, 40, "us-east-1a")
    assert (kill.action, kill.duration, kill.end, kill.percent) == ("task-kill", None, None, 50)
    assert spec.stop.egress == "continuous" and spec.stop.max_p99_ms == 1500


def test_defaults_without_twin_faults_or_stop() -> None:
    spec = parse_experiment("[load]\nrate = 5\nduration = 10\n")
    assert spec.twin is None and spec.faults == ()
    assert spec.stop.max_failed_ratio is None and spec.stop.egress == "any"
    assert spec.load.path == "/" and spec.load.timeout_ms == 2000


def test_the_model_is_frozen() -> None:
    spec = parse_experiment(VALID)
    with pytest.raises(ValueError):
        spec.load.rate = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "path", sorted((REPO / "examples" / "experiments").glob("az-outage*.toml")), ids=str
)
def test_the_shipped_experiments_are_valid(path: Path) -> None:
    spec = load_experiment(path)
    assert spec.twin is not None and spec.twin.time_scale == 0.1
    assert spec.load.duration <= 60
    assert spec.stop.egress == "continuous"
    assert [f.action for f in spec.faults] == ["az-outage"]


def test_the_single_nat_experiment_names_its_config_beside_it() -> None:
    path = REPO / "examples" / "experiments" / "az-outage-single-nat.toml"
    config = twin_config_path(load_experiment(path), path)
    assert config == (path.parent / "single-nat.toml").resolve()
    assert 'nat = "single"' in config.read_text()


def test_not_toml() -> None:
    assert "not valid TOML" in _refusal("[load\nrate = 1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'descripton = "x"\n[load]\nrate = 1\nduration = 5\n',
            "exp.toml:1: unknown key 'descripton' in the top level; did you mean 'description'?",
        ),
        (
            "[load]\nrate = 1\nduration = 5\nduraton = 5\n",
            "exp.toml:4: unknown key 'duraton' in [load]; did you mean 'duration'?",
        ),
        ('[load]\nrate = "20"\nduration = 5\n', "exp.toml:2: [load] rate = '20': "),
        ("[load]\nrate = 0\nduration = 5\n", "exp.toml:2: [load] rate = 0: "),
        ("[load]\nrate = 1\nduration = 5\npath = 'health'\n", "exp.toml:4: [load] path"),
        ("[load]\nrate = 1\nduration = 5\ntimeout_ms = 1.5\n", "exp.toml:4: [load] timeout_ms"),
        ('description = "x"\n', "exp.toml: [load]: Field required"),
        (
            "[load]\nrate = 1\nduration = 5\n[stop]\nmax_failed_ratio = 5\n",
            "exp.toml:5: [stop] max_failed_ratio = 5: ",
        ),
        (
            '[load]\nrate = 1\nduration = 5\n[stop]\negress = "always"\n',
            "exp.toml:5: [stop] egress = 'always': ",
        ),
        (
            "[twin]\ntime_scale = 2.0\n[load]\nrate = 1\nduration = 5\n",
            "exp.toml:2: [twin] time_scale = 2.0: ",
        ),
        (
            '[twin]\nruntime = "vm"\n[load]\nrate = 1\nduration = 5\n',
            "exp.toml:2: [twin] runtime = 'vm': ",
        ),
    ],
)
def test_each_refusal_names_the_line_and_key(text: str, expected: str) -> None:
    assert _refusal(text).startswith(expected)


FAULT = '[load]\nrate = 1\nduration = 60\n[[faults]]\naction = "az-outage"\nat = 5\n'


def test_an_unknown_action_lists_the_valid_ones() -> None:
    what = _refusal('[load]\nrate = 1\nduration = 60\n[[faults]]\naction = "az-down"\nat = 1\n')
    assert what.startswith("exp.toml:5: faults[0].action = 'az-down': is not a fault action")
    assert "az-outage, task-kill, network-latency" in what


def test_a_lasting_fault_needs_a_duration_and_an_az() -> None:
    what = _refusal(FAULT + 'az = "us-east-1a"\n')
    assert what == "exp.toml:4: faults[0]: az-outage needs a duration in seconds"
    assert _refusal(FAULT + "duration = 5\n").endswith("faults[0]: az-outage needs an az")


def test_task_kill_has_no_duration() -> None:
    text = (
        '[load]\nrate = 1\nduration = 60\n[[faults]]\naction = "task-kill"\nat = 1\nduration = 3\n'
    )
    assert "task-kill has no duration" in _refusal(text)


def test_an_unknown_fault_key_in_the_second_fault_points_at_its_line() -> None:
    text = VALID.replace('service = "api"', 'servce = "api"')
    what = _refusal(text)
    assert what.startswith(
        "exp.toml:22: unknown key 'servce' in faults[1]; did you mean 'service'?"
    )


def test_a_fault_after_the_load_ends_points_at_its_at() -> None:
    text = VALID.replace("at = 40", "at = 60")
    assert _refusal(text) == (
        "exp.toml:21: faults[1].at (60) is not before the load ends (load.duration 60)"
    )


def test_several_problems_are_reported_at_once() -> None:
    what = _refusal("[load]\nrate = -1\nduration = 0\n")
    assert what.startswith("2 problems:")
    assert "exp.toml:2: [load] rate" in what and "exp.toml:3: [load] duration" in what


def test_a_missing_twin_config_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text('[twin]\nconfig = "nope.toml"\n[load]\nrate = 1\nduration = 5\n')
    with pytest.raises(UserError) as caught:
        load_experiment(path)
    assert caught.value.where == f"{path}:2"
    assert "no such file" in caught.value.what


def test_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        load_experiment(tmp_path / "none.toml")
    assert caught.value.what == "experiment file not found"


def test_key_lines_index_arrays_of_tables() -> None:
    lines = key_lines(VALID)
    assert lines[("faults",)] == 13
    assert lines[("faults", "0", "az")] == 17
    assert lines[("faults", "1")] == 19
    assert lines[("faults", "1", "at")] == 21
    assert lines[("stop", "egress")] == 29
