"""`check` on a template that CDK really synthesized, not a hand-written look-alike.

tests/fixtures/check/cdk-app/app.py builds the pattern's architecture (2 AZs, 2 NAT
gateways, a public ALB, Fargate tasks in the private subnets) from CDK's own constructs with
their defaults; its README says how cdk-synth/FargateApiCdkStack.template.json was made.
So the findings are CDK's defaults: what CDK leaves open must be reported, what it gets
right must not be, and nothing in CDK's output (CDKMetadata and its region condition, the
BootstrapVersion SSM parameter and rule, aws:cdk:path metadata, the custom resource that
empties the default security group, hashed logical ids) may crash the loader.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from functional.check.support import FIXTURES, active, run_check

TEMPLATE = FIXTURES / "cdk-synth" / "FargateApiCdkStack.template.json"

VPC = "Vpc8378EB38"
PUBLIC_SUBNETS = ("VpcPublicSubnet1Subnet5C2D37C4", "VpcPublicSubnet2Subnet691E08A3")
LOAD_BALANCER = "ServiceLBE9A1ADBC"
LISTENER = "ServiceLBPublicListener46709EAA"
TARGET_GROUP = "ServiceLBPublicListenerECSGroup0CC8688C"
TASK = "ServiceTaskDef1922A00F"
LOG_GROUP = "ServiceTaskDefwebLogGroup2A898F61"
SERVICE = "Service9571FDD8"

# What CDK's defaults leave open, each on the resource that has it.
EXPECTED = {
    ("FA105", VPC),  # info: no VPC endpoints, so ECR/S3/logs traffic goes through NAT
    ("FA107", VPC),  # ec2.Vpc adds no flow log unless asked (vpc.add_flow_log)
    ("FA106", PUBLIC_SUBNETS[0]),  # CDK's public subnets set MapPublicIpOnLaunch: true
    ("FA106", PUBLIC_SUBNETS[1]),
    ("FA204", LISTENER),  # no certificate given: one HTTP listener on 80 that forwards
    ("FA206", LOAD_BALANCER),  # no drop_invalid_header_fields attribute
    ("FA207", LOAD_BALANCER),  # no access logs
    ("FA208", LOAD_BALANCER),  # CDK writes deletion_protection.enabled: "false" explicitly
    ("FA404", TARGET_GROUP),  # no health check settings: ELB's 30 s x 2 = 60 s to eject
    # No deregistration_delay attribute: ELB's 300 s, while the container keeps ECS's
    # default StopTimeout of 30 s (and Fargate allows 120 s at most).
    ("FA401", TASK),
    ("FA402", SERVICE),  # no circuit breaker unless circuit_breaker= is passed
    ("FA405", SERVICE),  # 2 tasks over the 2 AZs CDK uses without an env: 1 of 2 per AZ
    ("FA501", TASK),  # the image asked for: nginx:latest
    ("FA502", TASK),  # no User: nginx runs as root
    ("FA503", TASK),  # no ReadonlyRootFilesystem
    ("FA601", LOG_GROUP),  # the awslogs driver's log group has no RetentionInDays
}

# What CDK gets right, so a finding here would be a false positive.
ABSENT = {
    "FA101": "task_subnets are the private subnets, routed through NAT",
    "FA102": "assign_public_ip=False: AssignPublicIp DISABLED",
    "FA103": "CDK puts each NAT gateway in a public subnet",
    "FA104": "each private subnet has a 0.0.0.0/0 route to its AZ's NAT gateway",
    "FA108": "restrictDefaultSecurityGroup's custom resource empties the default group",
    "FA201": "public_load_balancer=True: Scheme internet-facing",
    "FA202": "the load balancer is in the public subnets",
    "FA203": "the LB security group opens only TCP 80, the listener port",
    "FA205": "there is no HTTPS listener whose TLS policy could be old",
    "FA301": "the service security group admits only the LB security group",
    "FA302": "... and only on TCP 80, the container port",
    "FA303": "CDK describes every security group rule",
    "FA403": "CDK sets HealthCheckGracePeriodSeconds 60 behind a load balancer",
    "FA504": "nothing is privileged",
    "FA505": "no environment variables at all",
    "FA602": "CDK's log group has DeletionPolicy and UpdateReplacePolicy Retain",
    "FA603": "CDK builds every ARN with AWS::Partition",
    "FA604": "a single stack: no nested stack parameters",
    "FA001": "no suppressions",
    "FA002": "no suppressions",
    "FA003": "cfn-lint must be able to check a CDK template",
}


@pytest.fixture(scope="module")
def json_run() -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = run_check(TEMPLATE, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return result, json.loads(result.stdout)


def test_the_fixture_is_cdk_output() -> None:
    """Guards the fixture itself: these are the CDK shapes the checks below are about."""
    data = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    resources = data["Resources"]
    assert set(data) >= {"Resources", "Parameters", "Conditions", "Rules", "Outputs"}
    assert "CheckBootstrapVersion" in data["Rules"]
    assert data["Parameters"]["BootstrapVersion"]["Type"].startswith("AWS::SSM::Parameter")
    assert resources["CDKMetadata"]["Condition"] == "CDKMetadataAvailable"
    assert all("aws:cdk:path" in body["Metadata"] for body in resources.values())
    (lockdown,) = (body for body in resources.values() if body["Type"].startswith("Custom::"))
    assert lockdown["Properties"]["DefaultSecurityGroupId"] == {
        "Fn::GetAtt": [VPC, "DefaultSecurityGroup"]
    }
    service = resources[SERVICE]["Properties"]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert service["DesiredCount"] == 2


def test_exits_0_without_a_traceback(
    json_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    result, document = json_run
    # Warnings only: CDK's defaults have no error-level defect of the pattern.
    assert result.returncode == 0, result.stdout
    assert "Traceback" not in result.stderr
    assert document["exit_code"] == 0
    assert document["summary"]["error"] == 0
    assert [Path(f).name for f in document["files"]] == [TEMPLATE.name]


def test_reports_what_cdk_leaves_open(
    json_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, document = json_run
    found = active(document)
    assert found >= EXPECTED, sorted(EXPECTED - found)
    messages = {(f["rule"], f["resource"]): f["message"] for f in document["findings"]}
    assert "StopTimeout 30 s (the default)" in messages[("FA401", TASK)]
    assert "deregistration delay of 300 s" in messages[("FA401", TASK)]
    assert "for 60 s" in messages[("FA404", TARGET_GROUP)]
    assert "2 task(s) over 2 AZ(s)" in messages[("FA405", SERVICE)]
    assert "nginx:latest" in messages[("FA501", TASK)]
    assert "there is no HTTPS listener" in messages[("FA204", LISTENER)]


def test_reports_nothing_cdk_gets_right(
    json_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, document = json_run
    rules = {rule for rule, _ in active(document)}
    wrong = {rule: why for rule, why in ABSENT.items() if rule in rules}
    assert not wrong, wrong
    # cfn-lint ran on CDK's output and found nothing invalid in it.
    lint = [f for f in document["findings"] if f["source"] == "cfn-lint"]
    assert not [f for f in lint if f["severity"] == "error"], lint


def test_findings_point_at_the_right_lines(
    json_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, document = json_run
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    at = {(f["rule"], f["resource"]): lines[f["line"] - 1] for f in document["findings"]}
    assert '"Image": "public.ecr.aws/docker/library/nginx:latest"' in at[("FA501", TASK)]
    assert '"MapPublicIpOnLaunch": true' in at[("FA106", PUBLIC_SUBNETS[1])]
    assert '"Value": "false"' in at[("FA208", LOAD_BALANCER)]
    assert f'"{LOG_GROUP}"' in at[("FA601", LOG_GROUP)]


def test_text_and_sarif_reports_and_strict() -> None:
    text = run_check(TEMPLATE)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "Traceback" not in text.stderr
    assert "1 templates checked: 0 errors" in text.stdout
    assert all(rule in text.stdout for rule, _ in EXPECTED)

    sarif = run_check(TEMPLATE, "--format", "sarif")
    assert sarif.returncode == 0 and "Traceback" not in sarif.stderr
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]) for r in results} >= (
        EXPECTED
    )

    strict = run_check(TEMPLATE, "--strict")
    assert strict.returncode == 1  # the warnings fail --strict
    assert "Traceback" not in strict.stderr
