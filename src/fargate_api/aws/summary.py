"""The few values users act on, read from the stacks' outputs: URL and egress IPs.

They are looked up by the output names of our templates (the reference's plus ours),
whichever stack exports them, so the layout can change without touching this. The
service and its log group are named only when one service exports them.
"""

from __future__ import annotations

from collections.abc import Mapping

from fargate_api.aws.results import Endpoint


def find_output(outputs_by_role: Mapping[str, Mapping[str, str]], key: str) -> str | None:
    for outputs in outputs_by_role.values():
        if key in outputs:
            return outputs[key]
    return None


def unique_output(outputs_by_role: Mapping[str, Mapping[str, str]], key: str) -> str | None:
    """The value of `key` when the stacks that export it agree: with several services,
    each service stack exports its own ServiceName and LogGroupName, and no one of them
    is "the" service's (status and logs name each)."""
    values = {outputs[key] for outputs in outputs_by_role.values() if key in outputs}
    return values.pop() if len(values) == 1 else None


def endpoint_summary(outputs_by_role: Mapping[str, Mapping[str, str]]) -> Endpoint:
    egress = find_output(outputs_by_role, "NatEgressIps")
    return Endpoint(
        url=find_output(outputs_by_role, "ServiceUrl"),
        egress_ips=[ip.strip() for ip in egress.split(",") if ip.strip()] if egress else [],
        load_balancer_dns=find_output(outputs_by_role, "LoadBalancerDNSName"),
        cluster=find_output(outputs_by_role, "ClusterName"),
        service=unique_output(outputs_by_role, "ServiceName"),
        log_group=unique_output(outputs_by_role, "LogGroupName"),
    )
