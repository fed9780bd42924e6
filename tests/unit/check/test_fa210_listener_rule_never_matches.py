"""FA210: a listener rule that an earlier rule on the same listener always wins against."""

from __future__ import annotations

import pytest

from fargate_api.check import Report
from fargate_api.check.findings import Finding, Severity
from fargate_api.check.route_patterns import glob_covers
from unit.check.conftest import CheckText


def _rule(name: str, priority: object, conditions: str, listener: str = "Http") -> str:
    return f"""
  {name}:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref {listener}
      Priority: {priority}
      Conditions: {conditions}
      Actions: [{{Type: forward, TargetGroupArn: !Ref Group}}]"""


def _template(*rules: str) -> str:
    return (
        """
Parameters:
  Paths: {Type: CommaDelimitedList}
  Host: {Type: String}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Scheme: internal, Subnets: [subnet-1, subnet-2]}
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {TargetType: ip, Port: 80, Protocol: HTTP}
  Http:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 80
      Protocol: HTTP
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
  Other:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 8080
      Protocol: HTTP
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]"""
        + "".join(rules)
        + "\n"
    )


def _path(*values: str) -> str:
    return "[{Field: path-pattern, PathPatternConfig: {Values: [" + ", ".join(values) + "]}}]"


def _findings(report: Report) -> list[Finding]:
    return [f for f in report.active if f.rule_id == "FA210"]


def test_a_catch_all_ahead_of_a_path_rule_hides_it(check_text: CheckText) -> None:
    report = check_text(
        _template(_rule("Web", 10, _path('"/*"')), _rule("Api", 20, _path('"/api/*"')))
    )
    (finding,) = _findings(report)
    assert finding.severity is Severity.WARNING
    assert finding.location.resource == "Api"
    assert finding.location.path == ("Properties", "Priority")
    assert finding.location.line is not None
    assert finding.message == (
        "rule Api (priority 20) on listener Http never matches: rule Web comes first "
        "(priority 10: path-pattern /*) and matches every request it would"
    )
    assert report.exit_code == 0  # a warning: only --strict fails on it


def test_the_specific_rule_first_is_clean(check_text: CheckText) -> None:
    """The services' own order: /api/* at 10, then everything else at 20."""
    report = check_text(
        _template(_rule("Api", 10, _path('"/api/*"')), _rule("Web", 20, _path('"/*"')))
    )
    assert _findings(report) == []


@pytest.mark.parametrize(
    ("earlier", "later", "found"),
    [
        (_path('"/api/*"'), _path('"/api/v1/*"', '"/api/v2/users"'), True),
        (_path('"/api/*"'), _path('"/api/*"', '"/admin/*"'), False),  # /admin/* gets through
        (_path('"/api/*"', '"/admin/*"'), _path('"/admin/users"'), True),  # any value covers
        (_path('"/api/?"'), _path('"/api/a"'), True),
        (_path('"/api/?"'), _path('"/api/*"'), False),  # * can be empty or long
        (_path('"/api/*"'), _path('"/API/users"'), False),  # paths are case sensitive
        (_path('"/v?/*"'), _path('"/v?/users"'), True),
        ("[{Field: host-header, Values: [API.example.com]}]",
         "[{Field: host-header, Values: [api.EXAMPLE.com]}]", True),  # hosts are not
        ("[{Field: host-header, Values: ['*.example.com']}]",
         "[{Field: host-header, Values: [api.example.com]}, " + _path('"/x"')[1:], True),
        ("[{Field: host-header, Values: [api.example.com]}]", _path('"/x"'), False),
        (_path('"/api/*"') [:-1] + ", {Field: host-header, Values: [a.example.com]}]",
         "[{Field: host-header, Values: [a.example.com]}, " + _path('"/api/x"')[1:], True),
        ("[]", _path('"/anything"'), True),  # no condition matches every request
        (_path('"*"'), "[{Field: host-header, Values: [a.example.com]}]", True),
        (_path('"/*"'), "[{Field: source-ip, Values: [10.0.0.0/8]}]", True),
        # Another kind of condition narrows the earlier rule: not judged.
        ("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Canary, Values: ['1']}}, "
         + _path('"/*"')[1:], _path('"/api/*"'), False),
        ("[{Field: source-ip, Values: [10.0.0.0/8]}]", _path('"/api/*"'), False),
        ("[{Field: http-request-method, Values: [GET]}]", _path('"/api/*"'), False),
        ("[{Field: query-string, QueryStringConfig: {Values: [{Key: v, Value: '2'}]}}]",
         _path('"/api/*"'), False),
    ],
)  # fmt: skip
def test_shadowing_follows_alb_matching(
    check_text: CheckText, earlier: str, later: str, found: bool
) -> None:
    report = check_text(_template(_rule("First", 1, earlier), _rule("Second", 2, later)))
    assert len(_findings(report)) == int(found), [f.message for f in _findings(report)]
    swapped = check_text(_template(_rule("First", 2, earlier), _rule("Second", 1, later)))
    assert not [f for f in _findings(swapped) if f.location.resource == "Second"]


@pytest.mark.parametrize(
    "earlier",
    [
        "[{Field: path-pattern, Values: !Ref Paths}]",  # a parameter without a value
        "[{Field: host-header, Values: [!Ref Host]}]",
        "[{Field: path-pattern, Values: [!Sub '/${Host}/*']}]",
        "!If [Never, [], []]",  # an undecidable condition: the list itself is unknown
        "[{Field: !Ref Host, Values: ['/*']}]",
        "[{Field: path-pattern}]",
    ],
)
def test_unknown_values_of_the_earlier_rule_are_not_findings(
    check_text: CheckText, earlier: str
) -> None:
    report = check_text(_template(_rule("First", 1, earlier), _rule("Second", 2, _path('"/a"'))))
    assert _findings(report) == []


def test_unknown_priorities_and_other_listeners_are_not_compared(check_text: CheckText) -> None:
    unknown = _template(_rule("First", "!Ref Host", "[]"), _rule("Second", 2, _path('"/a"')))
    assert _findings(check_text(unknown)) == []
    apart = _template(_rule("First", 1, "[]", "Other"), _rule("Second", 2, _path('"/a"')))
    assert _findings(check_text(apart)) == []
    same = _template(_rule("First", 2, "[]"), _rule("Second", 2, _path('"/a"')))
    assert _findings(check_text(same)) == []  # equal priorities: FA211's concern


def test_the_first_covering_rule_is_named_once(check_text: CheckText) -> None:
    report = check_text(
        _template(
            _rule("Narrow", 5, _path('"/b/*"')),
            _rule("Wide", 10, _path('"/*"')),
            _rule("Wider", 15, "[]"),
            _rule("Late", 20, _path('"/a/x"')),
        )
    )
    found = {f.location.resource: f.message for f in _findings(report)}
    assert set(found) == {"Wider", "Late"}
    assert "rule Wide comes first (priority 10: path-pattern /*)" in found["Late"]
    assert "(priority 10: path-pattern /*)" in found["Wider"]


@pytest.mark.parametrize(
    ("general", "specific", "expected"),
    [
        ("*", "", True),
        ("*", "*?x", True),
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),
        ("a*b*c", "a?xb*yc", True),
        ("a*b*c", "a*c", False),
        ("?", "*", False),
        ("??", "?x", True),
        ("?", "", False),
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("*?", "?*", False),  # equal languages, not shown: errs towards no finding
    ],
)
def test_glob_covers(general: str, specific: str, expected: bool) -> None:
    assert glob_covers(general, specific) is expected
