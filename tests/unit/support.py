"""Helpers of the unit tier: template walking, the reference loader and the invariants.

`check_invariants` states what every synthesized template set must keep, for any valid
config: the pattern's promises (tasks private, ALB public, NAT egress), the hardening
(descriptions on every rule, retained logs and egress IPs, partition-aware ARNs) and the
wiring between the four files. It reads only the rendered dicts, never the builders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import yaml

from fargate_api.config import Config, NatMode
from fargate_api.config.model import LOG_RETENTION_DAYS
from fargate_api.synth import synthesize

Json = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO.parent / "shared" / "reference" / "public-facing-api-ecs-fargate"
TEMPLATE_NAMES = ("vpc.yml", "cluster.yml", "service.yml", "parent.yml")

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]*)\}")
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
ANYWHERE = "0.0.0.0/0"
# The CDK-style rule that replaces a security group's default allow-all egress: ICMP
# type 252 code 86 to the broadcast address, which matches no traffic.
NO_EGRESS_PLACEHOLDER = {"IpProtocol": "icmp", "CidrIp": "255.255.255.255/32"}
ROOT_WRITABLE_REPOSITORIES = ("public.ecr.aws/docker/library/nginx", "nginx", "httpd")


# --------------------------------------------------------------------------- synthesis


def synth_dicts(config: Config) -> dict[str, Json]:
    return {name: template.to_dict() for name, template in synthesize(config).items()}


# ------------------------------------------------------------------- reference loading


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref, !GetAtt, !Sub, ...) into
    their long form, so reference templates compare equal to ours."""


def _short_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> Json:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, attribute = value.split(".", 1)
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _short_tag)


def load_reference(directory: Path, name: str) -> Json:
    document = yaml.load((directory / name).read_text(encoding="utf-8"), Loader=CfnLoader)
    assert isinstance(document, dict)
    return document


# ---------------------------------------------------------------------------- walking


def iter_nodes(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, Mapping):
        for item in value.values():
            yield from iter_nodes(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from iter_nodes(item)


def iter_strings(value: Any) -> Iterator[str]:
    for node in iter_nodes(value):
        if isinstance(node, str):
            yield node
        if isinstance(node, Mapping):
            yield from (key for key in node if isinstance(key, str))


def of_type(doc: Json, type_: str) -> dict[str, Json]:
    return {lid: body for lid, body in doc["Resources"].items() if body["Type"] == type_}


def only(doc: Json, type_: str) -> tuple[str, Json]:
    found = of_type(doc, type_)
    assert len(found) == 1, f"expected exactly one {type_}, found {sorted(found)}"
    ((logical_id, body),) = found.items()
    return logical_id, body


def props(body: Json) -> Json:
    properties = body.get("Properties", {})
    assert isinstance(properties, dict)
    return properties


def ref_target(value: Any) -> str:
    assert isinstance(value, dict), f"expected a Ref, got {value!r}"
    assert set(value) == {"Ref"}, f"expected a Ref, got {value!r}"
    target = value["Ref"]
    assert isinstance(target, str)
    return target


def container_of(service_doc: Json) -> Json:
    _, task = only(service_doc, "AWS::ECS::TaskDefinition")
    containers = props(task)["ContainerDefinitions"]
    assert len(containers) == 1
    container = containers[0]
    assert isinstance(container, dict)
    return container


def ecs_service(service_doc: Json) -> tuple[str, Json]:
    logical_id, body = only(service_doc, "AWS::ECS::Service")
    return logical_id, props(body)


def target_group(service_doc: Json) -> tuple[str, Json]:
    """The service's (primary) target group: the one its LoadBalancers name; a traffic-shifting
    deployment adds an alternate one beside it ([deployment], test_synth_deployment.py)."""
    _, svc = ecs_service(service_doc)
    logical_id = ref_target(svc["LoadBalancers"][0]["TargetGroupArn"])
    body = service_doc["Resources"][logical_id]
    assert body["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup", logical_id
    return logical_id, props(body)


def load_balancer(service_doc: Json) -> tuple[str, Json]:
    logical_id, body = only(service_doc, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return logical_id, props(body)


def security_group_rules(doc: Json, group: str, direction: str) -> list[Json]:
    """Inline and standalone rules of one group; direction is 'Ingress' or 'Egress'."""
    rules = list(props(doc["Resources"][group]).get(f"SecurityGroup{direction}", []))
    for body in of_type(doc, f"AWS::EC2::SecurityGroup{direction}").values():
        if props(body)["GroupId"] == {"Ref": group}:
            rules.append(props(body))
    return rules


def is_no_egress_placeholder(rule: Json) -> bool:
    return all(rule.get(key) == value for key, value in NO_EGRESS_PLACEHOLDER.items())


def listener_ports(config: Config) -> set[int]:
    lb = config.load_balancer
    return {lb.http_port, lb.https_port} if lb.https else {lb.http_port}


def listener_ranges(config: Config) -> set[tuple[int, str]]:
    """(port, CIDR) the load balancer's security group opens: the listeners to
    ingress_cidrs, a deployment's test listener to its own ranges."""
    ranges = {
        (p, str(c)) for p in listener_ports(config) for c in config.load_balancer.ingress_cidrs
    }
    test_port = config.deployment.test_listener_port
    if test_port is not None:
        ranges |= {(test_port, str(c)) for c in config.test_listener_cidrs()}
    return ranges


# ---------------------------------------------------------------------------- invariants


def check_invariants(config: Config, docs: Mapping[str, Json]) -> None:
    """Every promise of the pattern, for this config's templates."""
    assert tuple(docs) == TEMPLATE_NAMES
    for name, doc in docs.items():
        check_references(name, doc)
    check_rule_descriptions(docs)
    check_log_groups(docs)
    check_partition_aware(config, docs)
    check_vpc(config, docs["vpc.yml"])
    check_cluster(config, docs["cluster.yml"])
    check_service_placement(config, docs["service.yml"])
    check_security_groups(config, docs["service.yml"])
    check_listeners(config, docs["service.yml"])
    check_deployment(config, docs["service.yml"])
    check_container(config, docs["service.yml"])
    check_capacity(config, docs["service.yml"])
    check_autoscaling(config, docs["service.yml"])
    check_parent(config, docs)


def check_references(name: str, doc: Json) -> None:
    """Every Ref, GetAtt, Sub variable and DependsOn names something that exists."""
    parameters = set(doc.get("Parameters", {}))
    resources = set(doc["Resources"])
    refable = parameters | resources | PSEUDO_PARAMETERS
    for node in iter_nodes(doc):
        if not isinstance(node, dict) or len(node) != 1:
            continue
        ((key, value),) = node.items()
        if key == "Ref":
            assert value in refable, f"{name}: Ref to unknown {value!r}"
        elif key == "Fn::GetAtt":
            assert value[0] in resources, f"{name}: GetAtt of unknown {value!r}"
        elif key == "Fn::Sub":
            assert isinstance(value, str), f"{name}: unexpected Sub form {value!r}"
            for variable in SUB_VARIABLE.findall(value):
                if "." in variable:
                    assert variable.split(".")[0] in resources, f"{name}: Sub ${{{variable}}}"
                else:
                    assert variable in refable, f"{name}: Sub ${{{variable}}}"
    for logical_id, body in doc["Resources"].items():
        for target in body.get("DependsOn", []):
            assert target in resources, f"{name}: {logical_id} depends on unknown {target}"


def check_rule_descriptions(docs: Mapping[str, Json]) -> None:
    for name, doc in docs.items():
        for logical_id, body in doc["Resources"].items():
            rules: list[Json] = []
            if body["Type"] == "AWS::EC2::SecurityGroup":
                rules += props(body).get("SecurityGroupIngress", [])
                rules += props(body).get("SecurityGroupEgress", [])
            elif body["Type"] in (
                "AWS::EC2::SecurityGroupIngress",
                "AWS::EC2::SecurityGroupEgress",
            ):
                rules.append(props(body))
            for rule in rules:
                description = rule.get("Description")
                assert isinstance(description, str), f"{name}: {logical_id} rule {rule}"
                assert description.strip(), f"{name}: {logical_id} rule {rule}"


def check_log_groups(docs: Mapping[str, Json]) -> None:
    found = 0
    for name, doc in docs.items():
        for logical_id, body in of_type(doc, "AWS::Logs::LogGroup").items():
            found += 1
            retention = props(body).get("RetentionInDays")
            assert retention in LOG_RETENTION_DAYS, f"{name}: {logical_id} retention {retention}"
            for key, value in RETAIN.items():
                assert body.get(key) == value, f"{name}: {logical_id} {key}"
    assert found >= 2  # the tasks' logs and the default-SG lockdown function's logs


def user_arns(config: Config) -> list[str]:
    arns = list(config.service.secrets.values())
    if config.load_balancer.certificate_arn:
        arns.append(config.load_balancer.certificate_arn)
    return arns


def check_partition_aware(config: Config, docs: Mapping[str, Json]) -> None:
    """No hard-coded 'arn:aws:': only the user's own ARNs (or a prefix of one) may hold it."""
    allowed = user_arns(config)
    for name, doc in docs.items():
        for text in iter_strings(doc):
            if "arn:aws:" not in text:
                continue
            stem = text.removesuffix("*")
            assert any(arn.startswith(stem) for arn in allowed), (
                f"{name}: hard-coded partition in {text!r}"
            )


def az_index(subnet: Json) -> int:
    select = props(subnet)["AvailabilityZone"]["Fn::Select"]
    index = select[0]
    assert isinstance(index, int)
    return index


def check_vpc(config: Config, vpc: Json) -> None:
    net = config.network
    _, vpc_body = only(vpc, "AWS::EC2::VPC")
    assert props(vpc_body)["CidrBlock"] == str(net.cidr)
    igw, _ = only(vpc, "AWS::EC2::InternetGateway")
    subnets = of_type(vpc, "AWS::EC2::Subnet")
    assert len(subnets) == 2 * net.az_count
    for logical_id, subnet_body in subnets.items():
        assert props(subnet_body).get("MapPublicIpOnLaunch", False) is False, logical_id
        assert props(subnet_body)["VpcId"] == {"Ref": "VPC"}

    table_of: dict[str, str] = {}
    for body in of_type(vpc, "AWS::EC2::SubnetRouteTableAssociation").values():
        associated = ref_target(props(body)["SubnetId"])
        assert associated not in table_of, f"{associated} associated twice"
        table_of[associated] = ref_target(props(body)["RouteTableId"])
    assert set(table_of) == set(subnets)
    default_route: dict[str, Json] = {}
    for body in of_type(vpc, "AWS::EC2::Route").values():
        if props(body).get("DestinationCidrBlock") == ANYWHERE:
            table = ref_target(props(body)["RouteTableId"])
            assert table not in default_route, f"{table} has two default routes"
            default_route[table] = props(body)

    def routes_to_igw(subnet: str) -> bool:
        route = default_route.get(table_of[subnet], {})
        return route.get("GatewayId") == {"Ref": igw}

    public = sorted((s for s in subnets if routes_to_igw(s)), key=lambda s: az_index(subnets[s]))
    private = sorted(
        (s for s in subnets if not routes_to_igw(s)), key=lambda s: az_index(subnets[s])
    )
    assert [az_index(subnets[s]) for s in public] == list(range(net.az_count))
    assert [az_index(subnets[s]) for s in private] == list(range(net.az_count))
    plan = net.subnet_plan()
    assert [props(subnets[s])["CidrBlock"] for s in public] == [str(n) for n in plan.public]
    assert [props(subnets[s])["CidrBlock"] for s in private] == [str(n) for n in plan.private]
    ranges = [IPv4Network(props(s)["CidrBlock"]) for s in subnets.values()]
    for i, a in enumerate(ranges):
        assert a.subnet_of(net.cidr), f"{a} outside {net.cidr}"
        for b in ranges[i + 1 :]:
            assert not a.overlaps(b), f"{a} overlaps {b}"

    nats = of_type(vpc, "AWS::EC2::NatGateway")
    eips = of_type(vpc, "AWS::EC2::EIP")
    expected_nats = {NatMode.PER_AZ: net.az_count, NatMode.SINGLE: 1, NatMode.NONE: 0}[net.nat]
    assert len(nats) == expected_nats
    assert len(eips) == expected_nats
    nat_az: dict[str, int] = {}
    used_eips = []
    for logical_id, nat_body in nats.items():
        home = ref_target(props(nat_body)["SubnetId"])
        assert home in public, f"{logical_id} is in {home}, not in a public subnet"
        nat_az[logical_id] = az_index(subnets[home])
        allocation = props(nat_body)["AllocationId"]["Fn::GetAtt"]
        assert allocation[1] == "AllocationId" and allocation[0] in eips
        used_eips.append(allocation[0])
    assert sorted(used_eips) == sorted(eips), "each NAT gateway needs its own EIP"
    assert len(set(nat_az.values())) == len(nats), "two NAT gateways in one AZ"
    for logical_id, eip in eips.items():
        for key, value in RETAIN.items():
            assert eip.get(key) == value, f"{logical_id} {key}"

    for subnet in private:
        route = default_route.get(table_of[subnet])
        if net.nat is NatMode.NONE:
            assert route is None, f"{subnet} has a default route with nat = none: {route}"
            continue
        assert route is not None, f"{subnet} has no default route"
        assert "GatewayId" not in route, f"{subnet} routes straight to the internet gateway"
        nat = ref_target(route["NatGatewayId"])
        if net.nat is NatMode.PER_AZ:
            assert nat_az[nat] == az_index(subnets[subnet]), f"{subnet} uses another AZ's NAT"
        else:
            assert nat == "NatGatewayOne"
    for table in {table_of[s] for s in private}:
        assert table not in {table_of[s] for s in public}

    flow_logs = of_type(vpc, "AWS::EC2::FlowLog")
    if net.flow_logs:
        assert len(flow_logs) == 1
        flow_log = props(next(iter(flow_logs.values())))
        assert flow_log["ResourceId"] == {"Ref": "VPC"}
        assert flow_log["TrafficType"] == "ALL"
    else:
        assert not flow_logs
    _, lockdown = only(vpc, "Custom::RestrictDefaultSecurityGroup")
    assert props(lockdown)["GroupId"] == {"Fn::GetAtt": ["VPC", "DefaultSecurityGroup"]}

    endpoints = of_type(vpc, "AWS::EC2::VPCEndpoint")
    services = sorted(
        props(e)["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1] for e in endpoints.values()
    )
    if net.vpc_endpoints:
        assert {"s3", "api", "dkr", "logs"} <= set(services), services
        if config.service.secrets:
            assert {"secretsmanager", "ssm"} <= set(services), services
    else:
        assert not endpoints
    if net.nat is NatMode.NONE:
        assert endpoints, "nat = none needs VPC endpoints"

    outputs = vpc["Outputs"]
    joined = {
        key: [ref_target(v) for v in outputs[key]["Value"]["Fn::Join"][1]]
        for key in ("PublicSubnetIds", "PrivateSubnetIds")
    }
    assert joined["PublicSubnetIds"] == public
    assert joined["PrivateSubnetIds"] == private
    if expected_nats:
        egress = [ref_target(v) for v in outputs["NatEgressIps"]["Value"]["Fn::Join"][1]]
        assert sorted(egress) == sorted(eips)
    else:
        assert "NatEgressIps" not in outputs


def check_cluster(config: Config, cluster: Json) -> None:
    _, body = only(cluster, "AWS::ECS::Cluster")
    insights = "enabled" if config.service.container_insights else "disabled"
    assert {"Name": "containerInsights", "Value": insights} in props(body)["ClusterSettings"]
    if config.service.spot:
        assert "FARGATE_SPOT" in props(body)["CapacityProviders"]
    assert {"ClusterName", "ECSTaskExecutionRole"} <= set(cluster["Outputs"])


def check_service_placement(config: Config, service: Json) -> None:
    _, svc = ecs_service(service)
    awsvpc = svc["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert awsvpc["AssignPublicIp"] == "DISABLED"
    assert awsvpc["Subnets"] == {"Ref": "PrivateSubnetIds"}
    _, lb = load_balancer(service)
    assert lb["Scheme"] == "internet-facing"
    assert lb["Type"] == "application"
    assert lb["Subnets"] == {"Ref": "PublicSubnetIds"}
    tg_id, tg = target_group(service)
    assert tg["TargetType"] == "ip"
    assert tg["Port"] == {"Ref": "ContainerPort"}
    (target,) = svc["LoadBalancers"]
    # A traffic-shifting deployment's AdvancedConfiguration: test_synth_deployment.py.
    assert {k: v for k, v in target.items() if k != "AdvancedConfiguration"} == {
        "ContainerName": {"Ref": "ServiceName"},
        "ContainerPort": {"Ref": "ContainerPort"},
        "TargetGroupArn": {"Ref": tg_id},
    }
    assert ("AdvancedConfiguration" in target) is config.deployment.shifts_traffic
    parameters = service["Parameters"]
    assert parameters["ContainerPort"]["Default"] == config.service.port
    assert parameters["DesiredCount"]["Default"] == config.service.desired_count
    assert parameters["ServiceName"]["Default"] == config.service.name
    assert parameters["ImageUrl"]["Default"] == config.service.image
    assert parameters["ContainerCpu"]["Default"] == config.service.cpu
    assert parameters["ContainerMemory"]["Default"] == config.service.memory
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == str(config.load_balancer.idle_timeout)


def check_security_groups(config: Config, service: Json) -> None:
    _, svc = ecs_service(service)
    _, lb = load_balancer(service)
    (lb_sg,) = (ref_target(g) for g in lb["SecurityGroups"])
    (task_sg,) = (
        ref_target(g) for g in svc["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    )
    assert lb_sg != task_sg
    for group in (lb_sg, task_sg):
        assert service["Resources"][group]["Type"] == "AWS::EC2::SecurityGroup"

    ranges = listener_ranges(config)
    ingress = security_group_rules(service, lb_sg, "Ingress")
    for rule in ingress:
        assert rule["IpProtocol"] == "tcp", rule
        assert rule["FromPort"] == rule["ToPort"], rule
        assert (rule["FromPort"], rule.get("CidrIp")) in ranges, rule
    assert {(r["FromPort"], r["CidrIp"]) for r in ingress} == ranges
    assert len(ingress) == len(ranges)

    to_tasks = 0
    for rule in security_group_rules(service, lb_sg, "Egress"):
        if is_no_egress_placeholder(rule):
            continue
        assert rule["IpProtocol"] == "tcp", rule
        assert rule["FromPort"] == rule["ToPort"] == {"Ref": "ContainerPort"}, rule
        assert rule.get("DestinationSecurityGroupId") == {"Ref": task_sg}, rule
        assert "CidrIp" not in rule, rule
        to_tasks += 1
    assert to_tasks == 1, "the load balancer must reach the tasks' container port"

    task_ingress = security_group_rules(service, task_sg, "Ingress")
    assert task_ingress, "the tasks must accept the load balancer's traffic"
    for rule in task_ingress:
        assert "CidrIp" not in rule and "CidrIpv6" not in rule, rule
        assert rule["IpProtocol"] == "tcp", rule
        assert rule["FromPort"] == rule["ToPort"] == {"Ref": "ContainerPort"}, rule
        assert rule.get("SourceSecurityGroupId") == {"Ref": lb_sg}, rule
    assert "SecurityGroupIngress" not in props(service["Resources"][task_sg])

    task_egress = security_group_rules(service, task_sg, "Egress")
    if config.network.nat is NatMode.NONE:
        for rule in task_egress:
            assert rule["IpProtocol"] == "tcp" and rule["FromPort"] == rule["ToPort"] == 443


def check_listeners(config: Config, service: Json) -> None:
    lb_config = config.load_balancer
    lb_id, _ = load_balancer(service)
    tg_id, _ = target_group(service)
    listeners = {
        props(b)["Port"]: props(b)
        for b in of_type(service, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    test_port = config.deployment.test_listener_port
    assert set(listeners) == listener_ports(config) | ({test_port} if test_port else set())
    forward: list[Json] = [{"Type": "forward", "TargetGroupArn": {"Ref": tg_id}}]
    if config.deployment.shifts_traffic:
        # The production listener rule forwards, and the default action alike (weights 100/0
        # that ECS moves on the rule): test_synth_deployment.py checks the rest.
        (action,) = listeners[lb_config.https_port if lb_config.https else lb_config.http_port][
            "DefaultActions"
        ]
        weights = action["ForwardConfig"]["TargetGroups"]
        assert weights[0] == {"TargetGroupArn": {"Ref": tg_id}, "Weight": 100}
        forward = [action]
    for listener in listeners.values():
        assert listener["LoadBalancerArn"] == {"Ref": lb_id}
    http = listeners[lb_config.http_port]
    assert http["Protocol"] == "HTTP"
    if lb_config.https:
        https = listeners[lb_config.https_port]
        assert https["Protocol"] == "HTTPS"
        assert https["SslPolicy"] == lb_config.ssl_policy
        assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS")
        # A domain without certificate_arn: the stack's own certificate.
        certificate = (
            {"Ref": "Certificate"} if lb_config.creates_certificate else lb_config.certificate_arn
        )
        assert https["Certificates"] == [{"CertificateArn": certificate}]
        assert https["DefaultActions"] == forward
        (action,) = http["DefaultActions"]
        assert action["Type"] == "redirect"
        redirect = action["RedirectConfig"]
        assert redirect["Protocol"] == "HTTPS"
        assert redirect["StatusCode"] == "HTTP_301"
        assert redirect["Port"] == str(lb_config.https_port)
    else:
        assert http["DefaultActions"] == forward
    _, svc_body = only(service, "AWS::ECS::Service")
    listener_ids = set(of_type(service, "AWS::ElasticLoadBalancingV2::Listener"))
    waited = set(svc_body.get("DependsOn", []))
    # A listener rule the service names (AdvancedConfiguration) orders it after the rule's
    # listener as well.
    advanced = props(svc_body)["LoadBalancers"][0].get("AdvancedConfiguration", {})
    for key in ("ProductionListenerRule", "TestListenerRule"):
        if key in advanced:
            rule = service["Resources"][ref_target(advanced[key])]
            waited.add(ref_target(props(rule)["ListenerArn"]))
    assert listener_ids <= waited, "the service must wait for its listeners"


def check_deployment(config: Config, service: Json) -> None:
    svc_config = config.service
    _, svc = ecs_service(service)
    deployment = svc["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200
    assert svc["HealthCheckGracePeriodSeconds"] == svc_config.health_check_grace_period
    _, tg = target_group(service)
    assert tg["UnhealthyThresholdCount"] == svc_config.unhealthy_threshold
    assert tg["HealthyThresholdCount"] == svc_config.healthy_threshold
    assert tg["HealthCheckIntervalSeconds"] == svc_config.health_check_interval
    assert tg["HealthCheckTimeoutSeconds"] < tg["HealthCheckIntervalSeconds"]
    assert tg["HealthCheckPath"] == svc_config.health_check_path
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    delay = int(attributes["deregistration_delay.timeout_seconds"])
    assert delay == svc_config.deregistration_delay
    stop_timeout = container_of(service)["StopTimeout"]
    assert stop_timeout == svc_config.stop_timeout
    assert delay < stop_timeout, (
        f"deregistration delay {delay} s is not shorter than StopTimeout {stop_timeout} s"
    )
    assert delay >= config.load_balancer.idle_timeout


def expected_read_only_root(config: Config) -> bool:
    setting = config.service.read_only_root_filesystem
    if isinstance(setting, bool):
        return setting
    repository = config.service.image.split("@", 1)[0].rsplit(":", 1)[0]
    return repository not in ROOT_WRITABLE_REPOSITORIES


def check_container(config: Config, service: Json) -> None:
    svc_config = config.service
    _, task = only(service, "AWS::ECS::TaskDefinition")
    task_props = props(task)
    container = container_of(service)
    assert container["Image"] == {"Ref": "ImageUrl"}
    assert container["PortMappings"][0]["ContainerPort"] == {"Ref": "ContainerPort"}
    assert task_props["NetworkMode"] == "awsvpc"
    assert task_props["RequiresCompatibilities"] == ["FARGATE"]
    assert task_props["RuntimePlatform"]["CpuArchitecture"] == svc_config.platform.value
    assert task_props["Cpu"] == {"Ref": "ContainerCpu"}
    assert task_props["Memory"] == {"Ref": "ContainerMemory"}

    task_role = task_props["TaskRoleArn"]
    execution_role = task_props["ExecutionRoleArn"]
    assert task_role != execution_role
    assert task_role == {"Fn::GetAtt": [task_role["Fn::GetAtt"][0], "Arn"]}
    assert service["Resources"][task_role["Fn::GetAtt"][0]]["Type"] == "AWS::IAM::Role"
    assert "${ECSTaskExecutionRole}" in execution_role["Fn::Sub"]

    logs = container["LogConfiguration"]
    assert logs["LogDriver"] == "awslogs"
    log_group = ref_target(logs["Options"]["awslogs-group"])
    assert service["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert (
        props(service["Resources"][log_group])["RetentionInDays"] == svc_config.log_retention_days
    )

    read_only = expected_read_only_root(config)
    assert container["ReadonlyRootFilesystem"] is read_only
    if read_only:
        mounts = {m["ContainerPath"]: m for m in container["MountPoints"]}
        assert mounts["/tmp"]["ReadOnly"] is False
        volumes = {v["Name"] for v in task_props["Volumes"]}
        assert mounts["/tmp"]["SourceVolume"] in volumes
    if svc_config.user:
        assert container["User"] == svc_config.user
    else:
        assert "User" not in container
    if svc_config.command:
        assert container["Command"] == list(svc_config.command)
    environment = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
    assert environment == svc_config.environment
    secrets = {s["Name"]: s["ValueFrom"] for s in container.get("Secrets", [])}
    assert secrets == svc_config.secrets


def check_capacity(config: Config, service: Json) -> None:
    spot = config.service.spot
    _, svc = ecs_service(service)
    if spot == 0:
        assert svc["LaunchType"] == "FARGATE"
        assert "CapacityProviderStrategy" not in svc
        return
    assert "LaunchType" not in svc, "LaunchType and a capacity provider strategy exclude each other"
    strategy = svc["CapacityProviderStrategy"]
    weights = {"FARGATE": 0, "FARGATE_SPOT": 0}
    for item in strategy:
        assert item["CapacityProvider"] in weights
        weights[item["CapacityProvider"]] += item["Weight"]
    assert weights["FARGATE_SPOT"] * 100 == spot * (weights["FARGATE"] + weights["FARGATE_SPOT"])
    if spot < 100:
        bases = [item.get("Base", 0) for item in strategy if item["CapacityProvider"] == "FARGATE"]
        assert bases and bases[0] >= 1, "one on-demand task is kept below 100 % Spot"


def check_autoscaling(config: Config, service: Json) -> None:
    scaling = config.autoscaling
    targets = of_type(service, "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = of_type(service, "AWS::ApplicationAutoScaling::ScalingPolicy")
    if scaling is None:
        assert not targets and not policies
        return
    service_id, _ = ecs_service(service)
    lb_id, _ = load_balancer(service)
    tg_id, _ = target_group(service)
    target_id, target = only(service, "AWS::ApplicationAutoScaling::ScalableTarget")
    target_props = props(target)
    assert target_props["ServiceNamespace"] == "ecs"
    assert target_props["ScalableDimension"] == "ecs:service:DesiredCount"
    assert target_props["ResourceId"] == {
        "Fn::Sub": f"service/${{ClusterName}}/${{{service_id}.Name}}"
    }
    assert target_props["MinCapacity"] == scaling.min
    assert target_props["MaxCapacity"] == scaling.max
    by_metric: dict[str, Json] = {}
    for body in policies.values():
        policy = props(body)
        assert policy["PolicyType"] == "TargetTrackingScaling"
        assert policy["ScalingTargetId"] == {"Ref": target_id}
        tracking = policy["TargetTrackingScalingPolicyConfiguration"]
        metric = tracking["PredefinedMetricSpecification"]
        by_metric[metric["PredefinedMetricType"]] = tracking
    expected = set()
    if scaling.cpu_target is not None:
        expected.add("ECSServiceAverageCPUUtilization")
        cpu = by_metric["ECSServiceAverageCPUUtilization"]
        assert cpu["TargetValue"] == scaling.cpu_target
        assert "ResourceLabel" not in cpu["PredefinedMetricSpecification"]
    if scaling.requests_per_target is not None:
        expected.add("ALBRequestCountPerTarget")
        requests = by_metric["ALBRequestCountPerTarget"]
        assert requests["TargetValue"] == scaling.requests_per_target
        # app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>
        assert requests["PredefinedMetricSpecification"]["ResourceLabel"] == {
            "Fn::Sub": f"${{{lb_id}.LoadBalancerFullName}}/${{{tg_id}.TargetGroupFullName}}"
        }
    assert set(by_metric) == expected
    for tracking in by_metric.values():
        assert tracking["ScaleInCooldown"] == scaling.scale_in_cooldown
        assert tracking["ScaleOutCooldown"] == scaling.scale_out_cooldown


def check_parent(config: Config, docs: Mapping[str, Json]) -> None:
    parent = docs["parent.yml"]
    assert parent["Transform"] == "AWS::Serverless-2016-10-31"
    apps = of_type(parent, "AWS::Serverless::Application")
    assert len(apps) == len(parent["Resources"]) == 3
    location = {lid: props(body)["Location"] for lid, body in apps.items()}
    assert sorted(location.values()) == ["cluster.yml", "service.yml", "vpc.yml"]
    stack_of = {file: lid for lid, file in location.items()}

    def check_output_ref(value: Any) -> None:
        stack, attribute = value["Fn::GetAtt"]
        assert attribute.startswith("Outputs."), attribute
        child = docs[location[stack]]
        assert attribute.removeprefix("Outputs.") in child.get("Outputs", {}), (
            f"parent reads {attribute} that {location[stack]} does not output"
        )

    service_stack = props(apps[stack_of["service.yml"]])
    given = service_stack["Parameters"]
    service_parameters = docs["service.yml"]["Parameters"]
    assert set(given) <= set(service_parameters)
    required = {k for k, v in service_parameters.items() if "Default" not in v}
    assert required <= set(given), f"parent does not pass {required - set(given)}"
    for value in given.values():
        if "Ref" in value:  # a value `deploy` supplies (the hosted zone): the parent's own
            assert value["Ref"] in parent.get("Parameters", {}), value
        else:
            check_output_ref(value)
    for stack in (stack_of["vpc.yml"], stack_of["cluster.yml"]):
        assert "Parameters" not in props(apps[stack])

    outputs = parent["Outputs"]
    for output in outputs.values():
        check_output_ref(output["Value"])
    assert {"ServiceUrl", "ClusterName", "ServiceName", "LogGroupName"} <= set(outputs)
    assert ("NatEgressIps" in outputs) is (config.network.nat is not NatMode.NONE)
    service_outputs = docs["service.yml"]["Outputs"]
    lb = config.load_balancer
    scheme, port = ("https", lb.https_port) if lb.https else ("http", lb.http_port)
    suffix = "" if port == {"https": 443, "http": 80}[scheme] else f":{port}"
    lb_id, _ = load_balancer(docs["service.yml"])
    url = service_outputs["ServiceUrl"]["Value"]
    if lb.domain is not None:
        assert url == f"https://{lb.domain}{suffix}"
    else:
        assert url == {"Fn::Sub": f"{scheme}://${{{lb_id}.DNSName}}{suffix}"}
