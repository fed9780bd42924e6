# ruff: noqa: E501  (the mutation table reads best one rule per line)
"""Each rule fires on exactly its defect, stays silent on a clean template and on values
it cannot know, and finds the reference's and the default synth's known defects."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.check import CheckOptions, run_check
from fargate_api.check.registry import load_rules
from fargate_api.config import Config
from fargate_api.synth import synthesize, to_yaml
from fargate_api.templates import MemoryReader, load_stack_set
from unit.check.clean_template import CLEAN
from unit.check.conftest import CheckText, rule_hits

# (rule, resource it is reported on, text to replace in CLEAN, replacement)
MUTATIONS = [
    (
        "FA101",
        "Service",
        "[!Ref PrivateA, !Ref PrivateB, !Ref PrivateC]",
        "[!Ref PublicA, !Ref PrivateB, !Ref PrivateC]",
    ),
    ("FA102", "Service", "AssignPublicIp: DISABLED", "AssignPublicIp: ENABLED"),
    ("FA103", "Nat", "{SubnetId: !Ref PublicA, Allocation", "{SubnetId: !Ref PrivateA, Allocation"),
    ("FA105", "Vpc", "'com.amazonaws.${AWS::Region}.logs'", "'com.amazonaws.${AWS::Region}.sqs'"),
    ("FA106", "PublicA", "MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: 'true'"),
    (
        "FA107",
        "Vpc",
        "{ResourceId: !Ref Vpc, ResourceType: VPC",
        "{ResourceId: !Ref PublicA, ResourceType: Subnet",
    ),
    ("FA108", "Vpc", "GroupId: !GetAtt Vpc.DefaultSecurityGroup", "GroupId: sg-123"),
    ("FA201", "Lb", "Scheme: internet-facing", "Scheme: internal"),
    (
        "FA202",
        "Lb",
        "Subnets: [!Ref PublicA, !Ref PublicB]",
        "Subnets: [!Ref PublicA, !Ref PrivateB]",
    ),
    ("FA203", "LbSG", "FromPort: 443, ToPort: 443, CidrIp", "FromPort: 443, ToPort: 8443, CidrIp"),
    (
        "FA204",
        "Http",
        "DefaultActions: [{Type: redirect, RedirectConfig: {Protocol: HTTPS, Port: '443', StatusCode: HTTP_301}}]",
        "DefaultActions: [{Type: forward, TargetGroupArn: !Ref Targets}]",
    ),
    (
        "FA205",
        "Https",
        "SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06",
        "SslPolicy: ELBSecurityPolicy-TLS-1-1-2017-01",
    ),
    (
        "FA206",
        "Lb",
        "routing.http.drop_invalid_header_fields.enabled, Value: 'true'",
        "routing.http.drop_invalid_header_fields.enabled, Value: 'false'",
    ),
    (
        "FA207",
        "Lb",
        "{Key: access_logs.s3.enabled, Value: 'true'}",
        "{Key: access_logs.s3.prefix, Value: x}",
    ),
    (
        "FA208",
        "Lb",
        "deletion_protection.enabled, Value: 'true'",
        "deletion_protection.enabled, Value: false",
    ),
    (
        "FA301",
        "ServiceSG",
        "SecurityGroupEgress: [{IpProtocol: '-1', CidrIp: 0.0.0.0/0, Description: via NAT}]",
        "SecurityGroupEgress: [{IpProtocol: '-1', CidrIp: 0.0.0.0/0, Description: via NAT}]\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 8080, ToPort: 8080, CidrIp: 10.0.0.0/8, Description: vpn}]",
    ),
    (
        "FA302",
        "ServiceFromLb",
        "IpProtocol: tcp, FromPort: !Ref Port, ToPort: !Ref Port",
        "IpProtocol: '-1', FromPort: !Ref Port, ToPort: !Ref Port",
    ),
    ("FA303", "LbSG", "CidrIp: 0.0.0.0/0, Description: HTTPS}", "CidrIp: 0.0.0.0/0}"),
    (
        "FA401",
        "Targets",
        "deregistration_delay.timeout_seconds, Value: '45'",
        "deregistration_delay.timeout_seconds, Value: '0'",
    ),
    (
        "FA402",
        "Service",
        "{Enable: true, Rollback: true}\n        Alarms: {AlarmNames: [!Ref TargetErrors], Enable: true, Rollback: true}",
        "{Enable: true, Rollback: false}",
    ),
    ("FA403", "Service", "HealthCheckGracePeriodSeconds: 30", "HealthCheckGracePeriodSeconds: 0"),
    ("FA404", "Targets", "UnhealthyThresholdCount: 2", "UnhealthyThresholdCount: 10"),
    ("FA405", "Service", "DesiredCount: 3", "DesiredCount: 2"),
    (
        "FA409",
        "Service",
        "AlarmNames: [!Ref TargetErrors], Enable: true",
        "AlarmNames: [!Ref TargetErrors], Enable: false",
    ),
    ("FA501", "Task", "'registry.example.com/api:1.2.3'", "'registry.example.com/api'"),
    ("FA502", "Task", "User: '1000:1000'", "User: '0:0'"),
    ("FA503", "Task", "ReadonlyRootFilesystem: true", "ReadonlyRootFilesystem: false"),
    (
        "FA504",
        "Task",
        "ReadonlyRootFilesystem: true",
        "ReadonlyRootFilesystem: true\n          Privileged: 'true'",
    ),
    ("FA505", "Task", "{Name: LOG_LEVEL, Value: info}", "{Name: API_KEY, Value: abc123}"),
    ("FA506", "Task", "CpuArchitecture: ARM64", "CpuArchitecture: X86_64"),
    ("FA601", "AppLogs", "Properties: {RetentionInDays: 30}", "Properties: {}"),
    (
        "FA602",
        "AppLogs",
        "  AppLogs:\n    Type: AWS::Logs::LogGroup\n    DeletionPolicy: Retain\n",
        "  AppLogs:\n    Type: AWS::Logs::LogGroup\n",
    ),
    (
        "FA603",
        "Task",
        "!Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/exec'",
        "!Sub 'arn:aws:iam::${AWS::AccountId}:role/exec'",
    ),
    ("FA701", "Repository", "ScanOnPush: true", "ScanOnPush: false"),
    ("FA702", "Repository", "ImageTagMutability: IMMUTABLE", "ImageTagMutability: MUTABLE"),
    (
        "FA703",
        "Repository",
        """      LifecyclePolicy: {LifecyclePolicyText: '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}'}\n""",
        "",
    ),
]


def test_the_clean_template_has_no_findings(check_text: CheckText) -> None:
    report = check_text(CLEAN, strict=True)
    assert [f.message for f in report.active] == []
    assert report.exit_code == 0


@pytest.mark.parametrize(
    ("rule", "resource", "old", "new"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_each_rule_fires_on_its_defect_only(
    check_text: CheckText, rule: str, resource: str, old: str, new: str
) -> None:
    assert CLEAN.count(old) == 1, "the mutation must match the clean template exactly once"
    report = check_text(CLEAN.replace(old, new))
    assert rule_hits(report) == {(rule, resource)}, [f.message for f in report.active]
    finding = report.active[0]
    assert finding.location.file == "t.yml" and finding.location.line


ISOLATE_PRIVATE_A = (
    "{SubnetId: !Ref PrivateA, RouteTableId: !Ref PrivateRoutes}",
    "{SubnetId: !Ref PrivateA, RouteTableId: !Ref IsolatedRoutes}\n"
    "  IsolatedRoutes: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}",
)
NO_LOGS_ENDPOINT = ("'com.amazonaws.${AWS::Region}.logs'", "'com.amazonaws.${AWS::Region}.sqs'")


def test_fa104_isolated_subnet_needs_every_endpoint(check_text: CheckText) -> None:
    isolated = CLEAN.replace(*ISOLATE_PRIVATE_A)
    assert rule_hits(check_text(isolated)) == set()  # all four endpoints: fine without NAT
    report = check_text(isolated.replace(*NO_LOGS_ENDPOINT))
    assert rule_hits(report) == {("FA104", "PrivateA"), ("FA105", "Vpc")}
    assert "logs" in next(f.message for f in report.active if f.rule_id == "FA104")


def test_every_plugin_rule_has_a_mutation() -> None:
    # Tested on their own: FA406-FA408 judge blue/green, canary and linear deployments,
    # which the clean (rolling) template does not have (tests/unit/check/test_fa40*.py);
    # FA209 judges host rules on an ACM certificate of the templates, which the clean
    # template's listener (a certificate ARN, no host rule) does not have (test_fa209_*.py);
    # FA210 and FA211 compare listener rules, of which the clean template has none
    # (test_fa210_*.py, test_fa211_*.py).
    tested = {m[0] for m in MUTATIONS} | {"FA104", "FA604", "FA406", "FA407", "FA408", "FA209"}
    tested |= {"FA210", "FA211"}
    assert {rule.meta.id for rule in load_rules()} == tested


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Image: !Ref Image", "Image: !Ref Unknown"),
        ("'registry.example.com/api:1.2.3'", "'registry.example.com/api@sha256:abc'"),
        ("User: '1000:1000'", "User: !ImportValue the-user"),
        (
            "deregistration_delay.timeout_seconds, Value: '45'",
            "deregistration_delay.timeout_seconds, Value: !ImportValue d",
        ),
        (
            "Subnets: [!Ref PrivateA, !Ref PrivateB, !Ref PrivateC]",
            "Subnets: !Split [',', !ImportValue subnets]",
        ),
        ("SourceSecurityGroupId: !Ref LbSG", "SourceSecurityGroupId: !ImportValue lb-sg"),
    ],
)
def test_unknown_values_are_not_findings(check_text: CheckText, old: str, new: str) -> None:
    report = check_text(CLEAN.replace(old, new))
    assert [f.message for f in report.active] == []


def test_nested_parameter_mismatch(check_dir, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    report = check_dir(fixtures / "nested_mismatch")
    assert rule_hits(report) == {("FA604", "Child")}
    assert len(report.active) == 2


def test_mixed_fixture_has_the_pattern_defects(check_dir, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    hits = rule_hits(check_dir(fixtures / "mixed"))
    expected = {
        ("FA101", "Service"),
        ("FA102", "Service"),
        ("FA103", "MisplacedNat"),
        ("FA104", "PrivateSubnet"),
        ("FA201", "InternalLB"),
        ("FA202", "PublicLB"),
        ("FA205", "HttpsListener"),
        ("FA301", "ServiceSG"),
        ("FA402", "Service"),
        ("FA502", "TaskDefinition"),
        ("FA504", "TaskDefinition"),
        ("FA505", "TaskDefinition"),
    }
    assert expected <= hits
    assert ("FA302", "ServiceSG") not in hits  # the LB rule is on the container port only


REFERENCE_DEFECTS = {
    ("FA204", "PublicLoadBalancerListener"),  # 1 no TLS / redirect
    ("FA203", "PublicLoadBalancerSG"),  # 2 ALB SG all protocols from anywhere
    ("FA302", "ServiceIngressfromLoadBalancer"),  # 3 service SG all protocols from the ALB
    ("FA502", "TaskDefinition"),  # 4 root user
    ("FA503", "TaskDefinition"),  # 4 writable root filesystem
    ("FA107", "VPC"),  # 5 no flow logs
    ("FA108", "VPC"),  # 5 default SG
    ("FA207", "PublicLoadBalancer"),  # 6 no access logs
    ("FA206", "PublicLoadBalancer"),  # 6 invalid headers kept
    ("FA208", "PublicLoadBalancer"),  # 6 no deletion protection
    ("FA401", "ServiceTargetGroup"),  # 7 deregistration delay 0
    ("FA402", "Service"),  # 8 no circuit breaker
    ("FA403", "Service"),  # 8 no grace period
    ("FA404", "ServiceTargetGroup"),  # 9 unhealthy threshold 10
    ("FA106", "PublicSubnetOne"),  # 10 MapPublicIpOnLaunch
    ("FA106", "PublicSubnetTwo"),
    ("FA501", "TaskDefinition"),  # 11 latest tag
    ("FA601", "LogGroup"),  # 12 no retention
    ("FA602", "LogGroup"),  # 12 no DeletionPolicy
    ("FA105", "VPC"),  # 13 no VPC endpoints
    ("FA405", "Service"),  # 14 half capacity on an AZ loss
    ("FA603", "ECSTaskExecutionRole"),  # 15 hard-coded partition
    ("FA303", "PublicLoadBalancerSG"),  # 15 SG rule without description
}


def test_reference_defects_and_nothing_else(check_dir, reference_dir: Path) -> None:  # type: ignore[no-untyped-def]
    report = check_dir(reference_dir)
    assert rule_hits(report) == REFERENCE_DEFECTS
    assert report.exit_code == 1


DEFAULT_SYNTH_FINDINGS = {
    ("FA501", "TaskDefinition"),
    ("FA502", "TaskDefinition"),
    ("FA503", "TaskDefinition"),
    ("FA207", "PublicLoadBalancer"),
    ("FA208", "PublicLoadBalancer"),
    ("FA204", "PublicLoadBalancerListener"),
    ("FA405", "Service"),
    ("FA409", "Service"),
    ("FA105", "VPC"),
}


def test_default_synth_has_only_the_deliberate_findings() -> None:
    """No false positives on our own output: every finding is a documented default choice."""
    files = {Path(n): to_yaml(t.to_dict()) for n, t in synthesize(Config()).items()}
    stack_set = load_stack_set(Path("parent.yml"), reader=MemoryReader(files))
    report = run_check([stack_set], CheckOptions(cfn_lint=False))
    # The synth marks each deliberate default as an accepted risk with its reason.
    suppressed = {(f.rule_id, f.location.resource) for f in report.suppressed}
    assert rule_hits(report) == set()
    assert suppressed == DEFAULT_SYNTH_FINDINGS


def test_fa603_ignores_arns_of_one_existing_resource(check_text: CheckText) -> None:
    """A literal account and region name one resource in one partition: not portable anyway."""
    specific = CLEAN.replace(
        "!Sub 'arn:${AWS::Partition}:secretsmanager:x'}]\n",
        "'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf'}]\n",
    )
    assert specific != CLEAN
    assert rule_hits(check_text(specific)) == set()
    generic = CLEAN.replace(
        "!Sub 'arn:${AWS::Partition}:secretsmanager:x'}]\n",
        "!Sub 'arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:db'}]\n",
    )
    assert generic != CLEAN
    assert rule_hits(check_text(generic)) == {("FA603", "Task")}
