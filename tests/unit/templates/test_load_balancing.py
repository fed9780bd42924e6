"""Listeners, actions, rules and target groups as typed records, with ELB's defaults."""

from __future__ import annotations

from fargate_api.templates import defaults
from fargate_api.templates.load_balancing import (
    Condition,
    FixedResponse,
    Redirect,
    idle_timeout,
    read_actions,
    read_listener,
    read_target_group,
)
from unit.templates.support import query, resource

TEMPLATE = """
Parameters:
  Unknown: {Type: String}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: [subnet-1]}
  Tuned:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      LoadBalancerAttributes: [{Key: idle_timeout.timeout_seconds, Value: !Ref Unknown}]
  Blue:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {TargetType: ip}
  Green:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      TargetType: ip
      Name: green
      Port: 8080
      Protocol: https
      HealthCheckEnabled: "false"
      HealthCheckPath: /health
      HealthCheckPort: "9000"
      HealthCheckIntervalSeconds: 10
      HealthCheckTimeoutSeconds: !Ref Unknown
      HealthyThresholdCount: "3"
      UnhealthyThresholdCount: 0
      Matcher: {HttpCode: 200-299}
      TargetGroupAttributes:
        - {Key: stickiness.enabled, Value: "false"}
        - {Key: deregistration_delay.timeout_seconds, Value: "0"}
  Plain:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      DefaultActions:
        - Type: fixed-response
          Order: 2
          FixedResponseConfig: {StatusCode: "503", ContentType: application/json}
        - {Type: redirect, Order: 1, RedirectConfig: {Protocol: HTTPS, Port: 443}}
        - {Type: authenticate-oidc, ForwardConfig: {TargetGroups: []}}
  Secure:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTPS
      DefaultActions:
        - Type: forward
          ForwardConfig:
            TargetGroups:
              - {TargetGroupArn: !Ref Blue, Weight: 9}
              - {TargetGroupArn: !Ref Green}
  ApiRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Secure
      Priority: "10"
      Conditions:
        - {Field: path-pattern, PathPatternConfig: {Values: [/api/*, 7]}}
        - {Field: host-header, Values: [api.example.com]}
        - {Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Canary, Values: ["1"]}}
      Actions:
        - {Type: forward, TargetGroupArn: !Ref Green}
"""


def test_a_listener_left_bare_gets_http_on_80_and_keeps_what_was_written() -> None:
    q = query(TEMPLATE)
    plain = read_listener(q, resource(q, "Plain"))
    assert (plain.declared_protocol, plain.protocol) == (None, "HTTP")
    assert (plain.declared_port, plain.port) == (None, 80)
    secure = read_listener(q, resource(q, "Secure"))
    assert (secure.protocol, secure.declared_port, secure.port) == ("HTTPS", None, 443)


def test_actions_run_in_order_with_redirect_and_fixed_response_defaults() -> None:
    q = query(TEMPLATE)
    oidc, redirect, fixed = read_listener(q, resource(q, "Plain")).default_actions
    # No Order counts as 0, then 1 before 2; what a redirect leaves out keeps the request's.
    assert redirect.kind == "redirect" and redirect.redirect == Redirect(
        protocol="HTTPS",
        host="#{host}",
        port="443",
        path="/#{path}",
        query="#{query}",
        status_code=302,
    )
    assert fixed.fixed_response == FixedResponse(503, "application/json", "")
    assert (oidc.kind, oidc.redirect, oidc.fixed_response) == ("authenticate-oidc", None, None)
    # check's FA204 asks whether a listener serves: any action carrying a ForwardConfig does.
    assert [a.forwards for a in (redirect, fixed, oidc)] == [False, False, True]


def test_forward_weights_default_to_one() -> None:
    q = query(TEMPLATE)
    (forward,) = read_listener(q, resource(q, "Secure")).default_actions
    assert forward.forwards
    assert [(t.target_group, t.weight) for t in forward.target_groups] == [
        (resource(q, "Blue"), 9),
        (resource(q, "Green"), 1),
    ]


def test_rule_conditions_read_values_from_either_form() -> None:
    q = query(TEMPLATE)
    (rule,) = read_listener(q, resource(q, "Secure")).rules
    assert rule.resource is resource(q, "ApiRule") and rule.priority == 10
    assert rule.conditions == (
        # The non-string value is dropped, and says the values are not all known.
        Condition("path-pattern", ("/api/*",), known=False),
        Condition("host-header", ("api.example.com",)),
        Condition("http-header", ("1",)),
    )
    assert [t.target_group for t in rule.actions[0].target_groups] == [resource(q, "Green")]


def test_what_a_rule_matches_is_known_or_said_to_be_unknown() -> None:
    q = query(TEMPLATE)
    (rule,) = read_listener(q, resource(q, "Secure")).rules
    assert rule.conditions_known and not rule.matches_all
    assert [c.known for c in rule.conditions] == [False, True, True]
    every = (Condition("path-pattern", ("/*",)), Condition("host-header", ("*", "a.b")))
    assert all(c.matches_all for c in every)
    some = (
        Condition("path-pattern", ("/api/*",)),
        Condition("path-pattern", ("/",)),
        Condition("path-pattern", ("/*",), known=False),
        Condition("http-header", ("*",)),
    )
    assert not any(c.matches_all for c in some)
    # Conditions an undecidable Fn::If gives: not a list, and not "no condition" either.
    unknown = TEMPLATE.replace(
        "      Conditions:\n", "      Conditions: !If [Undecided, [], []]\n      Ignored:\n"
    )
    q2 = query(unknown)
    (unread,) = read_listener(q2, resource(q2, "Secure")).rules
    assert (unread.conditions, unread.conditions_known, unread.matches_all) == ((), False, False)


def test_a_target_group_left_bare_gets_the_elb_defaults() -> None:
    q = query(TEMPLATE)
    blue = read_target_group(resource(q, "Blue"))
    assert (blue.name, blue.target_type, blue.port, blue.protocol) == ("Blue", "ip", 80, "HTTP")
    check = blue.health_check
    assert (check.enabled, check.path, check.port, check.protocol) == (None, "/", None, "HTTP")
    assert (check.interval, check.timeout) == (
        defaults.HEALTH_CHECK_INTERVAL,
        defaults.HEALTH_CHECK_TIMEOUT,
    )
    assert (check.healthy_threshold, check.unhealthy_threshold) == (
        defaults.HEALTHY_THRESHOLD,
        defaults.UNHEALTHY_THRESHOLD,
    )
    assert check.matcher == "200"
    assert blue.deregistration_delay == defaults.DEREGISTRATION_DELAY
    assert blue.deregistration_delay_path == ("Properties", "TargetGroupAttributes")


def test_a_tuned_target_group_keeps_its_values_and_unknowns_stay_unknown() -> None:
    q = query(TEMPLATE)
    green = read_target_group(resource(q, "Green"))
    assert (green.name, green.port, green.protocol) == ("green", 8080, "HTTPS")
    check = green.health_check
    assert (check.enabled, check.path, check.port, check.protocol) == (
        False,
        "/health",
        9000,
        "HTTPS",  # follows the target group's protocol when HealthCheckProtocol is left out
    )
    assert (check.interval, check.healthy_threshold, check.matcher) == (10, 3, "200-299")
    assert check.timeout is None  # a parameter without a default: not known before deploying
    assert check.unhealthy_threshold == defaults.UNHEALTHY_THRESHOLD  # 0 is not a setting
    # An explicit 0 s delay is a value (check's FA401 reports it), not "left out".
    assert green.deregistration_delay == 0
    assert green.deregistration_delay_path == ("Properties", "TargetGroupAttributes", 1, "Value")


def test_idle_timeout_default_and_unknown() -> None:
    q = query(TEMPLATE)
    assert idle_timeout(resource(q, "Alb")) == defaults.IDLE_TIMEOUT
    assert idle_timeout(resource(q, "Tuned")) is None


def test_a_target_group_value_that_leads_nowhere_is_kept_for_the_reader_to_judge() -> None:
    q = query(TEMPLATE)
    raw = [
        {"Type": "forward", "TargetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:tg/x"},
        {"Type": "forward", "TargetGroupArn": resource(q, "Alb").ref},
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"Weight": 2}]}},
        "not an action",
    ]
    arn, not_a_group, missing, junk = read_actions(q, raw)
    (target,) = arn.target_groups
    assert target.target_group is None
    assert target.value == "arn:aws:elasticloadbalancing:eu-west-1:1:tg/x"
    # A load balancer is a resource of these templates, but not a target group.
    assert not_a_group.target_groups[0].target_group is None
    assert [(t.value, t.target_group, t.weight) for t in missing.target_groups] == [(None, None, 2)]
    assert (junk.kind, junk.target_groups, junk.forwards) == (None, (), False)
