"""cli.main(), the CLI edge: which arguments are ours, and how each outcome becomes an
exit code (0 done, 1 failed, 2 bad input, 130 interrupted; README "Exit codes").

The app is replaced by a recorder or a tiny Typer app, so these tests run no command;
tests/functional/test_exit_codes.py runs the real commands as processes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
import typer

from fargate_api import cli
from fargate_api.errors import (
    FAILED_EXIT_CODE,
    INTERRUPTED_EXIT_CODE,
    USAGE_EXIT_CODE,
    OperationError,
    UserError,
)


def run_main(monkeypatch: pytest.MonkeyPatch, argv: list[str], app: Callable[..., object]) -> int:
    """cli.main() with this command line and app; its exit code (0 when it returned)."""
    monkeypatch.setattr(sys, "argv", ["fargate-api", *argv])
    monkeypatch.setattr(cli, "app", app)
    try:
        cli.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def recorder() -> tuple[list[list[str]], Callable[..., None]]:
    calls: list[list[str]] = []

    def app(*, args: list[str], prog_name: str) -> None:
        assert prog_name == "fargate-api"
        calls.append(list(args))

    return calls, app


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--debug", "synth"], ["synth"]),
        (["synth", "--debug", "-o", "out"], ["synth", "-o", "out"]),
        # After `--` the arguments are the tool's, --debug included.
        (
            ["local", "exec", "--internet", "--", "tool", "--debug"],
            ["local", "exec", "--internet", "--", "tool", "--debug"],
        ),
        (
            ["--debug", "local", "exec", "--internet", "--", "tool", "--debug", "--", "x"],
            ["local", "exec", "--internet", "--", "tool", "--debug", "--", "x"],
        ),
        (["local", "exec", "abc", "--", "--debug"], ["local", "exec", "abc", "--", "--debug"]),
        (["local", "exec", "abc", "--"], ["local", "exec", "abc", "--"]),
    ],
)
def test_debug_is_ours_only_before_a_double_dash(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: list[str]
) -> None:
    calls, app = recorder()
    assert run_main(monkeypatch, argv, app) == 0
    assert calls == [expected]


def test_split_at_double_dash_keeps_the_rest_verbatim() -> None:
    assert cli.split_at_double_dash(["a", "--debug"]) == (["a", "--debug"], [])
    assert cli.split_at_double_dash(["a", "--", "b", "--"]) == (["a"], ["--", "b", "--"])
    assert cli.split_at_double_dash([]) == ([], [])


def failing(exc: BaseException) -> Callable[..., None]:
    def app(*, args: list[str], prog_name: str) -> None:
        raise exc

    return app


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UserError("bad flag", where="-c", fix="pass a file"), USAGE_EXIT_CODE),
        (OperationError("the deploy rolled back", fix="see the events"), FAILED_EXIT_CODE),
    ],
)
def test_a_cli_error_is_one_message_and_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], exc: UserError, code: int
) -> None:
    assert run_main(monkeypatch, ["synth"], failing(exc)) == code
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and exc.what in err and "fix: " in err
    assert "Traceback" not in err


def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exc = UserError("bad flag", fix="pass a file")
    assert run_main(monkeypatch, ["synth", "--debug"], failing(exc)) == USAGE_EXIT_CODE
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "UserError: bad flag" in err
    assert err.count("error:") == 1


def test_debug_after_double_dash_shows_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exc = UserError("no such task")
    argv = ["local", "exec", "abc", "--", "tool", "--debug"]
    assert run_main(monkeypatch, argv, failing(exc)) == USAGE_EXIT_CODE
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_outside_the_app_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_main(monkeypatch, ["synth"], failing(KeyboardInterrupt())) == 130


def test_ctrl_c_inside_a_command_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer turns a KeyboardInterrupt in a command into exit 130 itself; keep it so."""
    app = typer.Typer()

    @app.command()
    def wait() -> None:
        raise KeyboardInterrupt

    @app.command()
    def other() -> None:  # two commands, so that the command name is parsed
        pass

    assert run_main(monkeypatch, ["wait"], app) == INTERRUPTED_EXIT_CODE


def test_a_bug_is_not_taken_for_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything but a CliError propagates: Python prints the traceback and exits 1."""
    with pytest.raises(ZeroDivisionError):
        run_main(monkeypatch, ["synth"], failing(ZeroDivisionError()))
