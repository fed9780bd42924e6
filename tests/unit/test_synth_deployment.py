"""service.yml with `[deployment]`: the traffic-shifting resources and the alarms keep
their promises for every strategy, and a config without them writes what it always did.

`check_deployment_invariants` reads only the rendered service.yml, and the mutation tests
at the end prove that it fails when one promise is broken.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from fargate_api.config import Config, parse_config
from fargate_api.config.model import DeploymentStrategy
from fargate_api.synth import synthesize, to_yaml
from fargate_api.synth.accepted_risks import accepted_risks
from unit.support import Json, ecs_service, of_type, props, security_group_rules, synth_dicts
from unit.variants import CERTIFICATE, VARIANTS

TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
ALARM = "AWS::CloudWatch::Alarm"
ROLE = "AWS::IAM::Role"
STRATEGIES = {
    DeploymentStrategy.ROLLING: "ROLLING",
    DeploymentStrategy.BLUE_GREEN: "BLUE_GREEN",
    DeploymentStrategy.CANARY: "CANARY",
    DeploymentStrategy.LINEAR: "LINEAR",
}
# AmazonECSInfrastructureRolePolicyForLoadBalancers' actions, by the resource they act on.
READ_ACTIONS = {
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
}
WRITE_ACTIONS = {
    "elasticloadbalancing:RegisterTargets": TARGET_GROUP,
    "elasticloadbalancing:DeregisterTargets": TARGET_GROUP,
    "elasticloadbalancing:ModifyListener": LISTENER,
    "elasticloadbalancing:ModifyRule": LISTENER_RULE,
}
EXPRESSION_ID = re.compile(r"\b[a-z][a-z0-9_]*\b")
# Every variant of the unit tier, and configs for the corners the variants leave out.
DEPLOYMENT_CONFIGS: dict[str, str] = {
    **{name: text for name, text in VARIANTS.items() if "[deployment" in text},
    "blue-green-plain": '[deployment]\nstrategy = "blue_green"\n',
    "linear-https-test-listener": f"""
[load_balancer]
certificate_arn = "{CERTIFICATE}"
https_port = 8443
ingress_cidrs = ["198.51.100.0/24"]

[deployment]
strategy = "linear"
test_listener_port = 443
test_traffic_time = 0
alarms = false
""",
    "canary-no-alarms-test-listener": """
[deployment]
strategy = "canary"
canary_percent = 0.3
test_listener_port = 9000
test_listener_cidrs = ["0.0.0.0/0", "203.0.113.0/24"]
alarms = false
""",
    "rolling-tuned-alarms": """
[deployment]
bake_time = 5

[deployment.alarms]
period = 30
evaluation_periods = 4
datapoints_to_alarm = 3
unhealthy_hosts = false
""",
}


def config_of(name: str) -> Config:
    return parse_config(DEPLOYMENT_CONFIGS[name], source=f"{name}.toml")


def service_of(config: Config) -> Json:
    return synth_dicts(config)["service.yml"]


def ref(logical_id: str) -> Json:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [logical_id, attribute]}


# ------------------------------------------------------------------------ the invariants


def check_deployment_invariants(config: Config, service: Json) -> None:
    groups = check_target_groups(config, service)
    serving = check_listeners_and_rules(config, service, groups)
    check_role(config, service, groups, serving)
    check_service(config, service, groups)
    check_alarms(config, service, groups)
    check_outputs(config, service)


def check_target_groups(config: Config, service: Json) -> list[str]:
    """The service's groups, primary first; identical settings when there are two."""
    groups = of_type(service, TARGET_GROUP)
    _, svc = ecs_service(service)
    primary = svc["LoadBalancers"][0]["TargetGroupArn"]["Ref"]
    if not config.deployment.shifts_traffic:
        assert list(groups) == [primary]
        return [primary]
    assert len(groups) == 2, sorted(groups)
    (alternate,) = set(groups) - {primary}
    assert props(groups[primary]) == props(groups[alternate]), "the groups must be identical"
    return [primary, alternate]


def weighted(groups: list[str]) -> list[Json]:
    return [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": ref(groups[0]), "Weight": 100},
                    {"TargetGroupArn": ref(groups[1]), "Weight": 0},
                ]
            },
        }
    ]


def check_listeners_and_rules(config: Config, service: Json, groups: list[str]) -> str:
    """The listener that serves the API; its rule, and the test listener's, weigh 100/0."""
    lb, deployment = config.load_balancer, config.deployment
    listeners = {props(b)["Port"]: (lid, props(b)) for lid, b in of_type(service, LISTENER).items()}
    serving_port = lb.https_port if lb.https else lb.http_port
    serving, serving_props = listeners[serving_port]
    rules = of_type(service, LISTENER_RULE)
    expected_ports = set(lb.listener_ports())
    if deployment.test_listener_port is not None:
        expected_ports.add(deployment.test_listener_port)
    assert set(listeners) == expected_ports
    if not deployment.shifts_traffic:
        assert not rules
        assert serving_props["DefaultActions"] == [
            {"Type": "forward", "TargetGroupArn": ref(groups[0])}
        ]
        return serving
    # No non-forward action on a listener ECS shifts (ECS fails such a deployment).
    assert serving_props["DefaultActions"] == weighted(groups)
    if lb.https:
        http = listeners[lb.http_port][1]
        assert [a["Type"] for a in http["DefaultActions"]] == ["redirect"]
    by_listener = {props(b)["ListenerArn"]["Ref"]: (lid, props(b)) for lid, b in rules.items()}
    expected_listeners = {serving}
    if deployment.test_listener_port is not None:
        test_id, test = listeners[deployment.test_listener_port]
        expected_listeners.add(test_id)
        assert test["DefaultActions"] == weighted(groups)
        same = {k: v for k, v in serving_props.items() if k not in ("Port", "DefaultActions")}
        assert {k: v for k, v in test.items() if k not in ("Port", "DefaultActions")} == same
        ingress = [
            r
            for r in security_group_rules(service, "PublicLoadBalancerSG", "Ingress")
            if r["FromPort"] == deployment.test_listener_port
        ]
        assert {r["CidrIp"] for r in ingress} == {str(c) for c in config.test_listener_cidrs()}
        assert len(ingress) == len(config.test_listener_cidrs())
        assert all(r["IpProtocol"] == "tcp" and r["ToPort"] == r["FromPort"] for r in ingress)
        assert all(r["Description"] for r in ingress)
    assert set(by_listener) == expected_listeners
    for _, rule in by_listener.values():
        assert rule["Priority"] == 1
        assert rule["Conditions"] == [
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}
        ]
        assert rule["Actions"] == weighted(groups)
    return serving


def check_role(config: Config, service: Json, groups: list[str], serving: str) -> None:
    """Least privilege: ECS may only read, and write to this stack's groups, listeners, rules."""
    roles = {lid: b for lid, b in of_type(service, ROLE).items() if lid != "TaskRole"}
    if not config.deployment.shifts_traffic:
        assert not roles
        return
    ((role_id, role),) = roles.items()
    trust = props(role)["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert "ManagedPolicyArns" not in props(role)
    (policy,) = props(role)["Policies"]
    granted: dict[str, set[str]] = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        actions = {actions} if isinstance(actions, str) else set(actions)
        if statement["Resource"] == "*":
            assert actions <= READ_ACTIONS, f"write actions on '*': {actions - READ_ACTIONS}"
            for action in actions:
                granted.setdefault(action, set()).add("*")
            continue
        for resource in statement["Resource"]:
            assert isinstance(resource, dict) and set(resource) == {"Ref"}, resource
            target = resource["Ref"]
            for action in actions:
                assert service["Resources"][target]["Type"] == WRITE_ACTIONS[action], (
                    f"{action} on {target}"
                )
                granted.setdefault(action, set()).add(target)
    assert set(granted) == READ_ACTIONS | set(WRITE_ACTIONS)
    listeners = {serving} | ({"TestListener"} if config.deployment.test_listener_port else set())
    assert granted["elasticloadbalancing:RegisterTargets"] == set(groups)
    assert granted["elasticloadbalancing:DeregisterTargets"] == set(groups)
    assert granted["elasticloadbalancing:ModifyListener"] == listeners
    assert granted["elasticloadbalancing:ModifyRule"] == set(of_type(service, LISTENER_RULE))
    _, svc = ecs_service(service)
    assert svc["LoadBalancers"][0]["AdvancedConfiguration"]["RoleArn"] == get_att(role_id, "Arn")


def check_service(config: Config, service: Json, groups: list[str]) -> None:
    deployment = config.deployment
    service_id, svc = ecs_service(service)
    body = service["Resources"][service_id]
    (target,) = svc["LoadBalancers"]
    assert target["TargetGroupArn"] == ref(groups[0])
    rules = of_type(service, LISTENER_RULE)
    assert not set(rules) & set(body.get("DependsOn", [])), "the Refs order it already"
    conf = svc["DeploymentConfiguration"]
    assert conf["MinimumHealthyPercent"] == 100
    assert conf["MaximumPercent"] == 200
    assert conf["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    strategy = deployment.strategy
    assert conf.get("Strategy", "ROLLING") == STRATEGIES[strategy]
    assert ("Strategy" in conf) is deployment.shifts_traffic
    assert conf.get("BakeTimeInMinutes") == deployment.effective_bake_time()
    canary = conf.get("CanaryConfiguration")
    linear = conf.get("LinearConfiguration")
    if strategy is DeploymentStrategy.CANARY:
        assert canary == {
            "CanaryPercent": deployment.canary_percent,
            "CanaryBakeTimeInMinutes": deployment.canary_interval,
        }
    else:
        assert canary is None
    if strategy is DeploymentStrategy.LINEAR:
        assert linear == {
            "StepPercent": deployment.linear_percent,
            "StepBakeTimeInMinutes": deployment.linear_interval,
        }
    else:
        assert linear is None
    pause = deployment.effective_test_traffic_time()
    if pause:
        assert conf["LifecycleHooks"] == [
            {
                "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "TargetType": "PAUSE",
                "TimeoutConfiguration": {"TimeoutInMinutes": pause, "Action": "CONTINUE"},
            }
        ]
    else:
        assert "LifecycleHooks" not in conf
    if not deployment.shifts_traffic:
        assert "AdvancedConfiguration" not in target
        return
    advanced = target["AdvancedConfiguration"]
    assert advanced["AlternateTargetGroupArn"] == ref(groups[1])
    production = advanced["ProductionListenerRule"]["Ref"]
    assert rules[production]  # a rule of this template
    test_rule = advanced.get("TestListenerRule")
    if deployment.test_listener_port is None:
        assert test_rule is None
        assert set(rules) == {production}
    else:
        assert test_rule is not None, "ECS must know the test listener's rule"
        assert set(rules) == {production, test_rule["Ref"]}
        listener = props(rules[test_rule["Ref"]])["ListenerArn"]["Ref"]
        assert props(service["Resources"][listener])["Port"] == deployment.test_listener_port


def check_alarms(config: Config, service: Json, groups: list[str]) -> None:
    """The alarms the deployment names: each judges every group and rolls back."""
    settings = config.deployment.alarm_settings()
    alarms = of_type(service, ALARM)
    _, svc = ecs_service(service)
    named = svc["DeploymentConfiguration"].get("Alarms")
    if settings is None:
        assert not alarms and named is None
        return
    assert named == {
        "AlarmNames": [ref(lid) for lid in alarms],
        "Enable": True,
        "Rollback": True,
    }
    expected = {"target-5xx-rate", "p99-response-time"}
    if settings.unhealthy_hosts:
        expected.add("unhealthy-hosts")
    names = {
        props(b)["AlarmName"]["Fn::Sub"].removeprefix("${AWS::StackName}-") for b in alarms.values()
    }
    assert names == expected
    for logical_id, body in alarms.items():
        alarm = props(body)
        assert alarm["EvaluationPeriods"] == settings.evaluation_periods, logical_id
        assert alarm["DatapointsToAlarm"] == settings.datapoints_to_alarm, logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
        assert "Period" not in alarm and "MetricName" not in alarm, "metric math only"
        check_metric_math(alarm["Metrics"], groups, settings.period)
        name = alarm["AlarmName"]["Fn::Sub"]
        if name.endswith("-target-5xx-rate"):
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
                settings.error_rate_percent,
                "GreaterThanThreshold",
            )
            assert stats_of(alarm["Metrics"]) == {
                ("RequestCount", "Sum"),
                ("HTTPCode_Target_5XX_Count", "Sum"),
            }
        elif name.endswith("-p99-response-time"):
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
                settings.p99_response_time,
                "GreaterThanThreshold",
            )
            assert stats_of(alarm["Metrics"]) == {("TargetResponseTime", "p99")}
        else:
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
                1.0,
                "GreaterThanOrEqualToThreshold",
            )
            assert stats_of(alarm["Metrics"]) == {("UnHealthyHostCount", "Maximum")}


def stats_of(queries: list[Json]) -> set[tuple[str, str]]:
    return {
        (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"])
        for q in queries
        if "MetricStat" in q
    }


def check_metric_math(queries: list[Json], groups: list[str], period: int) -> None:
    """One returned series, the MAX over one series per group; every group measured alike."""
    ids = [q["Id"] for q in queries]
    assert len(ids) == len(set(ids)), ids
    returned = [q for q in queries if q["ReturnData"]]
    assert len(returned) == 1 and returned[0] is queries[-1]
    per_group: dict[str, set[str]] = {}
    for query in queries:
        if "MetricStat" not in query:
            used = set(EXPRESSION_ID.findall(query["Expression"])) - {"IF", "MAX"}
            assert used <= set(ids[: ids.index(query["Id"])]), query
            continue
        stat = query["MetricStat"]
        assert stat["Period"] == period
        metric = stat["Metric"]
        assert metric["Namespace"] == "AWS/ApplicationELB"
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dimensions["LoadBalancer"] == get_att("PublicLoadBalancer", "LoadBalancerFullName")
        group = dimensions["TargetGroup"]["Fn::GetAtt"]
        assert group[1] == "TargetGroupFullName"
        per_group.setdefault(group[0], set()).add(metric["MetricName"])
    assert list(per_group) == groups, "every group, primary first"
    assert len({frozenset(m) for m in per_group.values()}) == 1, "the same metrics per group"
    series = [q["Id"] for q in queries if q["Id"].endswith(("_a", "_b"))]
    result = returned[0]
    inner = ", ".join(i for i in series if i.startswith(f"{result['Id']}_"))
    assert result["Expression"] == f"MAX([{inner}])"
    assert inner.count(",") == len(groups) - 1


def check_outputs(config: Config, service: Json) -> None:
    outputs = service["Outputs"]
    deployment, lb = config.deployment, config.load_balancer
    assert ("AlternateTargetGroupArn" in outputs) is deployment.shifts_traffic
    port = deployment.test_listener_port
    assert ("TestListenerUrl" in outputs) is (port is not None)
    if port is not None:
        scheme = "https" if lb.https else "http"
        suffix = "" if port == {"https": 443, "http": 80}[scheme] else f":{port}"
        assert outputs["TestListenerUrl"]["Value"] == {
            "Fn::Sub": f"{scheme}://${{PublicLoadBalancer.DNSName}}{suffix}"
        }


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("name", sorted(DEPLOYMENT_CONFIGS))
def test_deployment_invariants_hold(name: str) -> None:
    config = config_of(name)
    check_deployment_invariants(config, service_of(config))


@pytest.mark.parametrize(
    "text",
    ["", '[deployment]\nstrategy = "rolling"\n', "[deployment]\nalarms = false\n"],
    ids=["no-table", "rolling", "alarms-off"],
)
def test_a_plain_rolling_deployment_writes_what_it_always_did(text: str) -> None:
    default = {n: to_yaml(t.to_dict()) for n, t in synthesize(Config()).items()}
    ours = {n: to_yaml(t.to_dict()) for n, t in synthesize(parse_config(text)).items()}
    assert ours == default
    check_deployment_invariants(Config(), service_of(Config()))


@pytest.mark.parametrize("strategy", ["blue_green", "canary", "linear"])
def test_every_strategy_gets_two_groups_the_rule_and_the_role(strategy: str) -> None:
    service = service_of(parse_config(f'[deployment]\nstrategy = "{strategy}"\n'))
    assert set(of_type(service, TARGET_GROUP)) == {
        "ServiceTargetGroup",
        "ServiceTargetGroupAlternate",
    }
    assert set(of_type(service, LISTENER_RULE)) == {"ProductionListenerRule"}
    assert "ECSInfrastructureRole" in service["Resources"]
    assert set(of_type(service, ALARM)) == {
        "TargetErrorRateAlarm",
        "UnhealthyHostsAlarm",
        "ResponseTimeAlarm",
    }
    _, svc = ecs_service(service)
    assert svc["DeploymentConfiguration"]["Strategy"] == strategy.upper()


def test_the_production_rule_sits_on_the_https_listener() -> None:
    service = service_of(config_of("blue-green"))
    rule = props(service["Resources"]["ProductionListenerRule"])
    assert rule["ListenerArn"] == ref("PublicLoadBalancerHttpsListener")
    test = props(service["Resources"]["TestListener"])
    assert (test["Protocol"], test["Port"]) == ("HTTPS", 8443)
    assert test["Certificates"] == [{"CertificateArn": CERTIFICATE}]


def test_rolling_alarms_judge_the_one_group() -> None:
    service = service_of(config_of("rolling-alarms"))
    alarm = props(service["Resources"]["TargetErrorRateAlarm"])
    expressions = {q["Id"]: q.get("Expression") for q in alarm["Metrics"]}
    assert expressions == {
        "req_a": None,
        "err_a": None,
        "rate_a": "IF(req_a > 0, 100 * err_a / req_a, 0)",
        "rate": "MAX([rate_a])",
    }


def test_traffic_shifting_alarms_take_the_worst_of_both_groups() -> None:
    service = service_of(config_of("canary"))
    alarms = {lid: props(b)["Metrics"][-1] for lid, b in of_type(service, ALARM).items()}
    assert {lid: q["Expression"] for lid, q in alarms.items()} == {
        "TargetErrorRateAlarm": "MAX([rate_a, rate_b])",
        "UnhealthyHostsAlarm": "MAX([unhealthy_a, unhealthy_b])",
        "ResponseTimeAlarm": "MAX([p99_a, p99_b])",
    }
    rate_b = next(
        q
        for q in props(service["Resources"]["TargetErrorRateAlarm"])["Metrics"]
        if q["Id"] == "rate_b"
    )
    assert rate_b == {
        "Id": "rate_b",
        "Expression": "IF(req_b > 0, 100 * err_b / req_b, 0)",
        "ReturnData": False,
    }


def test_canary_and_linear_settings_are_written_out() -> None:
    canary = ecs_service(service_of(config_of("canary")))[1]["DeploymentConfiguration"]
    assert canary["CanaryConfiguration"] == {"CanaryPercent": 10.0, "CanaryBakeTimeInMinutes": 15}
    assert canary["BakeTimeInMinutes"] == 15
    linear = ecs_service(service_of(config_of("linear")))[1]["DeploymentConfiguration"]
    assert linear["LinearConfiguration"] == {"StepPercent": 25.0, "StepBakeTimeInMinutes": 5}
    assert linear["BakeTimeInMinutes"] == 10
    assert [a["Ref"] for a in linear["Alarms"]["AlarmNames"]] == [
        "TargetErrorRateAlarm",
        "ResponseTimeAlarm",
    ]


def test_the_test_window_is_a_pause_hook() -> None:
    blue_green = ecs_service(service_of(config_of("blue-green")))[1]["DeploymentConfiguration"]
    assert blue_green["LifecycleHooks"][0]["TimeoutConfiguration"] == {
        "TimeoutInMinutes": 10,
        "Action": "CONTINUE",
    }
    canary = ecs_service(service_of(config_of("canary")))[1]["DeploymentConfiguration"]
    assert canary["LifecycleHooks"][0]["TimeoutConfiguration"]["TimeoutInMinutes"] == 5


def ids_of(config: Config) -> set[tuple[str, str]]:
    found = set()
    for risk in accepted_risks(config):
        ids = ([risk.rule_id] if risk.rule_id else []) + list(risk.checkov) + list(risk.guard)
        found |= {(risk.logical_id, i) for i in ids}
    return found


def test_accepted_risks_follow_the_test_listener_and_the_alarms() -> None:
    canary = ids_of(config_of("canary"))
    assert {
        ("TestListener", "FA204"),
        ("TestListener", "CKV_AWS_2"),
        ("TestListener", "CKV_AWS_103"),
        ("TestListener", "alb_http_to_https_redirection_check"),
        ("PublicLoadBalancerSG", "vpc_sg_open_only_to_authorized_ports_check"),
        ("PublicLoadBalancerSG", "vpc_sg_restricted_common_ports_check"),
        ("TargetErrorRateAlarm", "cloudwatch_alarm_action_check"),
        ("UnhealthyHostsAlarm", "cloudwatch_alarm_action_check"),
        ("ResponseTimeAlarm", "cloudwatch_alarm_action_check"),
    } <= canary
    blue_green = ids_of(config_of("blue-green"))
    assert not {lid for lid, _ in blue_green} & {"TestListener"}, "HTTPS, office range only"
    assert ("PublicLoadBalancerSG", "vpc_sg_open_only_to_authorized_ports_check") not in blue_green
    # Port 9000 is not one of CT.EC2.PR.4's high-risk ports; 0.0.0.0/0 is still listed.
    corner = ids_of(config_of("canary-no-alarms-test-listener"))
    assert ("PublicLoadBalancerSG", "vpc_sg_open_only_to_authorized_ports_check") in corner
    assert ("PublicLoadBalancerSG", "vpc_sg_restricted_common_ports_check") not in corner
    assert not {lid for lid, _ in corner} & {"TargetErrorRateAlarm", "ResponseTimeAlarm"}
    linear = ids_of(config_of("linear"))
    assert ("UnhealthyHostsAlarm", "cloudwatch_alarm_action_check") not in linear
    assert ids_of(Config()) == ids_of(parse_config("[deployment]\nalarms = false\n"))


def test_each_alarm_accepted_risk_lands_on_an_alarm() -> None:
    docs = synth_dicts(config_of("rolling-alarms"))
    alarms = of_type(docs["service.yml"], ALARM)
    assert alarms
    for body in alarms.values():
        guard = body["Metadata"]["guard"]
        assert guard["SuppressedRules"] == ["cloudwatch_alarm_action_check"]
        assert "rolls the deployment back" in guard["Reasons"]["cloudwatch_alarm_action_check"]


def test_the_service_still_waits_for_its_listeners() -> None:
    service = service_of(config_of("blue-green"))
    body = service["Resources"]["Service"]
    assert body["DependsOn"] == ["PublicLoadBalancerListener", "PublicLoadBalancerHttpsListener"]
    advanced = props(body)["LoadBalancers"][0]["AdvancedConfiguration"]
    assert {advanced["ProductionListenerRule"]["Ref"], advanced["TestListenerRule"]["Ref"]} == set(
        of_type(service, LISTENER_RULE)
    )


# ------------------------------------------------- the invariant checker is not vacuous


def _swap_weights(service: Json) -> None:
    groups = props(service["Resources"]["ProductionListenerRule"])["Actions"][0]["ForwardConfig"]
    groups["TargetGroups"][0]["Weight"], groups["TargetGroups"][1]["Weight"] = 0, 100


def _fixed_response_default(service: Json) -> None:
    props(service["Resources"]["PublicLoadBalancerListener"])["DefaultActions"] = [
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
    ]


def _write_on_everything(service: Json) -> None:
    policy = props(service["Resources"]["ECSInfrastructureRole"])["Policies"][0]
    policy["PolicyDocument"]["Statement"][3]["Resource"] = "*"


def _foreign_target_group(service: Json) -> None:
    policy = props(service["Resources"]["ECSInfrastructureRole"])["Policies"][0]
    policy["PolicyDocument"]["Statement"][1]["Resource"].append(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/1"
    )


def _rule_missing_from_the_role(service: Json) -> None:
    policy = props(service["Resources"]["ECSInfrastructureRole"])["Policies"][0]
    policy["PolicyDocument"]["Statement"][3]["Resource"].pop()


def _unnamed_alarm(service: Json) -> None:
    _, svc = ecs_service(service)
    svc["DeploymentConfiguration"]["Alarms"]["AlarmNames"].pop()


def _alarms_without_rollback(service: Json) -> None:
    _, svc = ecs_service(service)
    svc["DeploymentConfiguration"]["Alarms"]["Rollback"] = False


def _alarm_blind_to_the_new_group(service: Json) -> None:
    metrics = props(service["Resources"]["TargetErrorRateAlarm"])["Metrics"]
    metrics[:] = [q for q in metrics if not q["Id"].endswith("_b")]
    metrics[-1]["Expression"] = "MAX([rate_a])"


def _different_alternate_group(service: Json) -> None:
    props(service["Resources"]["ServiceTargetGroupAlternate"])["HealthCheckPath"] = "/other"


def _no_pause(service: Json) -> None:
    _, svc = ecs_service(service)
    del svc["DeploymentConfiguration"]["LifecycleHooks"]


def _test_rule_not_advertised(service: Json) -> None:
    _, svc = ecs_service(service)
    del svc["LoadBalancers"][0]["AdvancedConfiguration"]["TestListenerRule"]


def _wrong_period(service: Json) -> None:
    metrics = props(service["Resources"]["ResponseTimeAlarm"])["Metrics"]
    metrics[0]["MetricStat"]["Period"] = 300


MUTATIONS: list[Callable[[Json], None]] = [
    _swap_weights,
    _fixed_response_default,
    _write_on_everything,
    _foreign_target_group,
    _rule_missing_from_the_role,
    _unnamed_alarm,
    _alarms_without_rollback,
    _alarm_blind_to_the_new_group,
    _different_alternate_group,
    _no_pause,
    _test_rule_not_advertised,
    _wrong_period,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_deployment_invariant_checker_catches(mutate: Callable[[Json], None]) -> None:
    config = config_of("canary")
    service = service_of(config)
    check_deployment_invariants(config, service)
    broken: Any = copy.deepcopy(service)
    mutate(broken)
    with pytest.raises((AssertionError, KeyError)):
        check_deployment_invariants(config, broken)
