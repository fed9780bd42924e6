"""fargate-example-api: a small JSON API to run behind fargate-api's ALB (and its twin)."""

from __future__ import annotations

__version__ = "0.1.0"
