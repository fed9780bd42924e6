"""The reading layer: CloudFormation templates as a typed, statically resolved stack set.

Every back-end that reads templates (`check`, `diagram`, `cost`, the twin's planner)
reads them through this package, because they all need the same answer to "which
resources does this set of files create, with which values, and which stack feeds
which", without AWS. Intrinsic functions are resolved as far as they can be without
deploying; what cannot be known stays as a typed marker (values.py).

On top of the loaded stack set sit the queries, one job per module: props.py (typed
scalar reads), query.py (refs and reverse lookups across stacks), network.py (routes,
public subnets, gateways, security group rules normalised once), topology.py
(service -> target group -> listener -> load balancer, task definitions) and
load_balancing.py (listener actions and rules, target group settings with ELB's
defaults). `synth` is the writer; this package never imports it, nor config, nor any
back-end.
"""

from fargate_api.templates.discover import Discovery, discover
from fargate_api.templates.errors import TemplateError
from fargate_api.templates.loader import load_stack_set, load_stacks
from fargate_api.templates.model import (
    ImportLink,
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
from fargate_api.templates.stack_inputs import StackInput, parse_stack_inputs
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
    "ImportLink",
    "MemoryReader",
    "Output",
    "Parameter",
    "PropertyPath",
    "ResolveOptions",
    "Resource",
    "ResourceRef",
    "Stack",
    "StackInput",
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
    "load_stacks",
    "parse_stack_inputs",
]
