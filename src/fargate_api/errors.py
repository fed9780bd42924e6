"""The one error type users see.

Anything the user can fix (a bad config, a missing file, a wrong flag) is raised as a
UserError carrying what went wrong, where, and how to fix it. The CLI prints it as one
message and exits 2; only --debug shows a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USAGE_EXIT_CODE = 2


class UserError(Exception):
    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.fix = fix

    def render(self) -> str:
        head = f"{self.where}: {self.what}" if self.where else self.what
        return f"{head}\n  fix: {self.fix}" if self.fix else head


@contextmanager
def writing(what: str, where: Path, fix: str) -> Iterator[None]:
    """Turns a failed write of a user-chosen path (read-only, missing folder) into a UserError."""
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {what}: {exc.strerror}", where=str(where), fix=fix) from None
