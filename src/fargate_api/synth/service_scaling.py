"""Target-tracking autoscaling of the ECS service, on CPU and/or requests per target.

Kept apart from service.py because it is optional and has its own resource family
(Application Auto Scaling). No role is given: ECS's service-linked role is used.
"""

from __future__ import annotations

from fargate_api.config.model import AutoscalingConfig
from fargate_api.synth.intrinsics import Json, ref, sub
from fargate_api.synth.template import Template


def add_autoscaling(
    t: Template,
    scaling: AutoscalingConfig,
    load_balancer: str = "PublicLoadBalancer.LoadBalancerFullName",
) -> None:
    """`load_balancer` is the Fn::Sub variable of the load balancer's full name: the
    stack's own load balancer's attribute, or the LoadBalancerFullName parameter."""
    t.add(
        "ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "ecs",
            "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": sub("service/${ClusterName}/${Service.Name}"),
            "MinCapacity": scaling.min,
            "MaxCapacity": scaling.max,
        },
    )
    if scaling.cpu_target is not None:
        t.add(
            "CpuScalingPolicy",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            _policy(
                "cpu",
                scaling,
                scaling.cpu_target,
                {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            ),
        )
    if scaling.requests_per_target is not None:
        t.add(
            "RequestCountScalingPolicy",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            _policy(
                "requests",
                scaling,
                float(scaling.requests_per_target),
                {
                    "PredefinedMetricType": "ALBRequestCountPerTarget",
                    "ResourceLabel": sub(
                        f"${{{load_balancer}}}/${{ServiceTargetGroup.TargetGroupFullName}}"
                    ),
                },
            ),
        )


def _policy(kind: str, scaling: AutoscalingConfig, target: float, metric: Json) -> Json:
    return {
        "PolicyName": sub(f"${{AWS::StackName}}-{kind}"),
        "PolicyType": "TargetTrackingScaling",
        "ScalingTargetId": ref("ScalableTarget"),
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": target,
            "PredefinedMetricSpecification": metric,
            "ScaleInCooldown": scaling.scale_in_cooldown,
            "ScaleOutCooldown": scaling.scale_out_cooldown,
        },
    }
