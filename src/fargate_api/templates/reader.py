"""Where template text comes from: the disk, or memory for freshly synthesized templates.

`check` without a PATH checks templates that were never written, so the loader reads
through this small interface instead of opening files itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from fargate_api.templates.errors import TemplateError


class TemplateReader(Protocol):
    def read(self, path: Path) -> str: ...

    def is_file(self, path: Path) -> bool: ...

    def display(self, path: Path) -> str:
        """The path as users should see it in messages and reports."""
        ...


class DiskReader:
    def read(self, path: Path) -> str:
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

    def display(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return path.resolve().as_posix()


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

    def display(self, path: Path) -> str:
        return Path(path).as_posix()

    def paths(self) -> list[Path]:
        return list(self._files)
