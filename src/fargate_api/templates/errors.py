"""The loader's one error: input the user must fix (bad syntax, missing file, unknown function).

It is a UserError, so the CLI prints it as one message and exits 2. Everything that is
merely unknowable statically is not an error: it becomes a marker (values.py).
"""

from __future__ import annotations

from fargate_api.errors import UserError


class TemplateError(UserError):
    pass
