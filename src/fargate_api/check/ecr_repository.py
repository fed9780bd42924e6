"""The ECR repository's settings, read the way FSBP's ECR controls judge them.

FA701-FA703 each want one setting of an AWS::ECR::Repository. They share the walk down
its Properties and its answer for a value a template cannot show (a parameter without a
value, an undecidable condition, an import): UNKNOWN, which is never a finding.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from fargate_api.templates import Resource

REPOSITORY = "AWS::ECR::Repository"


class _Unknown(Enum):
    UNKNOWN = "unknown"


UNKNOWN: Final = _Unknown.UNKNOWN


def setting(repository: Resource, *path: str) -> Any:
    """The value under Properties at path: None when a key on the way is absent (the
    service default applies), UNKNOWN when a level is only known at deploy time."""
    value: Any = repository.properties
    for key in path:
        if not isinstance(value, dict):
            return UNKNOWN  # a marker, or a malformed value that cfn-lint reports
        value = value.get(key)
        if value is None:
            return None
    return value
