"""Template Metadata keys that the synth writes and `check` (or a scanner) reads.

One definition, because the two sides must agree on them byte for byte.
"""

# Resource Metadata block that holds `suppress: [{id, reason}]`.
SUPPRESSIONS = "fargate-api"
# checkov's own block: `skip: [{id, comment}]`.
CHECKOV = "checkov"
# cfn-guard's convention (AWS Guard Rules Registry): `SuppressedRules: [rule name, ...]`;
# the synth adds `Reasons: {rule name: reason}` beside it.
GUARD = "guard"
GUARD_SUPPRESSED_RULES = "SuppressedRules"
GUARD_REASONS = "Reasons"
# Inside the fargate-api block of a TaskDefinition: `local: {command: ...}`, the config's
# [local] command for the local twin.
LOCAL = "local"
# Inside the fargate-api block of a TaskDefinition: `build: {...}`, how to build the image
# that `deploy` pushes and the twin runs (the config's [service] build). The keys follow
# SAM's for image functions (DockerContext, Dockerfile, DockerBuildTarget, DockerBuildArgs).
BUILD = "build"
BUILD_CONTEXT = "DockerContext"
BUILD_DOCKERFILE = "Dockerfile"
BUILD_TARGET = "DockerBuildTarget"
BUILD_ARGS = "DockerBuildArgs"
BUILD_PLATFORM = "DockerPlatform"
BUILD_DIGEST_PARAMETER = "ImageDigestParameter"
BUILD_REPOSITORY_PARAMETER = "ImageRepositoryParameter"
# Inside the template's own top-level Metadata, fargate-api block: `domain: {name: ...,
# hosted_zone_parameter: ...}`, the custom domain the stack serves and the parameter that
# takes its Route 53 hosted zone, so that `deploy` can look the zone up by name when the
# parameter has no value (the config's load_balancer.domain without hosted_zone_id).
DOMAIN = "domain"
DOMAIN_NAME = "name"
DOMAIN_ZONE_PARAMETER = "hosted_zone_parameter"
