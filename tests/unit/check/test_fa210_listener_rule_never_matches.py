"""FA210: a listener rule that an earlier rule on the same listener always wins against."""

from __future__ import annotations

import pytest

from fargate_api.check import Report
from fargate_api.check.findings import Finding, Severity
from fargate_api.route_globs import glob_covers
from unit.check.conftest import CheckText, listener_rules_template
from unit.templates.support import listener_rule, path_pattern


def _findings(report: Report) -> list[Finding]:
    return [f for f in report.active if f.rule_id == "FA210"]


def test_a_catch_all_ahead_of_a_path_rule_hides_it(check_text: CheckText) -> None:
    report = check_text(
        listener_rules_template(
            listener_rule("Web", 10, path_pattern('"/*"')),
            listener_rule("Api", 20, path_pattern('"/api/*"')),
        )
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
        listener_rules_template(
            listener_rule("Api", 10, path_pattern('"/api/*"')),
            listener_rule("Web", 20, path_pattern('"/*"')),
        )
    )
    assert _findings(report) == []


@pytest.mark.parametrize(
    ("earlier", "later", "found"),
    [
        (path_pattern('"/api/*"'), path_pattern('"/api/v1/*"', '"/api/v2/users"'), True),
        # /admin/* gets through
        (path_pattern('"/api/*"'), path_pattern('"/api/*"', '"/admin/*"'), False),
        # any value covers
        (path_pattern('"/api/*"', '"/admin/*"'), path_pattern('"/admin/users"'), True),
        (path_pattern('"/api/?"'), path_pattern('"/api/a"'), True),
        (path_pattern('"/api/?"'), path_pattern('"/api/*"'), False),  # * can be empty or long
        (path_pattern('"/api/*"'), path_pattern('"/API/users"'), False),  # paths are case sensitive
        (path_pattern('"/v?/*"'), path_pattern('"/v?/users"'), True),
        ("[{Field: host-header, Values: [API.example.com]}]",
         "[{Field: host-header, Values: [api.EXAMPLE.com]}]", True),  # hosts are not
        ("[{Field: host-header, Values: ['*.example.com']}]",
         "[{Field: host-header, Values: [api.example.com]}, " + path_pattern('"/x"')[1:], True),
        ("[{Field: host-header, Values: [api.example.com]}]", path_pattern('"/x"'), False),
        (path_pattern('"/api/*"') [:-1] + ", {Field: host-header, Values: [a.example.com]}]",
         "[{Field: host-header, Values: [a.example.com]}, " + path_pattern('"/api/x"')[1:], True),
        ("[]", path_pattern('"/anything"'), True),  # no condition matches every request
        (path_pattern('"*"'), "[{Field: host-header, Values: [a.example.com]}]", True),
        (path_pattern('"/*"'), "[{Field: source-ip, Values: [10.0.0.0/8]}]", True),
        # Another kind of condition narrows the earlier rule: not judged.
        ("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Canary, Values: ['1']}}, "
         + path_pattern('"/*"')[1:], path_pattern('"/api/*"'), False),
        ("[{Field: source-ip, Values: [10.0.0.0/8]}]", path_pattern('"/api/*"'), False),
        ("[{Field: http-request-method, Values: [GET]}]", path_pattern('"/api/*"'), False),
        ("[{Field: query-string, QueryStringConfig: {Values: [{Key: v, Value: '2'}]}}]",
         path_pattern('"/api/*"'), False),
    ],
)  # fmt: skip
def test_shadowing_follows_alb_matching(
    check_text: CheckText, earlier: str, later: str, found: bool
) -> None:
    report = check_text(
        listener_rules_template(
            listener_rule("First", 1, earlier), listener_rule("Second", 2, later)
        )
    )
    assert len(_findings(report)) == int(found), [f.message for f in _findings(report)]
    swapped = check_text(
        listener_rules_template(
            listener_rule("First", 2, earlier), listener_rule("Second", 1, later)
        )
    )
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
    report = check_text(
        listener_rules_template(
            listener_rule("First", 1, earlier), listener_rule("Second", 2, path_pattern('"/a"'))
        )
    )
    assert _findings(report) == []


def test_unknown_priorities_and_other_listeners_are_not_compared(check_text: CheckText) -> None:
    unknown = listener_rules_template(
        listener_rule("First", "!Ref Host", "[]"), listener_rule("Second", 2, path_pattern('"/a"'))
    )
    assert _findings(check_text(unknown)) == []
    apart = listener_rules_template(
        listener_rule("First", 1, "[]", "Other"), listener_rule("Second", 2, path_pattern('"/a"'))
    )
    assert _findings(check_text(apart)) == []
    same = listener_rules_template(
        listener_rule("First", 2, "[]"), listener_rule("Second", 2, path_pattern('"/a"'))
    )
    assert _findings(check_text(same)) == []  # equal priorities: FA211's concern


def test_the_first_covering_rule_is_named_once(check_text: CheckText) -> None:
    report = check_text(
        listener_rules_template(
            listener_rule("Narrow", 5, path_pattern('"/b/*"')),
            listener_rule("Wide", 10, path_pattern('"/*"')),
            listener_rule("Wider", 15, "[]"),
            listener_rule("Late", 20, path_pattern('"/a/x"')),
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
