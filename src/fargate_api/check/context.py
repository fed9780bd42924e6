"""What a rule sees: every loaded stack set, with lookups across stacks.

The lookups themselves belong to the reading layer (templates/query.py), shared with
the diagram and the twin; the name stays so that a rule's signature says it is a rule.
"""

from __future__ import annotations

from fargate_api.templates.query import StackQuery


class CheckContext(StackQuery):
    """The stack sets one `check` run looks at."""
