"""Inventory x prices x assumptions = monthly line items, each with its price's source.

Usage that the templates cannot know (traffic, log volume, LCUs) comes from Assumptions,
which the output prints next to the lines so a reader can redo any line by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fargate_api.cost.inventory import Inventory, TaskGroup
from fargate_api.cost.prices import PRICE_KEYS, PriceTable

DAYS_PER_MONTH = 30.4
NEVER_EXPIRES_MONTHS = 12  # logs without retention: priced as one year's accumulation
ALB_GB_PER_LCU_HOUR = 1.0  # processed bytes dimension of an LCU for IP/instance targets


@dataclass(frozen=True)
class Assumptions:
    """Usage per month that no template states; each one is a command-line flag."""

    traffic_gb: float = 100.0  # responses to the internet through the ALB
    egress_gb: float = 20.0  # tasks' outbound: image pulls, logs, API calls (NAT or endpoints)
    log_gb: float = 5.0  # ingested into the tasks' log groups
    flow_log_gb: float = 2.0  # ingested into VPC flow log groups
    lcus: float = 1.0  # average LCUs per ALB-hour, at least

    def describe(self, hours: float) -> dict[str, str]:
        return {
            "traffic_gb": f"{self.traffic_gb:g} GB/month out to the internet through the ALB",
            "egress_gb": f"{self.egress_gb:g} GB/month from the tasks through the NAT "
            "gateways, or through the interface endpoints when the templates create them",
            "log_gb": f"{self.log_gb:g} GB/month into the tasks' log groups",
            "flow_log_gb": f"{self.flow_log_gb:g} GB/month into VPC flow log groups",
            "lcus": f"{self.lcus:g} LCU per ALB-hour at least (more if traffic needs it: "
            f"{ALB_GB_PER_LCU_HOUR:g} GB processed per LCU-hour)",
            "hours_per_month": f"{hours:g}",
        }


@dataclass(frozen=True)
class LineItem:
    category: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float
    price_key: str
    source: str
    as_of: str
    service: str | None = None  # the ECS service the line is for; None: shared by all

    def to_dict(self) -> dict[str, Any]:
        """JSON form; money rounded to a millionth of a dollar, away from float noise."""
        data = asdict(self)
        data["quantity"] = round(self.quantity, 6)
        data["monthly"] = round(self.monthly, 6)
        return data


@dataclass(frozen=True)
class Estimate:
    region: str
    lines: tuple[LineItem, ...]
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def by_service(self) -> dict[str, float]:
        """Each service's own lines (its tasks, its log groups) added up, in the order the
        services first appear; the network and the load balancer they share are not split."""
        totals: dict[str, float] = {}
        for line in self.lines:
            if line.service is not None:
                totals[line.service] = totals.get(line.service, 0.0) + line.monthly
        return totals


class _Builder:
    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.lines: list[LineItem] = []
        self.notes: list[str] = []

    def add(
        self, category: str, item: str, quantity: float, key: str, service: str | None = None
    ) -> None:
        if quantity <= 0:
            return
        price = self.prices[key]
        self.lines.append(
            LineItem(
                category=category,
                item=item,
                quantity=quantity,
                unit=PRICE_KEYS[key][0],
                unit_price=price.usd,
                monthly=quantity * price.usd,
                price_key=key,
                source=price.source,
                as_of=price.as_of,
                service=service,
            )
        )


def estimate(inventory: Inventory, prices: PriceTable, assumptions: Assumptions) -> Estimate:
    """The monthly line items of `inventory` in `prices`' region."""
    hours = prices.hours_per_month
    b = _Builder(prices)
    nats = inventory.nat_gateways
    if nats:
        b.add(
            "NAT gateway", f"{nats} NAT gateway(s) x {hours:g} h", nats * hours, "nat_gateway_hour"
        )
    endpoint_azs = sum(e.subnets for e in inventory.interface_endpoints)
    if nats and not endpoint_azs:
        b.add("NAT gateway", "data processed", assumptions.egress_gb, "nat_gateway_gb")
    if inventory.load_balancers:
        albs = inventory.load_balancers
        b.add("Load balancer", f"{albs} ALB(s) x {hours:g} h", albs * hours, "alb_hour")
        lcus = max(assumptions.lcus, assumptions.traffic_gb / hours / ALB_GB_PER_LCU_HOUR)
        b.add("Load balancer", f"{lcus:g} LCU x {hours:g} h", albs * lcus * hours, "alb_lcu_hour")
    for group in inventory.tasks:
        _fargate(b, group, hours)
    ips = inventory.nat_eips + inventory.other_eips + inventory.load_balancer_public_ips
    if ips:
        what = (
            f"{inventory.nat_eips} NAT EIP(s), {inventory.other_eips} other EIP(s), "
            f"{inventory.load_balancer_public_ips} ALB IP(s), x {hours:g} h"
        )
        b.add("Public IPv4", what, ips * hours, "public_ipv4_hour")
    if endpoint_azs:
        names = ", ".join(sorted(e.service for e in inventory.interface_endpoints))
        b.add(
            "VPC endpoints",
            f"{endpoint_azs} endpoint-AZs ({names}) x {hours:g} h",
            endpoint_azs * hours,
            "interface_endpoint_hour",
        )
        b.add("VPC endpoints", "data processed", assumptions.egress_gb, "interface_endpoint_gb")
    _logs(b, inventory, assumptions)
    b.add("Data transfer", "out to the internet", assumptions.traffic_gb, "data_transfer_out_gb")
    return Estimate(region=prices.region, lines=tuple(b.lines), notes=tuple(b.notes))


def _fargate(b: _Builder, group: TaskGroup, hours: float) -> None:
    arm = group.architecture == "ARM64"
    kind = "ARM" if arm else "x86"
    on_demand = group.on_demand_tasks
    spot = group.spot_tasks
    if arm and spot:
        # Fargate Spot does not run ARM64 tasks; price them as on-demand ARM and say so.
        on_demand, spot = on_demand + spot, 0.0
        b.notes.append(
            f"{group.service}: Fargate Spot does not run ARM64 tasks; its spot share is "
            "priced as on-demand ARM"
        )
    prefix = "fargate_arm" if arm else "fargate"
    rows = (
        (f"Fargate {kind}", on_demand, "task(s)", prefix),
        ("Fargate Spot", spot, "spot task(s)", "fargate_spot"),
    )
    for category, count, label, key in rows:
        what = f"{group.service}: {count:g} {label}"
        b.add(
            category,
            f"{what} x {group.vcpu:g} vCPU x {hours:g} h",
            count * group.vcpu * hours,
            f"{key}_vcpu_hour",
            group.service,
        )
        b.add(
            category,
            f"{what} x {group.memory_gb:g} GB x {hours:g} h",
            count * group.memory_gb * hours,
            f"{key}_gb_hour",
            group.service,
        )


def _logs(b: _Builder, inventory: Inventory, assumptions: Assumptions) -> None:
    volume = {"tasks": assumptions.log_gb, "flow-logs": assumptions.flow_log_gb}
    for group in inventory.log_groups:
        gb = volume.get(group.kind, 0.0)
        tasks = sum(1 for g in inventory.log_groups if g.kind == group.kind)
        gb = gb / tasks if tasks else 0.0  # the assumption is per kind, shared by its groups
        if gb <= 0:
            continue
        b.add("CloudWatch Logs", f"{group.name}: ingestion", gb, "logs_ingest_gb", group.service)
        months = (
            group.retention_days / DAYS_PER_MONTH if group.retention_days else NEVER_EXPIRES_MONTHS
        )
        kept = (
            "never expires: 12 months kept"
            if not group.retention_days
            else (f"{group.retention_days} d retention")
        )
        b.add(
            "CloudWatch Logs",
            f"{group.name}: storage ({kept}, uncompressed upper bound)",
            gb * months,
            "logs_storage_gb_month",
            group.service,
        )
