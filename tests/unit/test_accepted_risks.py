"""Accepted risks: one reason per choice, one id per scanner, emitted only while they hold.

The scanners themselves run in tests/functional/check/test_external_scanners.py; this tier
checks, without them, that each suppression follows its config key and reads as a reason.
"""

from __future__ import annotations

import re

import pytest

from fargate_api.config import Config, parse_config
from fargate_api.synth.accepted_risks import AcceptedRisk, accepted_risks
from fargate_api.synth.template import Template
from unit.support import synth_dicts
from unit.variants import SERVICES_VARIANTS

# A config key (service.user, services[1].allow_from, load_balancer.access_logs, ...) or a
# plain "no key" statement.
NAMES_A_KEY = re.compile(
    r"\b(network|services?(\[\d+\])?|load_balancer|autoscaling|deployment)\.[a-z_]+"
    r"|(?i:no config key)"
)


def _config(text: str) -> Config:
    return parse_config(text, source="test.toml")


def _ids(config: Config) -> set[tuple[str, str]]:
    """(logical id, id) for every id of every accepted risk, whatever the scanner."""
    found = set()
    for risk in accepted_risks(config):
        ids = ([risk.rule_id] if risk.rule_id else []) + list(risk.checkov) + list(risk.guard)
        found |= {(risk.logical_id, i) for i in ids}
    return found


@pytest.mark.parametrize("text", ["", SERVICES_VARIANTS["services-canary"]])
def test_every_risk_has_an_id_and_a_reason_that_names_its_key(text: str) -> None:
    for risk in accepted_risks(_config(text)):
        assert risk.rule_id or risk.checkov or risk.guard, risk
        assert len(risk.reason) >= 60, risk
        assert NAMES_A_KEY.search(risk.reason), f"{risk.logical_id}: {risk.reason}"


def test_the_key_pattern_needs_a_key() -> None:
    assert NAMES_A_KEY.search("set services[0].image to a tag")
    assert not NAMES_A_KEY.search("set the services' images to a tag")


def test_the_defaults_write_each_scanners_block() -> None:
    docs = synth_dicts(_config(""))
    listener = docs["service.yml"]["Resources"]["PublicLoadBalancerListener"]["Metadata"]
    reason = listener["fargate-api"]["suppress"][0]["reason"]
    assert [e["id"] for e in listener["fargate-api"]["suppress"]] == ["FA204"]
    assert listener["checkov"]["skip"] == [
        {"id": "CKV_AWS_2", "comment": reason},
        {"id": "CKV_AWS_103", "comment": reason},
    ]
    assert listener["guard"] == {
        "SuppressedRules": ["alb_http_to_https_redirection_check"],
        "Reasons": {"alb_http_to_https_redirection_check": reason},
    }


@pytest.mark.parametrize(
    ("config", "gone"),
    [
        (
            '[load_balancer]\ncertificate_arn = "arn:aws:acm:us-east-1:123456789012:'
            'certificate/abc-123"\n',
            {
                ("PublicLoadBalancerListener", "FA204"),
                ("PublicLoadBalancerListener", "CKV_AWS_2"),
                ("PublicLoadBalancerListener", "CKV_AWS_103"),
                ("PublicLoadBalancerListener", "alb_http_to_https_redirection_check"),
            },
        ),
        (
            # A domain serves HTTPS with the stack's own certificate: no HTTP-only risk.
            '[load_balancer]\ndomain = "api.example.com"\n',
            {
                ("PublicLoadBalancerListener", "FA204"),
                ("PublicLoadBalancerListener", "CKV_AWS_2"),
                ("PublicLoadBalancerListener", "CKV_AWS_103"),
                ("PublicLoadBalancerListener", "alb_http_to_https_redirection_check"),
            },
        ),
        (
            '[load_balancer]\naccess_logs = { bucket = "my-logs" }\ndeletion_protection = true\n',
            {
                ("PublicLoadBalancer", "FA207"),
                ("PublicLoadBalancer", "CKV_AWS_91"),
                ("PublicLoadBalancer", "elbv2_logging_enabled_check"),
                ("PublicLoadBalancer", "FA208"),
                ("PublicLoadBalancer", "elbv2_deletion_protection_enabled_check"),
            },
        ),
        (
            '[load_balancer]\ningress_cidrs = ["203.0.113.0/24"]\n',
            {("PublicLoadBalancerSG", "CKV_AWS_260")},
        ),
        ("[load_balancer]\nhttp_port = 8080\n", {("PublicLoadBalancerSG", "CKV_AWS_260")}),
        (
            '[service]\nuser = "101"\nread_only_root_filesystem = true\n',
            {
                ("TaskDefinition", "FA502"),
                ("TaskDefinition", "ecs_task_definition_nonroot_user_check"),
                ("TaskDefinition", "FA503"),
                ("TaskDefinition", "ecs_containers_readonly_access_check"),
            },
        ),
        (
            "[service]\nlog_retention_days = 365\n[network]\nflow_logs_retention_days = 400\n",
            {
                ("LogGroup", "cloudwatch_log_group_retention_period_check"),
                ("FlowLogGroup", "cloudwatch_log_group_retention_period_check"),
                (
                    "RestrictDefaultSecurityGroupLogGroup",
                    "cloudwatch_log_group_retention_period_check",
                ),
            },
        ),
        (
            "[network]\nflow_logs = false\n",
            {
                ("FlowLogGroup", "CKV_AWS_158"),
                ("FlowLogGroup", "cloudwatch_log_group_encrypted_check"),
                ("FlowLogGroup", "cloudwatch_log_group_retention_period_check"),
            },
        ),
    ],
)
def test_a_risk_goes_away_with_its_condition(config: str, gone: set[tuple[str, str]]) -> None:
    default = _ids(_config(""))
    assert gone <= default, "the defaults should accept these risks"
    changed = _ids(_config(config))
    assert not gone & changed, f"still emitted: {sorted(gone & changed)}"
    # ... and nothing else changes.
    assert default - gone == changed


def test_port_80_stays_accepted_with_https_as_the_redirect() -> None:
    config = _config(
        '[load_balancer]\ncertificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/a"\n'
    )
    (risk,) = [r for r in accepted_risks(config) if "CKV_AWS_260" in r.checkov]
    assert "redirects to HTTPS" in risk.reason


def test_accept_needs_an_id() -> None:
    template = Template(description="t")
    template.add("Thing", "AWS::SNS::Topic")
    with pytest.raises(ValueError, match="at least one rule id"):
        template.accept("Thing", "a reason that is long enough to read")


def test_accepted_risk_defaults() -> None:
    risk = AcceptedRisk("vpc.yml", "VPC", "reason")
    assert (risk.rule_id, risk.checkov, risk.guard) == (None, (), ())
