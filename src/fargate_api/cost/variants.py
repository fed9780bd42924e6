"""Cheaper variants of the priced inventory, each with what it gives up.

A variant changes the inventory the way the matching config change would change the
templates (one NAT gateway, no NAT with endpoints, ARM tasks, a spot share); only the
variants that cost less than the configured one are offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from fargate_api.cost.estimate import Assumptions, Estimate, estimate
from fargate_api.cost.inventory import InterfaceEndpoint, Inventory
from fargate_api.cost.prices import PriceTable

SPOT_SHARE = 0.5
# What nat = "none" needs so that tasks still pull private ECR images and write logs.
NO_NAT_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs")


@dataclass(frozen=True)
class Variant:
    name: str
    config: str  # the config change that gives it
    trade_off: str
    estimate: Estimate


def single_nat(inv: Inventory) -> Inventory | None:
    if inv.nat_gateways <= 1:
        return None
    return inv.evolve(nat_gateways=1, nat_eips=min(inv.nat_eips, 1))


def no_nat(inv: Inventory) -> Inventory | None:
    if inv.nat_gateways == 0:
        return None
    have = {e.service for e in inv.interface_endpoints}
    added = tuple(
        InterfaceEndpoint(f"{name} endpoint", name, inv.private_subnets)
        for name in NO_NAT_ENDPOINTS
        if name not in have
    )
    return inv.evolve(
        nat_gateways=0, nat_eips=0, interface_endpoints=inv.interface_endpoints + added
    )


def arm(inv: Inventory) -> Inventory | None:
    if not inv.tasks or all(g.architecture == "ARM64" for g in inv.tasks):
        return None
    return inv.evolve(tasks=tuple(replace(g, architecture="ARM64") for g in inv.tasks))


def spot_share(inv: Inventory) -> Inventory | None:
    groups = [g for g in inv.tasks if g.architecture == "X86_64"]
    if not groups or all(g.spot_tasks >= g.tasks * SPOT_SHARE for g in groups):
        return None
    return inv.evolve(
        tasks=tuple(
            replace(g, on_demand_tasks=g.tasks * (1 - SPOT_SHARE), spot_tasks=g.tasks * SPOT_SHARE)
            if g.architecture == "X86_64" and g.spot_tasks < g.tasks * SPOT_SHARE
            else g
            for g in inv.tasks
        )
    )


VARIANTS: tuple[tuple[str, str, str, Callable[[Inventory], Inventory | None]], ...] = (
    (
        "single NAT gateway",
        'network.nat = "single"',
        "one AZ failure domain for egress: if that AZ fails, tasks in every AZ lose outbound "
        "access; tasks in the other AZs also pay cross-AZ data transfer (about 0.01 USD/GB "
        "each way, not in this estimate); one egress IP to whitelist instead of one per AZ",
        single_nat,
    ),
    (
        "no NAT, VPC endpoints",
        'network.nat = "none", network.vpc_endpoints = true',
        "no internet egress at all: images only from private ECR, no calls to third-party "
        "APIs, secrets need their own endpoints; no fixed egress IPs",
        no_nat,
    ),
    (
        "ARM (Graviton) tasks",
        'service.platform = "ARM64"',
        "the image must be multi-arch (or arm64); Fargate Spot does not run ARM64 tasks, so "
        "a spot share runs on demand",
        arm,
    ),
    (
        f"{SPOT_SHARE:.0%} of tasks on Fargate Spot",
        f"service.spot = {SPOT_SHARE * 100:.0f}",
        "spot tasks can be interrupted with a 2-minute notice (SIGTERM); the service must "
        "tolerate losing them, and spot prices move with demand",
        spot_share,
    ),
)


def cheaper_variants(
    inventory: Inventory, prices: PriceTable, assumptions: Assumptions
) -> list[Variant]:
    """The applicable variants that cost less than `inventory`, cheapest first."""
    base = estimate(inventory, prices, assumptions).total
    found: list[Variant] = []
    for name, config, trade_off, change in VARIANTS:
        changed = change(inventory)
        if changed is None:
            continue
        result = estimate(changed, prices, assumptions)
        if result.total < base:
            found.append(Variant(name, config_hint(config, inventory), trade_off, result))
    return sorted(found, key=lambda v: v.estimate.total)


def config_hint(config: str, inventory: Inventory) -> str:
    """A [service] key's change, said for every [[services]] table when the templates run
    several services (each of their service stacks comes from one such table)."""
    if config.startswith("service.") and len(inventory.tasks) > 1:
        return f"{config.removeprefix('service.')} in every [[services]] table"
    return config
