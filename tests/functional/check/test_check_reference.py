"""`check` on the reference pattern: exit 1 and every known defect in the JSON report."""

from __future__ import annotations

import json

from functional.check.support import active, require_reference_dir, run_check, run_json

# Issue 3's list of the reference's defects -> the findings that report each one.
DEFECTS: dict[str, set[tuple[str, str]]] = {
    "1 no TLS/redirect": {("FA204", "PublicLoadBalancerListener")},
    "2 ALB SG all protocols from anywhere": {("FA203", "PublicLoadBalancerSG")},
    "3 service SG all protocols from the ALB": {("FA302", "ServiceIngressfromLoadBalancer")},
    "4 root user / writable root filesystem": {
        ("FA502", "TaskDefinition"),
        ("FA503", "TaskDefinition"),
    },
    "5 no flow logs / default SG": {("FA107", "VPC"), ("FA108", "VPC")},
    "6 no access logs / invalid headers kept / no deletion protection": {
        ("FA207", "PublicLoadBalancer"),
        ("FA206", "PublicLoadBalancer"),
        ("FA208", "PublicLoadBalancer"),
    },
    "7 deregistration delay 0": {("FA401", "ServiceTargetGroup")},
    "8 no circuit breaker / no grace period": {("FA402", "Service"), ("FA403", "Service")},
    "9 unhealthy threshold 10": {("FA404", "ServiceTargetGroup")},
    "10 MapPublicIpOnLaunch": {("FA106", "PublicSubnetOne"), ("FA106", "PublicSubnetTwo")},
    "11 the latest tag": {("FA501", "TaskDefinition")},
    "12 log group without retention/DeletionPolicy": {
        ("FA601", "LogGroup"),
        ("FA602", "LogGroup"),
    },
    "13 no VPC endpoints": {("FA105", "VPC")},
    "14 half capacity on an AZ loss": {("FA405", "Service")},
    "15 hard-coded partition / SG rules without descriptions": {
        ("FA603", "ECSTaskExecutionRole"),
        ("FA303", "PublicLoadBalancerSG"),
    },
}


def test_reference_reports_every_defect() -> None:
    reference = require_reference_dir()
    code, document = run_json(reference)
    assert code == 1
    found = active(document)
    missing = {name: want - found for name, want in DEFECTS.items() if not want <= found}
    assert not missing, f"defects not reported: {missing}"
    assert document["summary"]["error"] >= 2
    by_rule = {f["rule"]: f for f in document["findings"]}
    assert by_rule["FA203"]["file"].endswith("service.yml") and by_rule["FA203"]["line"] == 142
    assert by_rule["FA106"]["file"].endswith("vpc.yml")


def test_reference_single_file_and_sarif() -> None:
    reference = require_reference_dir()
    result = run_check(reference / "service.yml", "--format", "sarif")
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"FA203", "FA302", "FA204", "FA501"}
    # Checked alone, the service's subnets are unknown parameters: no guessing about them.
    assert "FA101" not in {r["ruleId"] for r in results}


def test_reference_text_report_goes_to_stdout() -> None:
    reference = require_reference_dir()
    result = run_check(reference)
    assert result.returncode == 1
    assert "FA203" in result.stdout and "failed" in result.stdout
    assert "Traceback" not in result.stderr
