"""CloudFormation's own limits, enforced before a template is read any further.

A template past them could never be deployed, and reading it could take minutes (cfn-lint's
pairwise checks over thousands of resources, a Fn::Sub of a hundred megabytes) or recurse
past Python's stack. So they are refused up front as bad input, naming the limit. The
quotas are those of the CloudFormation User Guide ("CloudFormation quotas"): a template
body of 1 MB when it is hosted in S3 (51,200 bytes inline), 500 resources per template.
"""

from __future__ import annotations

from fargate_api.templates.errors import TemplateError

MAX_TEMPLATE_BYTES = 1_048_576
MAX_RESOURCES = 500
# How deep a template's values may nest. CloudFormation templates are never nearly that
# deep; the parsers and the resolver recurse once per level, so this is checked before
# anything recurses that far (a RecursionError otherwise).
MAX_DEPTH = 100


def too_deep(where: str) -> TemplateError:
    return TemplateError(
        f"values nested more than {MAX_DEPTH} levels deep",
        where=where,
        fix="CloudFormation templates are never that deep; check the file is the template "
        "you meant",
    )


def too_large(size: int, where: str) -> TemplateError:
    return TemplateError(
        f"the template is {size:,} bytes, over CloudFormation's limit of "
        f"{MAX_TEMPLATE_BYTES:,} bytes (1 MB) for a template body",
        where=where,
        fix="split it into nested stacks, each under 1 MB",
    )


def too_many_resources(count: int, where: str) -> TemplateError:
    return TemplateError(
        f"{count:,} resources, over CloudFormation's limit of {MAX_RESOURCES} per template",
        where=where,
        fix="split the resources into nested stacks, each with at most 500",
    )
