"""Container images from source: build, tag, push, and read them back from a registry.

`build`, `deploy` and the twin build the image a task definition's build Metadata
describes (templates/build_specs.py) through this package, so they agree on tags and
errors. One module runs the container CLI (builders.py: podman, else docker); the rest
is pure and tested without one: the request and result models, the Dockerfile and
platform checks made before any build, the source tag (git commit, `-dirty-<id>`),
failure parsing, push error translation and the registry API client.

Layering: images imports fargate_api.errors (and may import fargate_api.templates),
nothing above; back-ends and the CLI import it.
"""

from fargate_api.images.build_failure import BuildFailedError
from fargate_api.images.build_request import BuilderName, BuildRequest, BuiltImage, Platform
from fargate_api.images.builders import ContainerCli, find_builder
from fargate_api.images.dockerfile import check_inputs, stage_names
from fargate_api.images.push_errors import translate_push_failure
from fargate_api.images.registry import (
    RegistryClient,
    RegistryEndpoint,
    parse_registry_url,
    push_destination,
    repository_path,
)
from fargate_api.images.registry_auth import RegistryAuth
from fargate_api.images.source_tag import SourceTag, image_tag, read_source

__all__ = [
    "BuildFailedError",
    "BuildRequest",
    "BuilderName",
    "BuiltImage",
    "ContainerCli",
    "Platform",
    "RegistryAuth",
    "RegistryClient",
    "RegistryEndpoint",
    "SourceTag",
    "check_inputs",
    "find_builder",
    "image_tag",
    "parse_registry_url",
    "push_destination",
    "read_source",
    "repository_path",
    "stage_names",
    "translate_push_failure",
]
