"""The synthesized templates keep the pattern's promises, for the defaults and variants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fargate_api.config import Config, parse_config
from unit.support import (
    Json,
    check_invariants,
    container_of,
    ecs_service,
    iter_strings,
    load_balancer,
    load_reference,
    of_type,
    only,
    props,
    ref_target,
    security_group_rules,
    synth_dicts,
    target_group,
)
from unit.variants import CERTIFICATE, MANAGED_SECRET, PRIVATE_IMAGE, SSM_SECRET, VARIANTS


def config_of(variant: str) -> Config:
    return parse_config(VARIANTS[variant], source=f"{variant}.toml")


def docs_of(variant: str) -> dict[str, Json]:
    return synth_dicts(config_of(variant))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_invariants_hold(variant: str) -> None:
    config = config_of(variant)
    check_invariants(config, synth_dicts(config))


# ------------------------------------------------------------------ tasks and the ALB


def test_tasks_are_private_and_the_load_balancer_public() -> None:
    service = docs_of("default")["service.yml"]
    _, svc = ecs_service(service)
    awsvpc = svc["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert awsvpc["AssignPublicIp"] == "DISABLED"
    assert awsvpc["Subnets"] == {"Ref": "PrivateSubnetIds"}
    _, lb = load_balancer(service)
    assert lb["Scheme"] == "internet-facing"
    assert lb["Type"] == "application"
    assert lb["Subnets"] == {"Ref": "PublicSubnetIds"}


@pytest.mark.parametrize(("variant", "ports"), [("default", [80]), ("https", [80, 443])])
def test_load_balancer_accepts_only_its_listener_ports(variant: str, ports: list[int]) -> None:
    service = docs_of(variant)["service.yml"]
    rules = security_group_rules(service, "PublicLoadBalancerSG", "Ingress")
    assert sorted(r["FromPort"] for r in rules) == ports
    assert all(r["IpProtocol"] == "tcp" and r["ToPort"] == r["FromPort"] for r in rules)
    assert all(r["CidrIp"] == "0.0.0.0/0" and r["Description"] for r in rules)


def test_load_balancer_sends_only_to_the_service() -> None:
    service = docs_of("default")["service.yml"]
    rules = security_group_rules(service, "PublicLoadBalancerSG", "Egress")
    real = [r for r in rules if r.get("CidrIp") != "255.255.255.255/32"]
    assert len(rules) == 2  # the placeholder that removes allow-all, and the rule below
    assert real == [
        {
            "GroupId": {"Ref": "PublicLoadBalancerSG"},
            "IpProtocol": "tcp",
            "FromPort": {"Ref": "ContainerPort"},
            "ToPort": {"Ref": "ContainerPort"},
            "DestinationSecurityGroupId": {"Ref": "ServiceSecurityGroup"},
            "Description": real[0]["Description"],
        }
    ]
    assert real[0]["Description"]


def test_the_service_accepts_only_the_load_balancer() -> None:
    service = docs_of("default")["service.yml"]
    (rule,) = security_group_rules(service, "ServiceSecurityGroup", "Ingress")
    assert rule["SourceSecurityGroupId"] == {"Ref": "PublicLoadBalancerSG"}
    assert rule["IpProtocol"] == "tcp"
    assert rule["FromPort"] == rule["ToPort"] == {"Ref": "ContainerPort"}
    assert rule["Description"]
    for body in service["Resources"].values():
        if body["Type"] == "AWS::EC2::SecurityGroupIngress":
            assert "CidrIp" not in props(body)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_security_group_rule_is_described(variant: str) -> None:
    for name, doc in docs_of(variant).items():
        for logical_id, body in doc["Resources"].items():
            kind = body["Type"]
            if kind == "AWS::EC2::SecurityGroup":
                rules = props(body).get("SecurityGroupIngress", []) + props(body).get(
                    "SecurityGroupEgress", []
                )
            elif kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                rules = [props(body)]
            else:
                continue
            for rule in rules:
                assert rule.get("Description"), f"{name} {logical_id}: {rule}"


# ---------------------------------------------------------------------------- the VPC


def private_default_routes(vpc: Json) -> dict[str, Json]:
    return {
        ref_target(props(body)["RouteTableId"]): props(body)
        for body in of_type(vpc, "AWS::EC2::Route").values()
        if props(body)["DestinationCidrBlock"] == "0.0.0.0/0"
        and ref_target(props(body)["RouteTableId"]) != "PublicRouteTable"
    }


def test_public_route_table_goes_to_the_internet_gateway() -> None:
    vpc = docs_of("default")["vpc.yml"]
    routes = [
        props(b)
        for b in of_type(vpc, "AWS::EC2::Route").values()
        if props(b)["RouteTableId"] == {"Ref": "PublicRouteTable"}
    ]
    assert routes == [
        {
            "RouteTableId": {"Ref": "PublicRouteTable"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "GatewayId": {"Ref": "InternetGateway"},
        }
    ]


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (
            "default",
            {"PrivateRouteTableOne": "NatGatewayOne", "PrivateRouteTableTwo": "NatGatewayTwo"},
        ),
        (
            "single-nat",
            {"PrivateRouteTableOne": "NatGatewayOne", "PrivateRouteTableTwo": "NatGatewayOne"},
        ),
        ("nat-none", {}),
    ],
)
def test_private_route_tables_use_the_nat_mode(variant: str, expected: dict[str, str]) -> None:
    vpc = docs_of(variant)["vpc.yml"]
    routes = private_default_routes(vpc)
    assert {table: ref_target(r["NatGatewayId"]) for table, r in routes.items()} == expected


def test_per_az_nat_gateways_sit_in_their_own_az_public_subnet() -> None:
    vpc = docs_of("six-azs")["vpc.yml"]
    nats = of_type(vpc, "AWS::EC2::NatGateway")
    assert len(nats) == 6
    subnets = of_type(vpc, "AWS::EC2::Subnet")
    for table, route in private_default_routes(vpc).items():
        (assoc,) = [
            props(b)
            for b in of_type(vpc, "AWS::EC2::SubnetRouteTableAssociation").values()
            if props(b)["RouteTableId"] == {"Ref": table}
        ]
        private_subnet = subnets[ref_target(assoc["SubnetId"])]
        nat_subnet_id = ref_target(props(nats[ref_target(route["NatGatewayId"])])["SubnetId"])
        assert nat_subnet_id.startswith("PublicSubnet")
        nat_az = props(subnets[nat_subnet_id])["AvailabilityZone"]
        assert nat_az == props(private_subnet)["AvailabilityZone"]


@pytest.mark.parametrize(("variant", "count"), [("default", 2), ("single-nat", 1), ("nat-none", 0)])
def test_egress_ips_are_retained(variant: str, count: int) -> None:
    vpc = docs_of(variant)["vpc.yml"]
    eips = of_type(vpc, "AWS::EC2::EIP")
    assert len(eips) == count
    for eip in eips.values():
        assert eip["DeletionPolicy"] == "Retain"
        assert eip["UpdateReplacePolicy"] == "Retain"
        assert props(eip)["Domain"] == "vpc"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_subnet_hands_out_public_ips(variant: str) -> None:
    subnets = of_type(docs_of(variant)["vpc.yml"], "AWS::EC2::Subnet")
    assert subnets
    for subnet in subnets.values():
        assert props(subnet)["MapPublicIpOnLaunch"] is False


def test_default_vpc_matches_the_reference_layout(reference_dir: Path) -> None:
    mappings = load_reference(reference_dir, "vpc.yml")["Mappings"]["SubnetConfig"]
    vpc = docs_of("default")["vpc.yml"]
    resources = vpc["Resources"]
    assert props(resources["VPC"])["CidrBlock"] == mappings["VPC"]["CIDR"]
    for ours, theirs in (
        ("PublicSubnetOne", "PublicOne"),
        ("PublicSubnetTwo", "PublicTwo"),
        ("PrivateSubnetOne", "PrivateOne"),
        ("PrivateSubnetTwo", "PrivateTwo"),
    ):
        assert props(resources[ours])["CidrBlock"] == mappings[theirs]["CIDR"]


def test_flow_logs_and_default_group_lockdown() -> None:
    vpc = docs_of("default")["vpc.yml"]
    _, flow_log = only(vpc, "AWS::EC2::FlowLog")
    assert props(flow_log)["ResourceId"] == {"Ref": "VPC"}
    _, lockdown = only(vpc, "Custom::RestrictDefaultSecurityGroup")
    assert props(lockdown)["GroupId"] == {"Fn::GetAtt": ["VPC", "DefaultSecurityGroup"]}
    assert not of_type(docs_of("custom-image")["vpc.yml"], "AWS::EC2::FlowLog")


def endpoint_services(variant: str) -> list[str]:
    endpoints = of_type(docs_of(variant)["vpc.yml"], "AWS::EC2::VPCEndpoint")
    return sorted(props(e)["ServiceName"]["Fn::Sub"] for e in endpoints.values())


def test_nat_none_reaches_aws_through_endpoints_only() -> None:
    assert endpoint_services("nat-none") == sorted(
        f"com.amazonaws.${{AWS::Region}}.{name}" for name in ("s3", "ecr.api", "ecr.dkr", "logs")
    )
    service = docs_of("nat-none")["service.yml"]
    (egress,) = security_group_rules(service, "ServiceSecurityGroup", "Egress")
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)


def test_secrets_add_their_endpoints() -> None:
    assert endpoint_services("secrets") == sorted(
        f"com.amazonaws.${{AWS::Region}}.{name}"
        for name in ("s3", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm")
    )
    assert endpoint_services("default") == []


# -------------------------------------------------------------------- the ECS service


def test_deployments_are_safe_by_default() -> None:
    service = docs_of("default")["service.yml"]
    _, svc = ecs_service(service)
    deployment = svc["DeploymentConfiguration"]
    assert deployment == {
        "MinimumHealthyPercent": 100,
        "MaximumPercent": 200,
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
    }
    assert isinstance(svc["HealthCheckGracePeriodSeconds"], int)
    _, tg = target_group(service)
    assert tg["UnhealthyThresholdCount"] == 2
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    delay = int(attributes["deregistration_delay.timeout_seconds"])
    assert 0 < delay < container_of(service)["StopTimeout"]


@pytest.mark.parametrize(("variant", "count"), [("default", 3), ("custom-image", 2)])
def test_log_groups_expire_and_are_retained(variant: str, count: int) -> None:
    found = 0
    for doc in docs_of(variant).values():
        for group in of_type(doc, "AWS::Logs::LogGroup").values():
            found += 1
            assert isinstance(props(group)["RetentionInDays"], int)
            assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    assert found == count  # tasks, default-SG lockdown function, flow logs unless off


def test_task_role_is_not_the_execution_role() -> None:
    _, task = only(docs_of("default")["service.yml"], "AWS::ECS::TaskDefinition")
    assert props(task)["TaskRoleArn"] != props(task)["ExecutionRoleArn"]
    assert props(task)["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}


def test_https_listener_and_redirect() -> None:
    service = docs_of("https")["service.yml"]
    listeners = {
        props(b)["Protocol"]: props(b)
        for b in of_type(service, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert set(listeners) == {"HTTP", "HTTPS"}
    https = listeners["HTTPS"]
    assert https["Port"] == 443
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["Certificates"] == [{"CertificateArn": CERTIFICATE}]
    http = listeners["HTTP"]
    assert http["Port"] == 80
    (action,) = http["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["Port"] == "443"


def test_http_only_listener_forwards() -> None:
    service = docs_of("default")["service.yml"]
    (listener,) = of_type(service, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert props(listener)["Protocol"] == "HTTP"
    assert props(listener)["Port"] == 80
    assert props(listener)["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": "ServiceTargetGroup"}}
    ]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_arns_are_partition_aware(variant: str) -> None:
    config = config_of(variant)
    user_values = list(config.service.secrets.values())
    if config.load_balancer.certificate_arn:
        user_values.append(config.load_balancer.certificate_arn)
    for name, doc in synth_dicts(config).items():
        for text in iter_strings(doc):
            if "arn:aws:" in text:
                stem = text.removesuffix("*")
                assert any(v.startswith(stem) for v in user_values), f"{name}: {text!r}"


def test_partition_check_is_not_vacuous() -> None:
    strings = [s for doc in docs_of("default").values() for s in iter_strings(doc)]
    assert any("arn:${AWS::Partition}:" in s for s in strings)


def test_secret_arns_are_granted_to_the_execution_role_only() -> None:
    service = docs_of("secrets")["service.yml"]
    _, policy = only(service, "AWS::IAM::Policy")
    assert props(policy)["Roles"] == [{"Ref": "ECSTaskExecutionRole"}]
    statements = {s["Action"]: s["Resource"] for s in props(policy)["PolicyDocument"]["Statement"]}
    assert statements["ssm:GetParameters"] == [SSM_SECRET]
    assert statements["secretsmanager:GetSecretValue"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-url*"
    ]
    container = container_of(service)
    assert container["Secrets"] == [
        {"Name": "API_KEY", "ValueFrom": SSM_SECRET},
        {"Name": "DB_PASSWORD", "ValueFrom": MANAGED_SECRET},
    ]
    assert container["Environment"] == [{"Name": "LOG_LEVEL", "Value": "info"}]


# ---------------------------------------------------------------- the container itself


def test_nginx_default_keeps_a_writable_root() -> None:
    container = container_of(docs_of("default")["service.yml"])
    assert container["ReadonlyRootFilesystem"] is False
    assert "MountPoints" not in container


@pytest.mark.parametrize("variant", ["custom-image", "nat-none"])
def test_other_images_get_a_read_only_root_with_tmp(variant: str) -> None:
    service = docs_of(variant)["service.yml"]
    container = container_of(service)
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [
        {"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}
    ]
    _, task = only(service, "AWS::ECS::TaskDefinition")
    assert props(task)["Volumes"] == [{"Name": "tmp"}]


def test_read_only_root_can_be_forced_either_way() -> None:
    on = parse_config("[service]\nread_only_root_filesystem = true\n")
    off = parse_config(f'[service]\nimage = "{PRIVATE_IMAGE}"\nread_only_root_filesystem = false\n')
    assert container_of(synth_dicts(on)["service.yml"])["ReadonlyRootFilesystem"] is True
    assert container_of(synth_dicts(off)["service.yml"])["ReadonlyRootFilesystem"] is False


def test_user_is_set_only_when_configured() -> None:
    assert container_of(docs_of("custom-image")["service.yml"])["User"] == "1000:1000"
    assert "User" not in container_of(docs_of("default")["service.yml"])


def test_arm64_platform() -> None:
    _, task = only(docs_of("arm64")["service.yml"], "AWS::ECS::TaskDefinition")
    assert props(task)["RuntimePlatform"] == {
        "CpuArchitecture": "ARM64",
        "OperatingSystemFamily": "LINUX",
    }


@pytest.mark.parametrize(
    ("variant", "strategy"),
    [
        (
            "spot-50",
            [
                {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 50},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 50},
            ],
        ),
        ("spot-100", [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]),
    ],
)
def test_spot_capacity(variant: str, strategy: list[Json]) -> None:
    _, svc = ecs_service(docs_of(variant)["service.yml"])
    assert svc["CapacityProviderStrategy"] == strategy
    assert "LaunchType" not in svc


# ------------------------------------------------------------------------ autoscaling


def test_autoscaling_targets_and_policies() -> None:
    service = docs_of("autoscaling-both")["service.yml"]
    _, target = only(service, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert props(target)["ResourceId"] == {"Fn::Sub": "service/${ClusterName}/${Service.Name}"}
    assert (props(target)["MinCapacity"], props(target)["MaxCapacity"]) == (2, 10)
    metrics = {
        props(p)["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: props(p)["TargetTrackingScalingPolicyConfiguration"]
        for p in of_type(service, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    assert metrics["ECSServiceAverageCPUUtilization"]["TargetValue"] == 70.5
    requests = metrics["ALBRequestCountPerTarget"]
    assert requests["TargetValue"] == 1000
    assert requests["PredefinedMetricSpecification"]["ResourceLabel"] == {
        "Fn::Sub": "${PublicLoadBalancer.LoadBalancerFullName}/"
        "${ServiceTargetGroup.TargetGroupFullName}"
    }
    assert (requests["ScaleInCooldown"], requests["ScaleOutCooldown"]) == (120, 30)


@pytest.mark.parametrize(
    ("variant", "metric"),
    [
        ("autoscaling-cpu", "ECSServiceAverageCPUUtilization"),
        ("autoscaling-requests", "ALBRequestCountPerTarget"),
    ],
)
def test_autoscaling_with_one_target_has_one_policy(variant: str, metric: str) -> None:
    policies = of_type(
        docs_of(variant)["service.yml"], "AWS::ApplicationAutoScaling::ScalingPolicy"
    )
    (policy,) = policies.values()
    spec = props(policy)["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"
    ]
    assert spec["PredefinedMetricType"] == metric


def test_no_autoscaling_resources_by_default() -> None:
    service = docs_of("default")["service.yml"]
    assert not of_type(service, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert not of_type(service, "AWS::ApplicationAutoScaling::ScalingPolicy")


# ----------------------------------------------------------- the parent and the reference


def test_parent_wires_the_stacks_like_the_reference(reference_dir: Path) -> None:
    reference = load_reference(reference_dir, "parent.yml")
    parent = docs_of("default")["parent.yml"]
    assert parent["Transform"] == reference["Transform"] == "AWS::Serverless-2016-10-31"
    apps = of_type(parent, "AWS::Serverless::Application")
    assert {lid: props(b)["Location"] for lid, b in apps.items()} == {
        "VpcStack": "vpc.yml",
        "ClusterStack": "cluster.yml",
        "ServiceStack": "service.yml",
    }
    ours = props(parent["Resources"]["ServiceStack"])["Parameters"]
    theirs = reference["Resources"]["ServiceStack"]["Properties"]["Parameters"]
    assert ours == theirs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_service_parameters_extend_the_reference(variant: str, reference_dir: Path) -> None:
    reference = load_reference(reference_dir, "service.yml")["Parameters"]
    ours = docs_of(variant)["service.yml"]["Parameters"]
    assert set(reference) <= set(ours)
    for name, spec in reference.items():
        assert ours[name]["Type"] == spec["Type"], name


def test_default_service_parameters_equal_the_reference_defaults(reference_dir: Path) -> None:
    reference = load_reference(reference_dir, "service.yml")["Parameters"]
    ours = docs_of("default")["service.yml"]["Parameters"]
    for name, spec in reference.items():
        assert ours[name].get("Default") == spec.get("Default"), name


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", ["vpc.yml", "cluster.yml"])
def test_child_outputs_extend_the_reference(name: str, variant: str, reference_dir: Path) -> None:
    reference = load_reference(reference_dir, name)["Outputs"]
    ours = docs_of(variant)[name]["Outputs"]
    assert set(reference) <= set(ours), f"missing {set(reference) - set(ours)}"


@pytest.mark.parametrize(
    ("variant", "with_nat"), [("default", True), ("single-nat", True), ("nat-none", False)]
)
def test_parent_outputs(variant: str, with_nat: bool) -> None:
    outputs = docs_of(variant)["parent.yml"]["Outputs"]
    assert {"ServiceUrl", "ClusterName", "ServiceName", "LogGroupName"} <= set(outputs)
    assert ("NatEgressIps" in outputs) is with_nat
    if with_nat:
        assert outputs["NatEgressIps"]["Value"] == {
            "Fn::GetAtt": ["VpcStack", "Outputs.NatEgressIps"]
        }


@pytest.mark.parametrize(
    ("variant", "url"),
    [
        ("default", "http://${PublicLoadBalancer.DNSName}"),
        ("https", "https://${PublicLoadBalancer.DNSName}"),
        ("https-custom-ports", "https://${PublicLoadBalancer.DNSName}:8443"),
    ],
)
def test_service_url(variant: str, url: str) -> None:
    outputs = docs_of(variant)["service.yml"]["Outputs"]
    assert outputs["ServiceUrl"]["Value"] == {"Fn::Sub": url}


# ------------------------------------------------- the invariant checker is not vacuous


def _assign_public_ip(docs: dict[str, Json]) -> None:
    _, svc = ecs_service(docs["service.yml"])
    svc["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] = "ENABLED"


def _tasks_in_public_subnets(docs: dict[str, Json]) -> None:
    _, svc = ecs_service(docs["service.yml"])
    svc["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] = {"Ref": "PublicSubnetIds"}


def _internal_load_balancer(docs: dict[str, Json]) -> None:
    load_balancer(docs["service.yml"])[1]["Scheme"] = "internal"


def _open_task_port_to_the_world(docs: dict[str, Json]) -> None:
    group = props(docs["service.yml"]["Resources"]["ServiceSecurityGroup"])
    group["SecurityGroupIngress"] = [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}
    ]


def _all_protocols_on_the_load_balancer(docs: dict[str, Json]) -> None:
    group = props(docs["service.yml"]["Resources"]["PublicLoadBalancerSG"])
    group["SecurityGroupIngress"][0]["IpProtocol"] = "-1"


def _undescribed_rule(docs: dict[str, Json]) -> None:
    rule = props(docs["service.yml"]["Resources"]["ServiceIngressfromLoadBalancer"])
    del rule["Description"]


def _public_ip_on_launch(docs: dict[str, Json]) -> None:
    props(docs["vpc.yml"]["Resources"]["PublicSubnetOne"])["MapPublicIpOnLaunch"] = True


def _cross_az_nat(docs: dict[str, Json]) -> None:
    props(docs["vpc.yml"]["Resources"]["PrivateRouteOne"])["NatGatewayId"] = {
        "Ref": "NatGatewayTwo"
    }


def _nat_in_private_subnet(docs: dict[str, Json]) -> None:
    props(docs["vpc.yml"]["Resources"]["NatGatewayOne"])["SubnetId"] = {"Ref": "PrivateSubnetOne"}


def _eip_not_retained(docs: dict[str, Json]) -> None:
    del docs["vpc.yml"]["Resources"]["NatGatewayOneEIP"]["DeletionPolicy"]


def _log_group_never_expires(docs: dict[str, Json]) -> None:
    del props(docs["service.yml"]["Resources"]["LogGroup"])["RetentionInDays"]


def _hard_coded_partition(docs: dict[str, Json]) -> None:
    _, task = only(docs["service.yml"], "AWS::ECS::TaskDefinition")
    props(task)["ExecutionRoleArn"] = "arn:aws:iam::123456789012:role/x"


def _no_circuit_breaker(docs: dict[str, Json]) -> None:
    _, svc = ecs_service(docs["service.yml"])
    svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Rollback"] = False


def _drain_longer_than_stop(docs: dict[str, Json]) -> None:
    container_of(docs["service.yml"])["StopTimeout"] = 30


def _task_role_is_execution_role(docs: dict[str, Json]) -> None:
    _, task = only(docs["service.yml"], "AWS::ECS::TaskDefinition")
    props(task)["TaskRoleArn"] = props(task)["ExecutionRoleArn"]


def _dangling_ref(docs: dict[str, Json]) -> None:
    props(docs["vpc.yml"]["Resources"]["PublicRoute"])["GatewayId"] = {"Ref": "Nope"}


def _parent_reads_a_missing_output(docs: dict[str, Json]) -> None:
    del docs["service.yml"]["Outputs"]["LogGroupName"]


def _no_flow_log(docs: dict[str, Json]) -> None:
    del docs["vpc.yml"]["Resources"]["FlowLog"]


MUTATIONS = [
    _assign_public_ip,
    _tasks_in_public_subnets,
    _internal_load_balancer,
    _open_task_port_to_the_world,
    _all_protocols_on_the_load_balancer,
    _undescribed_rule,
    _public_ip_on_launch,
    _cross_az_nat,
    _nat_in_private_subnet,
    _eip_not_retained,
    _log_group_never_expires,
    _hard_coded_partition,
    _no_circuit_breaker,
    _drain_longer_than_stop,
    _task_role_is_execution_role,
    _dangling_ref,
    _parent_reads_a_missing_output,
    _no_flow_log,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_invariant_checker_catches(mutate: Callable[[dict[str, Json]], None]) -> None:
    config = Config()
    docs = synth_dicts(config)
    check_invariants(config, docs)
    mutate(docs)
    with pytest.raises(AssertionError):
        check_invariants(config, docs)
