"""What each variant config asks for is in its templates.

The goldens pin every byte, but a golden regenerated without care pins a mistake as
well; these tests state the meaning of each variant's keys, read from its TOML, against
what the CLI wrote.
"""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from functional.support import Json, SynthCache, load_template, resources_of_type, variant_config


def _load(synthesized: SynthCache, variant: str) -> tuple[dict[str, Any], dict[str, Json]]:
    config = tomllib.loads(variant_config(variant).read_text(encoding="utf-8"))
    out: Path = synthesized.get(variant)
    templates = {name: load_template(out / f"{name}.yml") for name in ("vpc", "service")}
    return config, templates


def _container(service: Json) -> Json:
    containers = service["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert len(containers) == 1, containers
    result: Json = containers[0]
    return result


def _only(template: Json, type_: str) -> Json:
    found = resources_of_type(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    body: Json = next(iter(found.values()))["Properties"]
    return body


def test_single_nat(synthesized: SynthCache) -> None:
    _, t = _load(synthesized, "single-nat")
    nat = _only(t["vpc"], "AWS::EC2::NatGateway")
    eips = resources_of_type(t["vpc"], "AWS::EC2::EIP")
    assert len(eips) == 1 and next(iter(eips.values()))["DeletionPolicy"] == "Retain"
    assert nat["SubnetId"] == {"Ref": "PublicSubnetOne"}
    assert "NatEgressIps" in t["vpc"]["Outputs"]


def test_no_nat_uses_endpoints(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "no-nat-endpoints")
    vpc, service = t["vpc"], t["service"]
    assert not resources_of_type(vpc, "AWS::EC2::NatGateway")
    assert not resources_of_type(vpc, "AWS::EC2::EIP")
    assert "NatEgressIps" not in vpc["Outputs"]
    endpoints = resources_of_type(vpc, "AWS::EC2::VPCEndpoint").values()
    prefix = "com.amazonaws.${AWS::Region}."
    services = {e["Properties"]["ServiceName"]["Fn::Sub"].removeprefix(prefix) for e in endpoints}
    assert {"s3", "ecr.api", "ecr.dkr", "logs"} <= services, services
    egress = service["Resources"]["ServiceSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert [(r["IpProtocol"], r.get("FromPort"), r.get("ToPort")) for r in egress] == [
        ("tcp", 443, 443)
    ], "with nat = 'none' the tasks need HTTPS to the endpoints only"
    image = service["Parameters"]["ImageUrl"]["Default"]
    assert image == config["service"]["image"]


def test_https(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "https")
    listeners = {
        body["Properties"]["Protocol"]: body["Properties"]
        for body in resources_of_type(
            t["service"], "AWS::ElasticLoadBalancingV2::Listener"
        ).values()
    }
    assert set(listeners) == {"HTTP", "HTTPS"}
    https = listeners["HTTPS"]
    assert https["Port"] == 443
    assert https["Certificates"] == [{"CertificateArn": config["load_balancer"]["certificate_arn"]}]
    assert "TLS13" in https["SslPolicy"]
    assert https["DefaultActions"][0]["Type"] == "forward"
    redirect = listeners["HTTP"]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    alb_group = t["service"]["Resources"]["PublicLoadBalancerSG"]["Properties"]
    assert sorted({r["FromPort"] for r in alb_group["SecurityGroupIngress"]}) == [80, 443]
    assert t["service"]["Outputs"]["ServiceUrl"]["Value"]["Fn::Sub"].startswith("https://")


def test_autoscaling(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "autoscaling")
    scaling = config["autoscaling"]
    target = _only(t["service"], "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (scaling["min"], scaling["max"])
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    policies = {
        body["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: body["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for body in resources_of_type(
            t["service"], "AWS::ApplicationAutoScaling::ScalingPolicy"
        ).values()
    }
    assert policies["ECSServiceAverageCPUUtilization"]["TargetValue"] == scaling["cpu_target"]
    requests = policies["ALBRequestCountPerTarget"]
    assert requests["TargetValue"] == scaling["requests_per_target"]
    assert requests["ScaleInCooldown"] == scaling["scale_in_cooldown"]
    assert requests["ScaleOutCooldown"] == scaling["scale_out_cooldown"]
    assert (
        t["service"]["Parameters"]["DesiredCount"]["Default"] == config["service"]["desired_count"]
    )


def test_arm(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "arm")
    task = t["service"]["Resources"]["TaskDefinition"]["Properties"]
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    params = t["service"]["Parameters"]
    assert params["ContainerCpu"]["Default"] == config["service"]["cpu"]
    assert params["ContainerMemory"]["Default"] == config["service"]["memory"]


def test_spot(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "spot")
    service = _only(t["service"], "AWS::ECS::Service")
    assert "LaunchType" not in service, "LaunchType and a capacity provider strategy conflict"
    strategy = {s["CapacityProvider"]: s for s in service["CapacityProviderStrategy"]}
    spot = config["service"]["spot"]
    assert strategy["FARGATE_SPOT"]["Weight"] == spot
    assert strategy["FARGATE"]["Weight"] == 100 - spot
    assert strategy["FARGATE"]["Base"] >= 1, "keep one on-demand task"


def test_hardened(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "hardened")
    svc_config, lb_config = config["service"], config["load_balancer"]
    service = t["service"]
    container = _container(service)
    assert container["User"] == svc_config["user"]
    assert container["ReadonlyRootFilesystem"] is True, "a non-nginx image runs read-only"
    assert container["Command"] == svc_config["command"]
    assert {e["Name"]: e["Value"] for e in container["Environment"]} == svc_config["environment"]
    assert {s["Name"]: s["ValueFrom"] for s in container["Secrets"]} == svc_config["secrets"]

    policy = service["Resources"]["ExecutionRoleSecretsPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "ECSTaskExecutionRole"}]
    allowed = {s["Action"]: s["Resource"] for s in policy["PolicyDocument"]["Statement"]}
    ssm = [a for a in svc_config["secrets"].values() if ":ssm:" in a]
    managed = [a for a in svc_config["secrets"].values() if ":secretsmanager:" in a]
    assert ssm and managed, "the hardened variant must use both secret stores"
    assert allowed["ssm:GetParameters"] == ssm
    assert all(
        any(arn.startswith(r.rstrip("*")) for r in allowed["secretsmanager:GetSecretValue"])
        for arn in managed
    )
    assert "ExecutionRoleSecretsPolicy" in service["Resources"]["Service"]["DependsOn"]

    group = service["Resources"]["ServiceTargetGroup"]["Properties"]
    assert group["HealthCheckPath"] == svc_config["health_check_path"] == "/health"
    attributes = {
        a["Key"]: a["Value"]
        for a in service["Resources"]["PublicLoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    }
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == lb_config["access_logs"]["bucket"]
    assert attributes["access_logs.s3.prefix"] == lb_config["access_logs"]["prefix"]


def test_six_az(synthesized: SynthCache) -> None:
    config, t = _load(synthesized, "six-az")
    vpc = t["vpc"]
    cidr = IPv4Network(config["network"]["cidr"])
    assert vpc["Resources"]["VPC"]["Properties"]["CidrBlock"] == str(cidr)
    subnets = resources_of_type(vpc, "AWS::EC2::Subnet")
    assert len(subnets) == 12
    ranges = [IPv4Network(s["Properties"]["CidrBlock"]) for s in subnets.values()]
    assert all(r.subnet_of(cidr) for r in ranges)
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    zones = {s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets.values()}
    assert zones == set(range(6))
    assert len(resources_of_type(vpc, "AWS::EC2::NatGateway")) == 6


def test_domain(synthesized: SynthCache) -> None:
    for variant in ("domain", "domain-zone-lookup"):
        config, t = _load(synthesized, variant)
        lb_config, service = config["load_balancer"], t["service"]
        domain = lb_config["domain"]
        certificate = _only(service, "AWS::CertificateManager::Certificate")
        assert certificate["DomainName"] == domain and certificate["ValidationMethod"] == "DNS"
        listeners = resources_of_type(service, "AWS::ElasticLoadBalancingV2::Listener")
        (https,) = [
            x["Properties"] for x in listeners.values() if x["Properties"]["Protocol"] == "HTTPS"
        ]
        assert https["Certificates"] == [{"CertificateArn": {"Ref": "Certificate"}}]
        record = _only(service, "AWS::Route53::RecordSet")
        assert record["Name"] == domain and record["Type"] == "A"
        assert record["HostedZoneId"] == {"Ref": "HostedZoneId"}
        zone = service["Parameters"]["HostedZoneId"]
        assert zone.get("Default") == lb_config.get("hosted_zone_id")
        assert service["Outputs"]["ServiceUrl"]["Value"] == f"https://{domain}"
        assert service["Metadata"]["fargate-api"]["domain"]["name"] == domain
