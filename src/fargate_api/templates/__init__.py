"""CloudFormation templates as a typed, statically resolved stack set.

`check` reads templates through this package and so will the local twin: both need the
same answer to "which resources does this set of files create, with which values, and
which stack feeds which", without AWS. Intrinsic functions are resolved as far as they
can be without deploying; what cannot be known stays as a typed marker (values.py).
"""

from fargate_api.templates.discover import Discovery, discover
from fargate_api.templates.errors import TemplateError
from fargate_api.templates.loader import load_stack_set
from fargate_api.templates.model import (
    Output,
    Parameter,
    PropertyPath,
    Resource,
    Stack,
    StackLink,
    StackSet,
    TemplateFile,
)
from fargate_api.templates.options import ResolveOptions
from fargate_api.templates.reader import DiskReader, MemoryReader, TemplateReader
from fargate_api.templates.values import (
    AttributeRef,
    ResourceRef,
    Text,
    Unresolved,
    UnresolvedKind,
    is_plain,
)

__all__ = [
    "AttributeRef",
    "Discovery",
    "DiskReader",
    "MemoryReader",
    "Output",
    "Parameter",
    "PropertyPath",
    "ResolveOptions",
    "Resource",
    "ResourceRef",
    "Stack",
    "StackLink",
    "StackSet",
    "TemplateError",
    "TemplateFile",
    "TemplateReader",
    "Text",
    "Unresolved",
    "UnresolvedKind",
    "discover",
    "is_plain",
    "load_stack_set",
]
