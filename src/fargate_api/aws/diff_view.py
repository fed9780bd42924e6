"""The change set as people read it: a table of action, resource, replacement, properties."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from fargate_api.aws.changeset import Change

ACTION_STYLES = {"Add": "green", "Modify": "yellow", "Remove": "red", "Import": "cyan"}


def change_table(stack: str, changes: Sequence[Change], note: str = "") -> Table:
    title = f"{stack}: {len(changes)} change{'s' if len(changes) != 1 else ''}"
    if note:
        title += f" ({note})"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("action")
    table.add_column("logical id")
    table.add_column("type")
    table.add_column("replacement")
    table.add_column("changed properties")
    for change in changes:
        replacement = Text(change.replacement or "")
        if change.replacement == "True":
            replacement.stylize("bold red")
        elif change.replacement == "Conditional":
            replacement.stylize("yellow")
        table.add_row(
            Text(change.action, style=ACTION_STYLES.get(change.action, "")),
            change.logical_id,
            change.resource_type,
            replacement,
            ", ".join(change.properties),
        )
    return table
