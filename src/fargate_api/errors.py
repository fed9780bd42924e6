"""The two error types users see, and the exit codes every command shares.

Anything the user can fix (a bad config, a missing file, a wrong flag) is raised as a
UserError carrying what went wrong, where, and how to fix it: exit 2. An operation that
was well asked for but did not succeed (a deploy that rolled back, a twin that never got
healthy) is raised as OperationError: exit 1. The CLI edge (cli.main) renders both the
same way, once; only --debug shows a traceback. Ctrl-C is 130 everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAILED_EXIT_CODE = 1
USAGE_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130


class CliError(Exception):
    """What the CLI edge renders as one message (what, where, fix) and turns into an exit
    code; kept as one base so that the rendering lives in one place."""

    exit_code = FAILED_EXIT_CODE

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.fix = fix

    def render(self) -> str:
        head = f"{self.where}: {self.what}" if self.where else self.what
        return f"{head}\n  fix: {self.fix}" if self.fix else head


class UserError(CliError):
    """Bad input that the user can fix: exit 2, nothing changed."""

    exit_code = USAGE_EXIT_CODE


class OperationError(CliError):
    """The operation was well asked for, ran, and failed: exit 1. It says what failed and
    where to look, so scripts can tell "investigate or retry" (1) from "fix the command
    line or the config" (2)."""

    exit_code = FAILED_EXIT_CODE


@contextmanager
def writing(what: str, where: Path, fix: str) -> Iterator[None]:
    """Turns a failed write of a user-chosen path (read-only, missing folder) into a UserError."""
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {what}: {exc.strerror}", where=str(where), fix=fix) from None
