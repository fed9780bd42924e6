"""Exit codes, the same in every command (README "Exit codes"): 0 done, 1 failed, 2 bad
input, 130 interrupted.

Each command runs as a real process. Bad input must give exit 2 and exactly one message
on stderr, with no traceback, and change nothing; only --debug adds the traceback (and
keeps the exit code). Usage errors that click reports (unknown command or option, a bad
choice) are exit 2 as well.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functional.support import REPO, cli_env, describe_run, run_cli

FIXTURES = REPO / "tests" / "fixtures" / "check"
NO_TWIN = "exit-codes-none"  # a valid twin name that no test starts
CONNECT_TIMEOUT = 60.0

# Commands as a user could mistype them, and a fragment of the one message each must give.
BAD_INPUT: dict[str, tuple[list[str], str]] = {
    "init into a missing folder": (["init", "no/such/folder/x.toml"], "cannot write the config"),
    "synth with a missing config": (["synth", "-c", "missing.toml"], "config file not found"),
    "config with a missing config": (["config", "-c", "missing.toml"], "config file not found"),
    "check a missing template": (["check", "missing.yml"], "missing.yml"),
    "check PATHs and a config": (["check", "a.yml", "-c", "c.toml"], "not both"),
    "cost in a region without prices": (["cost", "--region", "xx-nowhere-1"], "xx-nowhere-1"),
    "cost of a config and templates": (["cost", "-c", "a.toml", "-t", "out"], "not both"),
    "diagram to a .gif": (["diagram", "-o", "x.gif"], "unsupported diagram format"),
    **{
        f"{command} with a missing config": ([command, "-c", "missing.toml"], "missing.toml")
        for command in ("deploy", "diff", "status", "outputs", "logs", "destroy", "rollback")
    },
    "local rollback of a twin with a bad name": (
        ["local", "rollback", "--name", "Bad_Name"],
        "twin name",
    ),
    "local up with a bad --run": (["local", "up", "--run", "nginx"], "IMAGE=COMMAND"),
    # (moved here from tests/twin/test_local_lifecycle.py: it needs no root)
    "local up with a bad name": (["local", "up", "--name", "Bad_Name"], "twin name"),
    "local status with a bad name": (["local", "status", "--name", "Bad_Name"], "twin name"),
    # Not root: "needs root"; root: no such twin. Either way 2, and the --debug after
    # `--` is the tool's, so no traceback.
    "local exec -- tool --debug": (
        ["local", "exec", "--name", NO_TWIN, "--internet", "--", "tool", "--debug"],
        "",
    ),
}

# Mistakes click itself reports (in a box titled "Error", most after the usage line).
USAGE: dict[str, tuple[list[str], str]] = {
    "unknown command": (["nosuch"], "No such command"),
    "unknown local command": (["local", "nosuch"], "No such command"),
    "unknown option": (["synth", "--nope"], "No such option"),
    "option without its value": (["synth", "-o"], "requires an argument"),
    "bad choice": (["check", "--format", "xml"], "xml"),
}


def one_error(stderr: str) -> None:
    """Exactly one error message, with a fix, and no traceback."""
    assert stderr.startswith("error: "), f"stderr does not start with 'error: ':\n{stderr}"
    assert stderr.count("error:") == 1, f"more than one error message:\n{stderr}"
    assert "\n  fix: " in stderr, f"the message gives no fix:\n{stderr}"
    assert "Traceback" not in stderr, f"a traceback without --debug:\n{stderr}"


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_exits_2_with_one_message(tmp_path: Path, case: str) -> None:
    args, fragment = BAD_INPUT[case]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert result.stdout == "", describe_run(result)
    one_error(result.stderr)
    assert fragment in result.stderr, describe_run(result)
    assert list(tmp_path.iterdir()) == [], "bad input must change nothing"


@pytest.mark.parametrize("case", USAGE)
def test_usage_errors_exit_2_with_one_message(tmp_path: Path, case: str) -> None:
    args, fragment = USAGE[case]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert result.stdout == "", describe_run(result)
    assert result.stderr.count("Error") == 1 and fragment in result.stderr, describe_run(result)
    assert "Traceback" not in result.stderr, describe_run(result)


@pytest.mark.parametrize(
    "args",
    [
        ["--debug", "synth", "-c", "missing.toml"],
        ["synth", "-c", "missing.toml", "--debug"],  # anywhere before a `--`
    ],
)
def test_debug_adds_the_traceback_and_keeps_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert "Traceback (most recent call last)" in result.stderr, describe_run(result)
    assert "UserError: config file not found" in result.stderr, describe_run(result)
    assert result.stderr.count("error: ") == 1, describe_run(result)


def test_findings_exit_1(tmp_path: Path) -> None:
    """The check ran and failed: exit 1, the report on stdout, no error message."""
    result = run_cli("check", FIXTURES / "nested", cwd=tmp_path)
    assert result.returncode == 1, describe_run(result)
    assert result.stdout.strip(), describe_run(result)
    assert "Traceback" not in result.stderr and "error:" not in result.stderr


def test_success_exits_0(tmp_path: Path) -> None:
    result = run_cli("config", "--json", cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)


def _accept_while(process: subprocess.Popen[str], server: socket.socket) -> socket.socket:
    """The command's connection to the fake endpoint; fails if the command ends first."""
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            return server.accept()[0]
        except TimeoutError:
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"exited {process.returncode} before calling AWS:\n{out}\n{err}")
    pytest.fail(f"no request to the endpoint within {CONNECT_TIMEOUT} s")


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    """Ctrl-C while a command waits for AWS: exit 130, no traceback. A socket that accepts
    and never answers stands in for the endpoint, so the signal lands mid-request."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        port = server.getsockname()[1]
        env = cli_env(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_CONFIG_FILE=str(tmp_path / "none"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        )
        command = ["status", "--region", "eu-west-1", "--endpoint-url", f"http://127.0.0.1:{port}"]
        process = subprocess.Popen(
            [sys.executable, "-m", "fargate_api", *command],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            connection = _accept_while(process, server)  # now it waits for an answer
            with connection:
                process.send_signal(signal.SIGINT)
                _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 130, f"exit {process.returncode}\n{stderr}"
    assert "Traceback" not in stderr, stderr
