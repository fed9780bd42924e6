"""Config -> CloudFormation templates in the reference layout."""

from fargate_api.synth.render import (
    TEMPLATE_FILES,
    synthesize,
    template_files,
    to_yaml,
    write_templates,
)

__all__ = ["TEMPLATE_FILES", "synthesize", "template_files", "to_yaml", "write_templates"]
