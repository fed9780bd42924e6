"""Application Auto Scaling for ECS services, read from templates.

The twin runs target tracking on ALBRequestCountPerTarget, because HAProxy counts the
requests of every target group; CPU tracking needs a CPU metric the twin does not have,
so such a policy becomes a notice rather than a silent no-op.
"""

from __future__ import annotations

from typing import Any

from fargate_api.templates import Resource
from fargate_api.templates.props import as_dict, as_int, get
from fargate_api.templates.topology import (
    SCALABLE_TARGET,
    SCALING_POLICY,
    TARGET_GROUP,
    references,
    scaled_services,
)
from fargate_api.twin.plan.model import Autoscaling, Notice, Service
from fargate_api.twin.plan.reads import Index, key_of


def read_autoscaling(
    index: Index, services: list[Service], target_groups: set[str]
) -> tuple[list[Autoscaling], list[Notice]]:
    found: list[Autoscaling] = []
    notices: list[Notice] = []
    for target in sorted(index.of_type(SCALABLE_TARGET), key=key_of):
        service = _service_of(index, target, services)
        if service is None:
            notices.append(
                Notice(key_of(target), target.type, "scales no ECS service of these templates")
            )
            continue
        minimum = as_int(get(target.properties, "MinCapacity")) or 0
        maximum = as_int(get(target.properties, "MaxCapacity")) or minimum
        for policy in index.referrers(target, SCALING_POLICY, "ScalingTargetId"):
            config = as_dict(get(policy.properties, "TargetTrackingScalingPolicyConfiguration"))
            metric = get(config, "PredefinedMetricSpecification", "PredefinedMetricType")
            value = get(config, "TargetValue")
            group = _target_group_of(
                index, get(config, "PredefinedMetricSpecification", "ResourceLabel")
            )
            if metric != "ALBRequestCountPerTarget" or not isinstance(value, int | float):
                notices.append(
                    Notice(
                        key_of(policy),
                        policy.type,
                        f"{metric or 'this policy'} is not tracked by the twin",
                    )
                )
                continue
            if group is None or group not in target_groups:
                group = service.load_balancers[0].target_group if service.load_balancers else None
            if group is None:
                continue
            found.append(
                Autoscaling(
                    service=service.key,
                    minimum=minimum,
                    maximum=maximum,
                    requests_per_target=float(value),
                    target_group=group,
                    scale_in_cooldown=as_int(get(config, "ScaleInCooldown")) or 300,
                    scale_out_cooldown=as_int(get(config, "ScaleOutCooldown")) or 300,
                )
            )
    return found, notices


def _service_of(index: Index, target: Resource, services: list[Service]) -> Service | None:
    scaled = scaled_services(index, target)
    if scaled:
        return next((s for s in services if s.key == key_of(scaled[0])), None)
    return services[0] if len(services) == 1 else None


def _target_group_of(index: Index, label: Any) -> str | None:
    for ref in references(label):
        resource = index.deref(ref)
        if resource is not None and resource.type == TARGET_GROUP:
            return key_of(resource)
    return None
