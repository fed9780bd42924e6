"""FA204 on a listener that serves through its rules, as a load balancer shared by several
services does: its default action answers 404, each service's rule forwards (and may sit
in another stack, naming the listener by a parameter)."""

from __future__ import annotations

from fargate_api.check.findings import Finding
from unit.check.clean_template import CLEAN
from unit.check.conftest import CheckText

REDIRECT = (
    "DefaultActions: [{Type: redirect, RedirectConfig: {Protocol: HTTPS, Port: '443', "
    "StatusCode: HTTP_301}}]"
)
NOT_FOUND = "DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: '404'}}]"
RULE = """
  HttpRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Http
      Priority: 10
      Conditions: [{Field: path-pattern, PathPatternConfig: {Values: [/api/*]}}]
      Actions: [{Type: ACTION, TargetGroupArn: !Ref Targets}]
"""
# The shared layout: the rule in a child stack, the listener passed in by the parent.
CHILD = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  ListenerArn: {Type: String}
  TargetGroup: {Type: String}
Resources:
  ServiceListenerRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref ListenerArn
      Priority: 10
      Conditions: [{Field: path-pattern, PathPatternConfig: {Values: [/*]}}]
      Actions: [{Type: forward, TargetGroupArn: !Ref TargetGroup}]
"""
CHILD_STACK = """
  ServiceStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: child.yml
      Parameters: {ListenerArn: !Ref Http, TargetGroup: !Ref Targets}
"""


def _fa204(report_findings: list[Finding]) -> list[Finding]:
    return [f for f in report_findings if f.rule_id == "FA204"]


def _with_rule(action: str) -> str:
    assert REDIRECT in CLEAN
    return CLEAN.replace(REDIRECT, NOT_FOUND) + RULE.replace("ACTION", action)


def test_a_forwarding_rule_on_the_http_listener_serves_plain_http(
    check_text: CheckText,
) -> None:
    (finding,) = _fa204(check_text(_with_rule("forward")).active)
    assert finding.location.resource == "Http"
    assert "through its listener rules (HttpRule)" in finding.message


def test_a_rule_that_does_not_forward_serves_nothing(check_text: CheckText) -> None:
    assert _fa204(check_text(_with_rule("fixed-response")).active) == []
    assert _fa204(check_text(CLEAN.replace(REDIRECT, NOT_FOUND)).active) == []


def test_a_rule_in_a_child_stack_counts(check_text: CheckText) -> None:
    parent = CLEAN.replace(REDIRECT, NOT_FOUND) + CHILD_STACK
    report = check_text(files={"t.yml": parent, "child.yml": CHILD})
    (finding,) = _fa204(report.active)
    assert finding.location.resource == "Http"
    assert "ServiceListenerRule" in finding.message
