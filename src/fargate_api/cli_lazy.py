"""Commands whose modules are imported only when they run: a fast `fargate-api synth`.

The root app's click group is `LazyGroup` (`typer.Typer(cls=...)`). Besides the commands
defined in cli.py, it knows a registry of `LazyCommand`s: a name, the module and the
attribute of the real command (a function or a `typer.Typer` sub-app), and the first
paragraph of its help. Until a lazy command is needed, the group holds a placeholder
that carries only its name and that help, which is all `fargate-api --help` shows and
all typer needs to suggest a close match for a misspelt command. Running a command (or
asking for its own `--help`) imports its module and builds the real click command the
way typer would have built it for `app.command(name)(function)` or
`app.add_typer(sub_app, name=name)`, with the root app's markup mode.

The help strings are a copy; tests/functional/test_cli_startup.py compares them with the
real commands', so they cannot drift.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    # typer vendors click from 0.26 on; these are the types its groups are declared with.
    from typer._click import Command, Context, HelpFormatter


@dataclass(frozen=True)
class LazyCommand:
    """A command of the root app whose module is imported when it runs."""

    name: str
    module: str
    attribute: str  # a command function, or a typer.Typer sub-app
    help: str  # the first paragraph of the command's help, exactly as typer shows it

    def load(self, rich_markup_mode: Any) -> Command:
        """The real click command, built as typer builds a group's commands."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        wrapper = typer.Typer(add_completion=False, rich_markup_mode=rich_markup_mode)
        if isinstance(target, typer.Typer):
            wrapper.add_typer(target, name=self.name)
        else:
            wrapper.command(self.name)(target)
        return typer.main.get_group(wrapper).commands[self.name]


class Placeholder(TyperCommand):
    """Stands for a lazy command in the group until the command is needed."""

    def __init__(self, lazy: LazyCommand) -> None:
        super().__init__(name=lazy.name, help=lazy.help)
        self.lazy = lazy


class LazyGroup(TyperGroup):
    """A typer group that imports a lazy command's module only when the command runs.

    Subclass it with `lazy_commands` set; they are listed after the group's own commands,
    in the registry's order.
    """

    lazy_commands: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        for lazy in self.lazy_commands:
            self.add_command(Placeholder(lazy))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, Placeholder) and not self._listing:
            command = command.lazy.load(self.rich_markup_mode)
            self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        # Listing the commands needs their names and first help paragraph, not their modules.
        with self.listing():
            super().format_help(ctx, formatter)

    @contextmanager
    def listing(self) -> Iterator[None]:
        """While active, get_command returns placeholders as they are (no import)."""
        previous, self._listing = self._listing, True
        try:
            yield
        finally:
            self._listing = previous
