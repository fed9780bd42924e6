"""Templates given as text, loaded as a stack set, for the reading layer's tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fargate_api.templates import MemoryReader, Resource, StackSet, load_stack_set
from fargate_api.templates.query import StackQuery


def load(text: str = "", *, files: dict[str, str] | None = None, root: str = "t.yml") -> StackSet:
    """load("Resources: ...") or load(root="parent.yml", files={...})."""
    files = files or {root: text}
    reader = MemoryReader({Path(name): textwrap.dedent(body) for name, body in files.items()})
    return load_stack_set(Path(root), reader=reader)


def query(
    text: str = "", *, files: dict[str, str] | None = None, root: str = "t.yml"
) -> StackQuery:
    return StackQuery([load(text, files=files, root=root)])


def resource(q: StackQuery, logical_id: str) -> Resource:
    return next(r for r in q.resources() if r.logical_id == logical_id)


NOT_FOUND = '[{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]'


def listener(name: str = "Http", port: int = 80, default_actions: str = NOT_FOUND) -> str:
    """An HTTP listener of the load balancer Alb, as template text (a resource under
    ``Resources:``); by default it answers 404 to what no rule takes."""
    return f"""
  {name}:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: {port}
      Protocol: HTTP
      DefaultActions: {default_actions}"""


def listener_rule(name: str, priority: object, conditions: str, listener: str = "Http") -> str:
    """A listener rule forwarding to the target group Group, as template text."""
    return f"""
  {name}:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref {listener}
      Priority: {priority}
      Conditions: {conditions}
      Actions: [{{Type: forward, TargetGroupArn: !Ref Group}}]"""


def path_pattern(*values: str) -> str:
    """A rule's conditions: one path-pattern condition with ``values`` (YAML scalars)."""
    return "[{Field: path-pattern, PathPatternConfig: {Values: [" + ", ".join(values) + "]}}]"
