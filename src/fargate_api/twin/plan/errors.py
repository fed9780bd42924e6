"""Why a template set cannot run as a twin, said the way every CLI error is said."""

from __future__ import annotations

from fargate_api.errors import UserError


class PlanError(UserError):
    """The templates ask for something the twin cannot build; nothing has been touched."""
