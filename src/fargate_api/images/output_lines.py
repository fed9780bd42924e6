"""How a builder's or a push's own output lines are shown, the same in every command:
indented and dim on stderr, under the tool's own step lines, escaped so that a `[`
in a Dockerfile line is never read as rich markup."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape


def tool_output(console: Console) -> Callable[[str], None]:
    return lambda line: console.print(f"  [dim]{escape(line)}[/dim]")
