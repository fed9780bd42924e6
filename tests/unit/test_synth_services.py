"""[[services]]: the shared load balancer's stack, one stack per service, and their wiring.

What one [service] writes is pinned byte for byte by the goldens; these tests state what
the multi-service layout promises: which files, which parameters each stack takes, which
security group rules exist (and that none exists between services unless allow_from asks
for it), how each service's listener rule matches, and how parent.yml wires it all.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from fargate_api.config import Config, parse_config
from fargate_api.synth import TEMPLATE_FILES, synthesize, template_files
from fargate_api.synth.accepted_risks import accepted_risks
from fargate_api.synth.naming import camel, service_file, service_stack_id
from unit.support import Json, check_references, of_type, only, props, synth_dicts
from unit.variants import SERVICES_VARIANTS

INGRESS = "AWS::EC2::SecurityGroupIngress"
EGRESS = "AWS::EC2::SecurityGroupEgress"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
APPLICATION = "AWS::Serverless::Application"
# A config key of [[services]] (services[0].image) or any other section's, as the accepted
# risks' reasons must name one (test_accepted_risks.py holds the same pattern).
NAMES_A_KEY = re.compile(
    r"\b(network|services?(\[\d+\])?|load_balancer|autoscaling|deployment)\.[a-z_]+"
    r"|(?i:no config key)"
)


def _config(name: str) -> Config:
    return parse_config(SERVICES_VARIANTS[name], source=f"{name}.toml")


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Json]]:
    """Every SERVICES_VARIANTS entry, synthesized once."""
    return {name: synth_dicts(_config(name)) for name in SERVICES_VARIANTS}


def _get_att(stack: str, output: str) -> Json:
    return {"Fn::GetAtt": [stack, f"Outputs.{output}"]}


def _ref(name: str) -> Json:
    return {"Ref": name}


# --- files ---------------------------------------------------------------------------


def test_one_service_keeps_the_reference_files() -> None:
    assert template_files(Config()) == TEMPLATE_FILES
    assert list(synthesize(Config())) == list(TEMPLATE_FILES)


@pytest.mark.parametrize("name", sorted(SERVICES_VARIANTS))
def test_files_are_the_shared_layout_in_config_order(name: str) -> None:
    config = _config(name)
    built = any(svc.build is not None for svc in config.services)
    expected = [
        "vpc.yml",
        "cluster.yml",
        *(["repository.yml"] if built else []),
        "load-balancer.yml",
        *(f"service-{svc.name}.yml" for svc in config.services),
        "parent.yml",
    ]
    assert list(template_files(config)) == expected
    assert list(synthesize(config)) == expected


@pytest.mark.parametrize("name", sorted(SERVICES_VARIANTS))
def test_every_reference_resolves(docs: dict[str, dict[str, Json]], name: str) -> None:
    for file_name, doc in docs[name].items():
        check_references(file_name, doc)


def test_logical_id_form() -> None:
    assert camel("api") == "Api"
    assert camel("api-v2") == "ApiV2"
    assert service_file("api-v2") == "service-api-v2.yml"
    assert service_stack_id("api-v2") == "ServiceApiV2Stack"


def test_names_with_one_logical_id_form_are_refused() -> None:
    text = (
        '[[services]]\nname = "api-2"\npaths = ["/a/*"]\n'
        '[[services]]\nname = "api2"\npaths = ["/*"]\n'
    )
    with pytest.raises(Exception, match="both become 'Api2'"):
        parse_config(text, source="t.toml")


# --- one stack per service -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES_VARIANTS))
def test_each_service_stack_runs_one_service_and_no_load_balancer(
    docs: dict[str, dict[str, Json]], name: str
) -> None:
    config = _config(name)
    for svc in config.services:
        doc = docs[name][service_file(svc.name)]
        only(doc, "AWS::ECS::Service")
        only(doc, "AWS::ECS::TaskDefinition")
        for absent in (
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            LISTENER,
            "AWS::EC2::SecurityGroup",
            INGRESS,
            EGRESS,
        ):
            assert not of_type(doc, absent), f"{svc.name}: {absent} belongs in load-balancer.yml"
        assert doc["Parameters"]["ServiceName"]["Default"] == svc.name
        assert doc["Parameters"]["ContainerPort"]["Default"] == svc.port
        assert doc["Parameters"]["DesiredCount"]["Default"] == svc.desired_count
        _, service = only(doc, "AWS::ECS::Service")
        network = props(service)["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["SecurityGroups"] == [_ref("ServiceSecurityGroupId")]
        assert network["AssignPublicIp"] == "DISABLED"
        assert doc["Outputs"]["ServiceSecurityGroupId"]["Value"] == _ref("ServiceSecurityGroupId")


def test_service_stack_parameters(docs: dict[str, dict[str, Json]]) -> None:
    api = docs["services"]["service-api.yml"]
    assert list(api["Parameters"]) == [
        "VpcId",
        "PrivateSubnetIds",
        "ClusterName",
        "ECSTaskExecutionRole",
        "ListenerArn",
        "LoadBalancerFullName",  # scaling on requests per target names the load balancer
        "ServiceSecurityGroupId",
        "ServiceName",
        "ImageUrl",
        "ContainerCpu",
        "ContainerMemory",
        "ContainerPort",
        "DesiredCount",
    ]
    # web neither scales on requests nor has alarms: no metric names its load balancer.
    assert "LoadBalancerFullName" not in docs["services"]["service-web.yml"]["Parameters"]
    canary = docs["services-canary"]["service-web.yml"]["Parameters"]
    assert {"TestListenerArn", "LoadBalancerFullName"} <= set(canary)


def test_built_services_take_their_repository_and_digest(
    docs: dict[str, dict[str, Json]],
) -> None:
    for name in ("api", "worker"):
        doc = docs["services-built-no-nat"][f"service-{name}.yml"]
        assert "ImageUrl" not in doc["Parameters"]
        assert {"ImageRepositoryUri", "ImageDigest"} <= set(doc["Parameters"])
        task = props(only(doc, "AWS::ECS::TaskDefinition")[1])
        image = task["ContainerDefinitions"][0]["Image"]
        assert image == {"Fn::Sub": "${ImageRepositoryUri}@${ImageDigest}"}


# --- security groups -----------------------------------------------------------------


def _ingress(doc: Json) -> set[tuple[str, str, Any]]:
    """(group, source group, port) of every standalone ingress rule."""
    rules = set()
    for body in of_type(doc, INGRESS).values():
        p = props(body)
        assert p["FromPort"] == p["ToPort"] and p["IpProtocol"] == "tcp", p
        assert "CidrIp" not in p, p
        rules.add((p["GroupId"]["Ref"], p["SourceSecurityGroupId"]["Ref"], p["FromPort"]))
    return rules


def _egress(doc: Json) -> set[tuple[str, str, Any]]:
    return {
        (
            props(b)["GroupId"]["Ref"],
            props(b)["DestinationSecurityGroupId"]["Ref"],
            props(b)["FromPort"],
        )
        for b in of_type(doc, EGRESS).values()
    }


def test_only_the_load_balancer_and_allow_from_reach_a_service(
    docs: dict[str, dict[str, Json]],
) -> None:
    lb = docs["services"]["load-balancer.yml"]
    assert _ingress(lb) == {
        ("ApiServiceSecurityGroup", "PublicLoadBalancerSG", 80),
        ("WebServiceSecurityGroup", "PublicLoadBalancerSG", 8080),
        # web allows api; nothing lets web's tasks reach api (the default denial).
        ("WebServiceSecurityGroup", "ApiServiceSecurityGroup", 8080),
    }
    assert "ApiIngressFromWeb" not in lb["Resources"]
    assert props(lb["Resources"]["WebIngressFromApi"])["Description"].endswith("(allow_from)")
    # The load balancer sends to each service's port; with NAT the tasks' own egress is
    # open, so allow_from needs no egress rule.
    assert _egress(lb) == {
        ("PublicLoadBalancerSG", "ApiServiceSecurityGroup", 80),
        ("PublicLoadBalancerSG", "WebServiceSecurityGroup", 8080),
    }
    groups = of_type(lb, "AWS::EC2::SecurityGroup")
    assert set(groups) == {
        "PublicLoadBalancerSG",
        "ApiServiceSecurityGroup",
        "WebServiceSecurityGroup",
    }
    for group in ("ApiServiceSecurityGroup", "WebServiceSecurityGroup"):
        assert "SecurityGroupIngress" not in props(groups[group])


def test_without_nat_the_caller_gets_an_egress_rule_for_allow_from(
    docs: dict[str, dict[str, Json]],
) -> None:
    lb = docs["services-built-no-nat"]["load-balancer.yml"]
    assert {
        ("ApiServiceSecurityGroup", "WorkerServiceSecurityGroup", 8080),
        ("WorkerServiceSecurityGroup", "ApiServiceSecurityGroup", 80),
    } <= _egress(lb)
    assert set(of_type(lb, EGRESS)) == {
        "LoadBalancerEgressToApi",
        "WorkerEgressToApi",
        "LoadBalancerEgressToWorker",
        "ApiEgressToWorker",
    }
    for group in ("ApiServiceSecurityGroup", "WorkerServiceSecurityGroup"):
        (egress,) = props(lb["Resources"][group])["SecurityGroupEgress"]
        assert (egress["IpProtocol"], egress["FromPort"]) == ("tcp", 443)


def test_no_service_stack_reads_another_services_group(
    docs: dict[str, dict[str, Json]],
) -> None:
    """allow_from lives in load-balancer.yml: mutual permissions make no stack cycle."""
    parent = docs["services-built-no-nat"]["parent.yml"]
    for name in ("api", "worker"):
        wiring = props(parent["Resources"][service_stack_id(name)])["Parameters"]
        own = _get_att("LoadBalancerStack", f"{camel(name)}SecurityGroupId")
        assert wiring["ServiceSecurityGroupId"] == own
        stacks_read = {v["Fn::GetAtt"][0] for v in wiring.values() if "Fn::GetAtt" in v}
        assert not {s for s in stacks_read if s.startswith("Service")}, stacks_read


# --- the shared load balancer -------------------------------------------------------


def test_load_balancer_stack(docs: dict[str, dict[str, Json]]) -> None:
    lb = docs["services"]["load-balancer.yml"]
    assert list(lb["Parameters"]) == ["VpcId", "PublicSubnetIds"]
    listeners = of_type(lb, LISTENER)
    assert set(listeners) == {"PublicLoadBalancerListener"}
    (action,) = props(listeners["PublicLoadBalancerListener"])["DefaultActions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "404"
    assert list(lb["Outputs"]) == [
        "LoadBalancerArn",
        "LoadBalancerFullName",
        "LoadBalancerDNSName",
        "ServiceUrl",
        "ListenerArn",
        "ApiSecurityGroupId",
        "WebSecurityGroupId",
        "LoadBalancerSecurityGroupId",
    ]
    assert lb["Outputs"]["ListenerArn"]["Value"] == _ref("PublicLoadBalancerListener")


def test_https_listeners_and_the_test_listener(docs: dict[str, dict[str, Json]]) -> None:
    lb = docs["services-https-hosts"]["load-balancer.yml"]
    listeners = {lid: props(body) for lid, body in of_type(lb, LISTENER).items()}
    assert set(listeners) == {
        "PublicLoadBalancerListener",
        "PublicLoadBalancerHttpsListener",
        "TestListener",
    }
    assert listeners["PublicLoadBalancerListener"]["DefaultActions"][0]["Type"] == "redirect"
    for lid in ("PublicLoadBalancerHttpsListener", "TestListener"):
        assert listeners[lid]["Protocol"] == "HTTPS"
        assert listeners[lid]["DefaultActions"][0]["Type"] == "fixed-response"
        assert listeners[lid]["Certificates"] == [
            {"CertificateArn": _config("services-https-hosts").load_balancer.certificate_arn}
        ]
    assert listeners["TestListener"]["Port"] == 8443
    outputs = lb["Outputs"]
    assert outputs["ListenerArn"]["Value"] == _ref("PublicLoadBalancerHttpsListener")
    assert outputs["TestListenerArn"]["Value"] == _ref("TestListener")
    assert outputs["ServiceUrl"]["Value"] == {"Fn::Sub": "https://${PublicLoadBalancer.DNSName}"}
    ingress = props(lb["Resources"]["PublicLoadBalancerSG"])["SecurityGroupIngress"]
    assert {(r["FromPort"], r["CidrIp"]) for r in ingress} == {
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
        (8443, "203.0.113.0/24"),
    }


# --- listener rules -----------------------------------------------------------------


def _rules(doc: Json) -> dict[str, Json]:
    return {lid: props(body) for lid, body in of_type(doc, RULE).items()}


def test_rolling_services_forward_through_their_own_rule(
    docs: dict[str, dict[str, Json]],
) -> None:
    expected = {"api": (10, ["/api/*"]), "web": (20, ["/*"])}
    for name, (priority, paths) in expected.items():
        doc = docs["services"][f"service-{name}.yml"]
        rules = _rules(doc)
        assert set(rules) == {"ServiceListenerRule"}
        rule = rules["ServiceListenerRule"]
        assert rule["ListenerArn"] == _ref("ListenerArn")
        assert rule["Priority"] == priority
        assert rule["Conditions"] == [
            {"Field": "path-pattern", "PathPatternConfig": {"Values": paths}}
        ]
        assert rule["Actions"] == [
            {"Type": "forward", "TargetGroupArn": _ref("ServiceTargetGroup")}
        ]
        service = doc["Resources"]["Service"]
        # The target group joins the load balancer through the rule, before the service.
        assert service["DependsOn"] == ["ServiceListenerRule"]


def test_host_conditions_and_an_own_priority(docs: dict[str, dict[str, Json]]) -> None:
    api = _rules(docs["services-https-hosts"]["service-api-v2.yml"])
    docs_rules = _rules(docs["services-https-hosts"]["service-docs.yml"])
    assert api["ProductionListenerRule"]["Priority"] == 5
    assert api["ProductionListenerRule"]["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v2/*", "/v2"]}},
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
    ]
    assert docs_rules["ProductionListenerRule"]["Priority"] == 20
    assert docs_rules["ProductionListenerRule"]["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["docs.example.com"]}}
    ]


def test_traffic_shifting_rules_on_the_shared_listeners(
    docs: dict[str, dict[str, Json]],
) -> None:
    for name, priority in (("api", 10), ("web", 20)):
        doc = docs["services-canary"][f"service-{name}.yml"]
        rules = _rules(doc)
        assert set(rules) == {"ProductionListenerRule", "TestListenerRule"}
        production, test = rules["ProductionListenerRule"], rules["TestListenerRule"]
        assert production["ListenerArn"] == _ref("ListenerArn")
        assert test["ListenerArn"] == _ref("TestListenerArn")
        assert production["Priority"] == test["Priority"] == priority
        assert production["Conditions"] == test["Conditions"]
        weights = production["Actions"][0]["ForwardConfig"]["TargetGroups"]
        assert [w["Weight"] for w in weights] == [100, 0]
        assert not of_type(doc, LISTENER), "the test listener is load-balancer.yml's"
        advanced = props(doc["Resources"]["Service"])["LoadBalancers"][0]["AdvancedConfiguration"]
        assert advanced["ProductionListenerRule"] == _ref("ProductionListenerRule")
        assert advanced["TestListenerRule"] == _ref("TestListenerRule")
        assert "DependsOn" not in doc["Resources"]["Service"]  # it names its rules itself


def test_the_infrastructure_role_names_the_shared_listeners(
    docs: dict[str, dict[str, Json]],
) -> None:
    role = props(docs["services-canary"]["service-api.yml"]["Resources"]["ECSInfrastructureRole"])
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["ModifyOurListeners"]["Resource"] == [
        _ref("ListenerArn"),
        _ref("TestListenerArn"),
    ]
    assert statements["ShiftWeightsOfOurRules"]["Resource"] == [
        _ref("ProductionListenerRule"),
        _ref("TestListenerRule"),
    ]


def test_metrics_name_the_shared_load_balancer(docs: dict[str, dict[str, Json]]) -> None:
    canary = docs["services-canary"]["service-web.yml"]
    alarms = of_type(canary, "AWS::CloudWatch::Alarm")
    assert alarms
    for body in alarms.values():
        for query in props(body)["Metrics"]:
            if "MetricStat" in query:
                dimensions = {
                    d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]
                }
                assert dimensions["LoadBalancer"] == _ref("LoadBalancerFullName")
    scaling = docs["services"]["service-api.yml"]["Resources"]["RequestCountScalingPolicy"]
    metric = props(scaling)["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"
    ]
    assert metric["ResourceLabel"] == {
        "Fn::Sub": "${LoadBalancerFullName}/${ServiceTargetGroup.TargetGroupFullName}"
    }
    # Each service scales by its own [services.autoscaling]; web has none.
    target = props(docs["services"]["service-api.yml"]["Resources"]["ScalableTarget"])
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    assert not of_type(
        docs["services"]["service-web.yml"], "AWS::ApplicationAutoScaling::ScalableTarget"
    )


# --- parent.yml and repository.yml ---------------------------------------------------


def test_parent_wires_the_children(docs: dict[str, dict[str, Json]]) -> None:
    parent = docs["services"]["parent.yml"]
    apps = {lid: props(body) for lid, body in of_type(parent, APPLICATION).items()}
    assert {lid: app["Location"] for lid, app in apps.items()} == {
        "VpcStack": "vpc.yml",
        "ClusterStack": "cluster.yml",
        "LoadBalancerStack": "load-balancer.yml",
        "ServiceApiStack": "service-api.yml",
        "ServiceWebStack": "service-web.yml",
    }
    assert apps["LoadBalancerStack"]["Parameters"] == {
        "VpcId": _get_att("VpcStack", "VpcId"),
        "PublicSubnetIds": _get_att("VpcStack", "PublicSubnetIds"),
    }
    assert apps["ServiceWebStack"]["Parameters"] == {
        "VpcId": _get_att("VpcStack", "VpcId"),
        "PrivateSubnetIds": _get_att("VpcStack", "PrivateSubnetIds"),
        "ClusterName": _get_att("ClusterStack", "ClusterName"),
        "ECSTaskExecutionRole": _get_att("ClusterStack", "ECSTaskExecutionRole"),
        "ListenerArn": _get_att("LoadBalancerStack", "ListenerArn"),
        "ServiceSecurityGroupId": _get_att("LoadBalancerStack", "WebSecurityGroupId"),
    }
    api = apps["ServiceApiStack"]["Parameters"]
    assert api["LoadBalancerFullName"] == _get_att("LoadBalancerStack", "LoadBalancerFullName")
    assert list(parent["Outputs"]) == [
        "ServiceUrl",
        "NatEgressIps",
        "VpcId",
        "ClusterName",
        "ApiServiceName",
        "ApiLogGroupName",
        "WebServiceName",
        "WebLogGroupName",
    ]
    assert parent["Outputs"]["ServiceUrl"]["Value"] == _get_att("LoadBalancerStack", "ServiceUrl")
    assert "Parameters" not in parent


@pytest.mark.parametrize("name", sorted(SERVICES_VARIANTS))
def test_every_child_parameter_without_default_is_passed(
    docs: dict[str, dict[str, Json]], name: str
) -> None:
    parent = docs[name]["parent.yml"]
    for app in of_type(parent, APPLICATION).values():
        child = docs[name][props(app)["Location"]]
        given = props(app).get("Parameters", {})
        declared = child.get("Parameters", {})
        assert set(given) <= set(declared), props(app)["Location"]
        required = {p for p, body in declared.items() if "Default" not in body}
        assert required <= set(given), (props(app)["Location"], required - set(given))
        for value in given.values():
            if "Fn::GetAtt" in value:
                stack, attribute = value["Fn::GetAtt"]
                source = docs[name][props(parent["Resources"][stack])["Location"]]
                assert attribute.removeprefix("Outputs.") in source["Outputs"], attribute
            else:
                assert value["Ref"] in parent["Parameters"], value


def test_each_built_service_gets_a_repository_and_a_digest(
    docs: dict[str, dict[str, Json]],
) -> None:
    several = docs["services-built-no-nat"]
    repository = several["repository.yml"]
    assert set(of_type(repository, "AWS::ECR::Repository")) == {"ApiRepository", "WorkerRepository"}
    assert {"ApiRepositoryUri", "WorkerRepositoryUri"} <= set(repository["Outputs"])
    assert (
        repository["Parameters"]["ApiRepositoryName"]["Default"] == "serverless-api-environment-api"
    )
    parent = several["parent.yml"]
    assert list(parent["Parameters"]) == ["ImageDigestApi", "ImageDigestWorker"]
    for name in ("Api", "Worker"):
        wiring = props(parent["Resources"][f"Service{name}Stack"])["Parameters"]
        assert wiring["ImageDigest"] == _ref(f"ImageDigest{name}")
        assert wiring["ImageRepositoryUri"] == _get_att("RepositoryStack", f"{name}RepositoryUri")
        assert parent["Outputs"][f"{name}RepositoryUri"]["Value"] == _get_att(
            "RepositoryStack", f"{name}RepositoryUri"
        )
    assert next(iter(parent["Resources"])) == "RepositoryStack"  # pushed before the VPC is made

    one = docs["services-one-built"]
    assert set(of_type(one["repository.yml"], "AWS::ECR::Repository")) == {"Repository"}
    assert list(one["parent.yml"]["Parameters"]) == ["ImageDigest"]
    api = props(one["parent.yml"]["Resources"]["ServiceApiStack"])["Parameters"]
    assert api["ImageDigest"] == _ref("ImageDigest")
    assert api["ImageRepositoryUri"] == _get_att("RepositoryStack", "RepositoryUri")
    web = props(one["parent.yml"]["Resources"]["ServiceWebStack"])["Parameters"]
    assert "ImageDigest" not in web and "ImageRepositoryUri" not in web


@pytest.mark.parametrize("layout", ["", "services"])
def test_environment_output_only_with_an_environment(layout: str) -> None:
    config = _config("services") if layout else Config()
    assert "Environment" not in synth_dicts(config)["parent.yml"]["Outputs"]
    staged = config.model_copy(update={"environment": "staging"})
    output = synth_dicts(staged)["parent.yml"]["Outputs"]["Environment"]
    assert output["Value"] == "staging"


def test_the_custom_domain_lives_in_the_load_balancer_stack() -> None:
    config = parse_config(
        SERVICES_VARIANTS["services"]
        + '\n[load_balancer]\ndomain = "shop.example.com"\nhosted_zone_id = "Z0123456789ABC"\n',
        source="t.toml",
    )
    docs = synth_dicts(config)
    lb = docs["load-balancer.yml"]
    assert lb["Parameters"]["HostedZoneId"]["Default"] == "Z0123456789ABC"
    assert {"Certificate", "DomainRecord", "PublicLoadBalancerHttpsListener"} <= set(
        lb["Resources"]
    )
    https = props(lb["Resources"]["PublicLoadBalancerHttpsListener"])
    assert https["Certificates"] == [{"CertificateArn": _ref("Certificate")}]
    assert lb["Outputs"]["ServiceUrl"]["Value"] == "https://shop.example.com"
    assert lb["Outputs"]["ListenerArn"]["Value"] == _ref("PublicLoadBalancerHttpsListener")
    parent = docs["parent.yml"]
    wiring = props(parent["Resources"]["LoadBalancerStack"])["Parameters"]
    assert wiring["HostedZoneId"] == _ref("HostedZoneId")
    assert parent["Parameters"]["HostedZoneId"]["Default"] == "Z0123456789ABC"
    for svc in config.services:
        assert "HostedZoneId" not in docs[service_file(svc.name)]["Parameters"]


# --- what the vpc and cluster stacks take from several services ----------------------


def test_vpc_and_cluster_follow_every_service() -> None:
    # One service's secrets are enough for the endpoints that fetch them without NAT.
    with_secrets = synth_dicts(_config("services-built-no-nat"))["vpc.yml"]["Resources"]
    assert {"SecretsManagerEndpoint", "SsmEndpoint"} <= set(with_secrets)
    without = synth_dicts(_config("services"))["vpc.yml"]["Resources"]
    assert not {"SecretsManagerEndpoint", "SsmEndpoint"} & set(without)
    text = (
        '[[services]]\nname = "a"\npaths = ["/a/*"]\ncontainer_insights = false\n'
        '[[services]]\nname = "b"\npaths = ["/*"]\n'
    )
    cluster = synth_dicts(parse_config(text, source="t.toml"))["cluster.yml"]
    settings = props(cluster["Resources"]["ECSCluster"])["ClusterSettings"]
    assert settings == [{"Name": "containerInsights", "Value": "enabled"}]


# --- accepted risks ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES_VARIANTS))
def test_risks_go_to_the_stack_that_holds_the_resource(
    docs: dict[str, dict[str, Json]], name: str
) -> None:
    config = _config(name)
    for risk in accepted_risks(config):
        assert risk.file in docs[name], risk
        assert risk.logical_id in docs[name][risk.file]["Resources"], risk
        assert NAMES_A_KEY.search(risk.reason), risk.reason
        assert "service." not in risk.reason.replace("services[", ""), risk.reason


def test_allow_from_is_an_accepted_risk_of_its_rule_only() -> None:
    risks = [r for r in accepted_risks(_config("services")) if r.rule_id == "FA301"]
    assert [(r.file, r.logical_id) for r in risks] == [("load-balancer.yml", "WebIngressFromApi")]
    assert "services[1].allow_from" in risks[0].reason
    by_key = {r.logical_id: r for r in accepted_risks(_config("services")) if r.rule_id == "FA501"}
    assert "services[0].image" in by_key["TaskDefinition"].reason


def test_request_scaling_of_a_service_is_refused_with_traffic_shifting() -> None:
    """The rule of one [autoscaling] holds for each [services.autoscaling] too."""
    text = SERVICES_VARIANTS["services"] + '\n[deployment]\nstrategy = "canary"\n'
    with pytest.raises(Exception, match=r"services\[0\]\.autoscaling\.requests_per_target"):
        parse_config(text, source="t.toml")
    parse_config(SERVICES_VARIANTS["services-canary"], source="t.toml")  # cpu only: fine


def test_a_condition_takes_three_values() -> None:
    """ALB: three comparison strings per condition, five per rule."""
    three = '[[services]]\nname = "a"\npaths = ["/a", "/b", "/c"]\nhosts = ["x.example.com"]\n'
    parse_config(three, source="t.toml")
    four = '[[services]]\nname = "a"\npaths = ["/a", "/b", "/c", "/d"]\n'
    with pytest.raises(Exception, match=r"lists 4 paths; one condition of an ALB rule takes 3"):
        parse_config(four, source="t.toml")
