"""The ECS-native traffic-shifting deployments: blue/green, canary and linear.

ECS starts the new revision behind a second target group and moves the weights of a
listener rule from one group to the other, through a role it assumes. On an Application
Load Balancer it shifts a rule (AdvancedConfiguration.ProductionListenerRule), never a
listener's default action, so the serving listener forwards through a rule that matches
every path. Its default action forwards to the same two groups as well, as in AWS's own
example: ECS documents that a deployment fails on a listener that mixes forward and
non-forward actions (redirect, fixed-response). A test listener, when configured, gets
the new revision first, and a PAUSE hook holds production traffic back meanwhile.
On the shared load balancer of [[services]] the rules match the service's own paths and
hosts on listeners passed in by ARN (listener_rules.py), and the role names those.

Rolling deployments use none of this: service.py asks `shifts_traffic` before calling in.
"""

from __future__ import annotations

import copy

from fargate_api.config import Config
from fargate_api.config.model import DeploymentConfig, DeploymentStrategy
from fargate_api.synth.intrinsics import Json, get_att, ref
from fargate_api.synth.listener_rules import Routing, listener_rule
from fargate_api.synth.security_group_rules import tcp_rule
from fargate_api.synth.template import Template

PRIMARY_TARGET_GROUP = "ServiceTargetGroup"
ALTERNATE_TARGET_GROUP = "ServiceTargetGroupAlternate"
PRODUCTION_RULE = "ProductionListenerRule"
TEST_LISTENER = "TestListener"
TEST_RULE = "TestListenerRule"
INFRASTRUCTURE_ROLE = "ECSInfrastructureRole"
INFRASTRUCTURE_POLICY = "shift-traffic-between-target-groups"
TEST_TRAFFIC_STAGE = "POST_TEST_TRAFFIC_SHIFT"

STRATEGY_NAMES = {
    DeploymentStrategy.ROLLING: "ROLLING",
    DeploymentStrategy.BLUE_GREEN: "BLUE_GREEN",
    DeploymentStrategy.CANARY: "CANARY",
    DeploymentStrategy.LINEAR: "LINEAR",
}


def weighted_forward() -> Json:
    """Both target groups, all traffic on the primary: ECS moves the weights from here."""
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": ref(PRIMARY_TARGET_GROUP), "Weight": 100},
                {"TargetGroupArn": ref(ALTERNATE_TARGET_GROUP), "Weight": 0},
            ]
        },
    }


def test_listener_ingress(config: Config) -> list[Json]:
    """The load balancer's security group rules for the test listener (none without one)."""
    port = config.deployment.test_listener_port
    if port is None:
        return []
    return [
        tcp_rule(port, f"Test listener port {port} from {cidr}", CidrIp=str(cidr))
        for cidr in config.test_listener_cidrs()
    ]


def add_traffic_shifting(t: Template, config: Config, routing: Routing) -> None:
    """The rules, the test listener (unless the routing brings one) and the role ECS
    shifts traffic with."""
    deployment = config.deployment
    t.add(
        PRODUCTION_RULE,
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        listener_rule(routing.listener, routing, [weighted_forward()]),
    )
    rules = [ref(PRODUCTION_RULE)]
    listeners = [routing.listener]
    if deployment.test_listener_port is not None:
        test_listener = routing.test_listener or _add_test_listener(
            t, routing, deployment.test_listener_port
        )
        t.add(
            TEST_RULE,
            "AWS::ElasticLoadBalancingV2::ListenerRule",
            listener_rule(test_listener, routing, [weighted_forward()]),
        )
        rules.append(ref(TEST_RULE))
        listeners.append(test_listener)
    t.add(
        INFRASTRUCTURE_ROLE,
        "AWS::IAM::Role",
        {
            "Description": "Lets ECS shift this service's traffic between its two target "
            "groups during deployments",
            "AssumeRolePolicyDocument": _ecs_trust_policy(),
            "Policies": [
                {
                    "PolicyName": INFRASTRUCTURE_POLICY,
                    "PolicyDocument": _shift_policy(listeners, rules),
                }
            ],
        },
    )


def _add_test_listener(t: Template, routing: Routing, port: int) -> Json:
    """The stack's own test listener: its production listener on another port."""
    if routing.own_listener is None:
        raise ValueError("a test listener port without a test listener to route on")
    listener = copy.deepcopy(t.resources[routing.own_listener]["Properties"])
    listener["Port"] = port
    listener["DefaultActions"] = [weighted_forward()]
    t.add(TEST_LISTENER, "AWS::ElasticLoadBalancingV2::Listener", listener)
    return ref(TEST_LISTENER)


def _ecs_trust_policy() -> Json:
    # ECS assumes it as a service, not through a task: there is no task ARN to pin it to.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def _shift_policy(listeners: list[Json], rules: list[Json]) -> Json:
    """AmazonECSInfrastructureRolePolicyForLoadBalancers' actions, on our resources only:
    the Describe calls cannot be scoped to a resource, every write is. `listeners` and
    `rules` are ARN values: the stack's own listeners, or the shared ones' parameters."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadLoadBalancing",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetHealth",
                ],
                "Resource": "*",
            },
            {
                "Sid": "RegisterTasksInOurTargetGroups",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                ],
                "Resource": [ref(PRIMARY_TARGET_GROUP), ref(ALTERNATE_TARGET_GROUP)],
            },
            {
                "Sid": "ModifyOurListeners",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:ModifyListener",
                "Resource": listeners,
            },
            {
                "Sid": "ShiftWeightsOfOurRules",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:ModifyRule",
                "Resource": rules,
            },
        ],
    }


def advanced_configuration(deployment: DeploymentConfig) -> Json:
    """The service's LoadBalancers[0].AdvancedConfiguration."""
    advanced: Json = {
        "AlternateTargetGroupArn": ref(ALTERNATE_TARGET_GROUP),
        "ProductionListenerRule": ref(PRODUCTION_RULE),
    }
    if deployment.test_listener_port is not None:
        advanced["TestListenerRule"] = ref(TEST_RULE)
    advanced["RoleArn"] = get_att(INFRASTRUCTURE_ROLE, "Arn")
    return advanced


def deployment_configuration(deployment: DeploymentConfig, alarms: list[str]) -> Json:
    """DeploymentConfiguration: the rolling safety net every strategy keeps (100/200 and the
    circuit breaker), then the strategy, its timing and the alarms that roll it back."""
    body: Json = {
        "MinimumHealthyPercent": 100,
        "MaximumPercent": 200,
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
    }
    if deployment.shifts_traffic:
        body["Strategy"] = STRATEGY_NAMES[deployment.strategy]
    bake_time = deployment.effective_bake_time()
    if bake_time is not None:
        body["BakeTimeInMinutes"] = bake_time
    if deployment.strategy is DeploymentStrategy.CANARY:
        body["CanaryConfiguration"] = {
            "CanaryPercent": deployment.canary_percent,
            "CanaryBakeTimeInMinutes": deployment.canary_interval,
        }
    elif deployment.strategy is DeploymentStrategy.LINEAR:
        body["LinearConfiguration"] = {
            "StepPercent": deployment.linear_percent,
            "StepBakeTimeInMinutes": deployment.linear_interval,
        }
    pause = deployment.effective_test_traffic_time()
    if pause:
        body["LifecycleHooks"] = [
            {
                "LifecycleStages": [TEST_TRAFFIC_STAGE],
                "TargetType": "PAUSE",
                "TimeoutConfiguration": {"TimeoutInMinutes": pause, "Action": "CONTINUE"},
            }
        ]
    if alarms:
        body["Alarms"] = {
            "AlarmNames": [ref(alarm) for alarm in alarms],
            "Enable": True,
            "Rollback": True,
        }
    return body


def add_deployment_outputs(t: Template, config: Config, test_url: Json | str | None) -> None:
    """`test_url`: the URL of this stack's test listener, if it has one (with [[services]]
    the listeners are the shared load balancer's, which outputs that URL)."""
    deployment = config.deployment
    if not deployment.shifts_traffic:
        return
    t.output(
        "AlternateTargetGroupArn",
        ref(ALTERNATE_TARGET_GROUP),
        "The target group a new revision starts in during a deployment",
    )
    if test_url is not None:
        t.output(
            "TestListenerUrl",
            test_url,
            "Reaches the new revision during a deployment, before production traffic does",
        )
