"""Template Metadata keys that the synth writes and `check` reads.

One definition, because the two sides must agree on them byte for byte.
"""

# Resource Metadata block that holds `suppress: [{id, reason}]`.
SUPPRESSIONS = "fargate-api"
