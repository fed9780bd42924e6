"""Questions to the user, behind a small interface so tests can answer them.

Without a terminal on stdin nobody can answer: a question then needs --yes, and a
Ctrl-C (a CI job being stopped, say) cancels the update so the stack is left stable.
"""

from __future__ import annotations

import sys
from typing import Literal, Protocol

from rich.console import Console
from rich.prompt import Confirm, Prompt

from fargate_api.errors import UserError

InterruptChoice = Literal["cancel", "watch", "leave"]


class Prompter(Protocol):
    def confirm(self, question: str, default: bool = False) -> bool: ...

    def interrupted(self, stack: str, status: str) -> InterruptChoice: ...


class ConsolePrompter:
    def __init__(self, console: Console, assume_yes: bool) -> None:
        self.console = console
        self.assume_yes = assume_yes

    def confirm(self, question: str, default: bool = False) -> bool:
        if self.assume_yes:
            return True
        if not sys.stdin.isatty():
            raise UserError(
                f"this needs an answer ({question}), but stdin is not a terminal",
                fix="pass --yes to answer yes to every question",
            )
        try:
            return Confirm.ask(question, console=self.console, default=default)
        except (KeyboardInterrupt, EOFError):
            self.console.print()
            return False

    def interrupted(self, stack: str, status: str) -> InterruptChoice:
        if not sys.stdin.isatty():
            return "cancel"
        self.console.print(
            f"\n[bold]interrupted[/bold] while {stack} is {status}.\n"
            "  c: cancel (CloudFormation rolls back to the previous state)\n"
            "  w: keep watching\n"
            "  l: leave it running and exit (check later with 'fargate-api status')"
        )
        try:
            answer = Prompt.ask(
                "what now?", console=self.console, choices=["c", "w", "l"], default="w"
            )
        except (KeyboardInterrupt, EOFError):
            return "leave"
        return {"c": "cancel", "w": "watch", "l": "leave"}[answer]  # type: ignore[return-value]
