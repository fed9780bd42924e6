"""`fargate-api diagram`: the architecture drawn from the templates (model, then render)."""

from fargate_api.diagram.model import DiagramModel, build_model

__all__ = ["DiagramModel", "build_model"]
