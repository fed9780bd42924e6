"""FA211: two rules on one listener with the same priority fail the deploy."""

from __future__ import annotations

from fargate_api.check import Report
from fargate_api.check.findings import Finding, Severity
from unit.check.conftest import CheckText, listener_rules_template
from unit.templates.support import listener_rule, path_pattern


def _findings(report: Report) -> list[Finding]:
    return [f for f in report.active if f.rule_id == "FA211"]


def test_the_same_priority_twice_is_an_error_on_each_rule(check_text: CheckText) -> None:
    report = check_text(
        listener_rules_template(
            listener_rule("Api", 10, path_pattern('"/api/*"')),
            listener_rule("Admin", "'10'", path_pattern('"/adm"')),
        )
    )
    found = {f.location.resource: f for f in _findings(report)}
    assert set(found) == {"Api", "Admin"}
    assert all(f.severity is Severity.ERROR for f in found.values())
    assert found["Api"].location.path == ("Properties", "Priority")
    assert found["Api"].message == (
        "rule Api on listener Http has priority 10, as does Admin: the deploy fails on "
        "whichever is created second"
    )
    assert report.exit_code == 1


def test_distinct_priorities_and_other_listeners_are_clean(check_text: CheckText) -> None:
    distinct = listener_rules_template(
        listener_rule("Api", 10, path_pattern('"/api/*"')),
        listener_rule("Web", 20, path_pattern('"/*"')),
    )
    assert _findings(check_text(distinct)) == []
    apart = listener_rules_template(
        listener_rule("Api", 10, path_pattern('"/api/*"')),
        listener_rule("Test", 10, path_pattern('"/api/*"'), "Other"),
    )
    assert _findings(check_text(apart)) == []


def test_unknown_priorities_are_not_compared(check_text: CheckText) -> None:
    template = listener_rules_template(
        listener_rule("Api", "!Ref Host", path_pattern('"/api/*"')),
        listener_rule("Web", "!Ref Host", path_pattern('"/*"')),
    )
    assert _findings(check_text(template)) == []


def test_rules_of_two_stacks_on_one_shared_listener(check_text: CheckText) -> None:
    """Each service's rule in its own nested stack, joining the parent's listener."""
    child = """
Parameters:
  ListenerArn: {Type: String}
Resources:
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {TargetType: ip, Port: 80, Protocol: HTTP}
  Route:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref ListenerArn
      Priority: 10
      Conditions: [{Field: path-pattern, Values: [/a]}]
      Actions: [{Type: forward, TargetGroupArn: !Ref Group}]
"""
    parent = (
        listener_rules_template()
        + """  One:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yml, Parameters: {ListenerArn: !Ref Http}}
  Two:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yml, Parameters: {ListenerArn: !Ref Http}}
"""
    )
    report = check_text(files={"parent.yml": parent, "child.yml": child})
    messages = sorted(f.message for f in _findings(report))
    assert messages == [
        "rule Route on listener Http (stack parent.yml) has priority 10, as does Route "
        f"(stack {other}): the deploy fails on whichever is created second"
        for other in ("One", "Two")
    ], messages
