"""service.yml as the synth writes it for `[deployment]` (issue 14, design part 1), by hand.

The readers (templates/deployments.py, alarms.py) and the FA406-FA409 rules are tested on
this shape before the synth produces it: two target groups, a production (and test)
listener rule forwarding to both with weights 100/0, AdvancedConfiguration, and three
metric-math alarms over both groups named by Ref in DeploymentConfiguration.Alarms.
Built as data in CloudFormation's long form (as synth/ builds it) and loaded as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from fargate_api.templates.query import StackQuery
from unit.templates.support import query

GROUPS = {"a": "ServiceTargetGroup", "b": "ServiceTargetGroupAlternate"}
ALARMS = ("TargetErrorRateAlarm", "UnhealthyHostsAlarm", "ResponseTimeAlarm")


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def get_att(name: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attribute]}


def _target_group(delay: object) -> dict[str, Any]:
    return {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {
            "TargetType": "ip",
            "Port": ref("ContainerPort"),
            "Protocol": "HTTP",
            "VpcId": ref("VpcId"),
            "HealthCheckPath": "/",
            "TargetGroupAttributes": [
                {"Key": "deregistration_delay.timeout_seconds", "Value": delay}
            ],
        },
    }


def _listener(port: int) -> dict[str, Any]:
    return {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": ref("PublicLoadBalancer"),
            "Port": port,
            "Protocol": "HTTP",
            "DefaultActions": [
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
            ],
        },
    }


def _rule(listener: str, groups: list[str]) -> dict[str, Any]:
    weights = [100] + [0] * (len(groups) - 1)
    return {
        "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
        "Properties": {
            "ListenerArn": ref(listener),
            "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            "Actions": [
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": ref(g), "Weight": w}
                            for g, w in zip(groups, weights, strict=True)
                        ]
                    },
                }
            ],
        },
    }


def _stat(
    id_: str, metric: str, stat: str, group: str, period: object, *, lb: bool = True
) -> dict[str, Any]:
    dimensions = [{"Name": "TargetGroup", "Value": get_att(group, "TargetGroupFullName")}]
    if lb:
        dimensions.append(
            {"Name": "LoadBalancer", "Value": get_att("PublicLoadBalancer", "LoadBalancerFullName")}
        )
    return {
        "Id": id_,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/ApplicationELB",
                "MetricName": metric,
                "Dimensions": dimensions,
            },
            "Period": period,
            "Stat": stat,
        },
    }


def _alarms(keys: list[str], period: object, evaluation_periods: object) -> dict[str, Any]:
    error_rate: list[dict[str, Any]] = []
    unhealthy: list[dict[str, Any]] = []
    response: list[dict[str, Any]] = []
    for key in keys:
        group = GROUPS[key]
        error_rate += [
            _stat(f"req_{key}", "RequestCount", "Sum", group, period),
            _stat(f"err_{key}", "HTTPCode_Target_5XX_Count", "Sum", group, period),
            {
                "Id": f"rate_{key}",
                "Expression": f"IF(req_{key} > 0, 100 * err_{key} / req_{key}, 0)",
                "ReturnData": False,
            },
        ]
        unhealthy.append(_stat(f"unhealthy_{key}", "UnHealthyHostCount", "Maximum", group, period))
        response.append(_stat(f"p99_{key}", "TargetResponseTime", "p99", group, period))

    # logical id: (AlarmName suffix, per-group entries, their id prefix, comparison, threshold)
    shapes: dict[str, tuple[str, list[dict[str, Any]], str, str, float]] = {
        "TargetErrorRateAlarm": (
            "target-5xx-rate",
            error_rate,
            "rate",
            "GreaterThanThreshold",
            5.0,
        ),
        "UnhealthyHostsAlarm": (
            "unhealthy-hosts",
            unhealthy,
            "unhealthy",
            "GreaterThanOrEqualToThreshold",
            1,
        ),
        "ResponseTimeAlarm": ("p99-response-time", response, "p99", "GreaterThanThreshold", 2.0),
    }
    alarms: dict[str, Any] = {}
    for name, (suffix, entries, prefix, comparison, threshold) in shapes.items():
        items = ", ".join(f"{prefix}_{k}" for k in keys)
        returned = {"Id": prefix, "Expression": f"MAX([{items}])", "ReturnData": True}
        alarms[name] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": {"Fn::Sub": "${AWS::StackName}-" + suffix},
                "ComparisonOperator": comparison,
                "Threshold": threshold,
                "EvaluationPeriods": evaluation_periods,
                "DatapointsToAlarm": evaluation_periods,
                "TreatMissingData": "notBreaching",
                "Metrics": [*entries, returned],
            },
        }
    return alarms


def service_template(
    *,
    strategy: str = "BLUE_GREEN",
    test_listener: bool = True,
    alarms: bool = True,
    deployment: dict[str, Any] | None = None,
    period: object = 60,
    evaluation_periods: object = 2,
    delay: object = "45",
) -> dict[str, Any]:
    """The service stack for `strategy` ("ROLLING": one target group, no rules or role);
    `deployment` is merged into DeploymentConfiguration (a None value removes a key)."""
    rolling = strategy == "ROLLING"
    keys = ["a"] if rolling else ["a", "b"]
    groups = [GROUPS[k] for k in keys]
    resources: dict[str, Any] = {
        "PublicLoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Scheme": "internet-facing", "Subnets": ["subnet-1", "subnet-2"]},
        },
        "PublicLoadBalancerListener": _listener(80),
    }
    resources.update({g: _target_group(delay) for g in groups})
    load_balancer: dict[str, Any] = {
        "ContainerName": "app",
        "ContainerPort": ref("ContainerPort"),
        "TargetGroupArn": ref("ServiceTargetGroup"),
    }
    config: dict[str, Any] = {
        "MinimumHealthyPercent": 100,
        "MaximumPercent": 200,
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
    }
    depends_on: list[str] = []
    if rolling:
        resources["PublicLoadBalancerListener"]["Properties"]["DefaultActions"] = [
            {"Type": "forward", "TargetGroupArn": ref("ServiceTargetGroup")}
        ]
    else:
        resources["ProductionListenerRule"] = _rule("PublicLoadBalancerListener", groups)
        advanced: dict[str, Any] = {
            "AlternateTargetGroupArn": ref("ServiceTargetGroupAlternate"),
            "ProductionListenerRule": ref("ProductionListenerRule"),
            "RoleArn": get_att("ECSInfrastructureRole", "Arn"),
        }
        depends_on.append("ProductionListenerRule")
        if test_listener:
            resources["TestListener"] = _listener(8080)
            resources["TestListenerRule"] = _rule("TestListener", groups)
            advanced["TestListenerRule"] = ref("TestListenerRule")
            depends_on.append("TestListenerRule")
            config["LifecycleHooks"] = [
                {
                    "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                    "TargetType": "PAUSE",
                    "TimeoutConfiguration": {"TimeoutInMinutes": 5, "Action": "CONTINUE"},
                }
            ]
        load_balancer["AdvancedConfiguration"] = advanced
        resources["ECSInfrastructureRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ecs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        }
        config["Strategy"] = strategy
        config["BakeTimeInMinutes"] = 15
    if alarms:
        resources.update(_alarms(keys, period, evaluation_periods))
        config["Alarms"] = {
            "AlarmNames": [ref(a) for a in ALARMS],
            "Enable": True,
            "Rollback": True,
        }
    for key, value in (deployment or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    service: dict[str, Any] = {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "LaunchType": "FARGATE",
            "DesiredCount": 2,
            "LoadBalancers": [load_balancer],
            "DeploymentConfiguration": config,
        },
    }
    if depends_on:
        service["DependsOn"] = depends_on
    resources["Service"] = service
    return {
        "Parameters": {
            "VpcId": {"Type": "String", "Default": "vpc-1"},
            "ContainerPort": {"Type": "Number", "Default": 80},
            "Unknown": {"Type": "String"},
            "UnknownNumber": {"Type": "Number"},
        },
        "Resources": resources,
    }


def as_text(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=1)


def service_query(template: dict[str, Any]) -> StackQuery:
    """`template` loaded alone, as service.json."""
    return query(files={"service.json": as_text(template)}, root="service.json")
