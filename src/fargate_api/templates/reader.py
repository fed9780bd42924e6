"""Where template text comes from: the disk, or memory for freshly synthesized templates.

`check` without a PATH checks templates that were never written, so the loader reads
through this small interface instead of opening files itself.

A path is looked at (stat) before it is opened, so that what is not a template file is
named for what it is (a folder, a device, a pipe, a symbolic link loop) instead of "not
found", and a FIFO is never opened: opening one blocks until something writes to it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from fargate_api.templates.errors import TemplateError
from fargate_api.templates.limits import MAX_TEMPLATE_BYTES, too_large


class FileProblem(NamedTuple):
    """Why a path is not a template file that can be read: what, and how to fix it."""

    what: str
    fix: str
    missing: bool = False


NOT_FOUND = FileProblem(
    "template file not found",
    "check the path; a nested stack's is relative to its parent template's folder",
    missing=True,
)


class TemplateReader(Protocol):
    def read(self, path: Path) -> str: ...

    def is_file(self, path: Path) -> bool: ...

    def problem(self, path: Path) -> FileProblem | None:
        """Why `path` is not a template file to read; None when it is one."""
        ...

    def display(self, path: Path) -> str:
        """The path as users should see it in messages and reports."""
        ...


def resolved(path: Path) -> Path:
    """The absolute path with symbolic links resolved, as far as they resolve: a link loop
    (Path.resolve raises RuntimeError for it) is left as it is, made absolute."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))


class DiskReader:
    def read(self, path: Path) -> str:
        problem = self.problem(path)
        if problem is not None:
            raise TemplateError(problem.what, where=self.display(path), fix=problem.fix)
        try:
            return path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise TemplateError("template file not found", where=self.display(path)) from None
        except IsADirectoryError:
            raise TemplateError(
                "is a folder, not a template file", where=self.display(path)
            ) from None
        except UnicodeDecodeError:
            raise TemplateError(
                "not a text file (not UTF-8)",
                where=self.display(path),
                fix="templates are YAML or JSON text in UTF-8",
            ) from None
        except OSError as exc:
            raise TemplateError(f"cannot read: {exc.strerror}", where=self.display(path)) from None

    def is_file(self, path: Path) -> bool:
        return path.is_file()

    def problem(self, path: Path) -> FileProblem | None:
        try:
            status = path.stat()
        except FileNotFoundError:
            return NOT_FOUND
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return FileProblem(
                    "is a symbolic link loop", "point the link (or the path) at a template file"
                )
            return FileProblem(f"cannot read: {exc.strerror}", "check the path's permissions")
        if stat.S_ISDIR(status.st_mode):
            return FileProblem(
                "is a folder, not a template file",
                "name a template file (YAML or JSON) in it, such as its parent.yml",
            )
        if not stat.S_ISREG(status.st_mode):
            return FileProblem(
                "is not a regular file (a device, pipe or socket)",
                "give the path of a template file (YAML or JSON)",
            )
        if status.st_size > MAX_TEMPLATE_BYTES:
            error = too_large(status.st_size, "")
            return FileProblem(error.what, error.fix or "")
        return None

    def display(self, path: Path) -> str:
        full = resolved(path)
        try:
            return full.relative_to(resolved(Path.cwd())).as_posix()
        except ValueError:
            return full.as_posix()


class MemoryReader:
    def __init__(self, files: Mapping[Path, str]) -> None:
        self._files = {Path(p): text for p, text in files.items()}

    def read(self, path: Path) -> str:
        try:
            return self._files[Path(path)]
        except KeyError:
            raise TemplateError("template file not found", where=self.display(path)) from None

    def is_file(self, path: Path) -> bool:
        return Path(path) in self._files

    def problem(self, path: Path) -> FileProblem | None:
        return None if self.is_file(path) else NOT_FOUND

    def display(self, path: Path) -> str:
        return Path(path).as_posix()

    def paths(self) -> list[Path]:
        return list(self._files)
