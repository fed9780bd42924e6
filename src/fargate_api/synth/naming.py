"""How a [[services]] service's name appears in logical ids and file names.

A service name is lower-case letters, digits and '-'; its logical-id form drops the dashes
and capitalizes each part, "api-v2" -> "ApiV2". Config refuses two names with one form
("api-2" and "api2"), so each service's resources keep ids of their own.
"""

from __future__ import annotations

from fargate_api.config.model import logical_id_form

LOAD_BALANCER_FILE = "load-balancer.yml"
LOAD_BALANCER_STACK = "LoadBalancerStack"


def camel(name: str) -> str:
    """The logical-id form of a service name: "api-v2" -> "ApiV2"."""
    return logical_id_form(name)


def service_file(name: str) -> str:
    """The template of one service of [[services]]."""
    return f"service-{name}.yml"


def service_stack_id(name: str) -> str:
    """The parent's child stack of one service: "api" -> "ServiceApiStack"."""
    return f"Service{camel(name)}Stack"
