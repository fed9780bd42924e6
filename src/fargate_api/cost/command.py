"""`fargate-api cost`: the estimate as a table or JSON on stdout, notes on stderr.

Inputs are templates either way: synthesized in memory from the config, or read with
-t (files, folders, several stacks linked by exports). Prices are the bundled table's,
or the Price List API's with --live.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fargate_api.aws_errors import aws_errors
from fargate_api.cli_options import EnvOption, TemplatesOption
from fargate_api.config import load_config
from fargate_api.cost import live_prices
from fargate_api.cost.estimate import Assumptions, Estimate, estimate
from fargate_api.cost.inventory import Inventory, from_stack_set
from fargate_api.cost.live_prices import PRICING_REGION, PricingClient
from fargate_api.cost.prices import (
    PRICE_KEYS,
    PriceTable,
    bundled_regions,
    empty_table,
    load_bundled,
)
from fargate_api.cost.report import CostLine, CostReport, CostVariant, ServiceSubtotal
from fargate_api.cost.variants import Variant, cheaper_variants
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, to_yaml
from fargate_api.templates import (
    DiskReader,
    MemoryReader,
    StackInput,
    TemplateReader,
    discover,
    load_stacks,
    parse_stack_inputs,
)
from fargate_api.templates.linked import linked_groups

DEFAULT_REGION = "us-east-1"

stdout = Console(highlight=False, emoji=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def make_pricing_client(profile: str | None) -> PricingClient | None:
    """A Price List API client, or None when no credentials are configured."""
    import boto3  # noqa: PLC0415 - 0.2 s to import, needed only with --live

    with aws_errors():
        session = boto3.Session(profile_name=profile)
        if session.get_credentials() is None:
            return None
        client: PricingClient = session.client("pricing", region_name=PRICING_REGION)
        return client


def load_inventory(
    config: Path | None, templates: list[str] | None, env: str | None = None
) -> tuple[Inventory, str]:
    """What the templates create: from -t (files, folders, NAME=PATH), or synthesized in
    memory from the config (its environment `env`)."""
    if (config is not None or env is not None) and templates:
        raise UserError(
            "pass -c CONFIG or -t DIR, not both", fix="drop one of them (--env goes with -c)"
        )
    reader: TemplateReader
    paths: list[Path | StackInput]
    if templates:
        reader, paths = DiskReader(), list(parse_stack_inputs(templates))
        origin = f"templates in {', '.join(templates)}"
    else:
        model = load_config(config, env)
        files = {Path(n): to_yaml(t.to_dict()) for n, t in synthesize(model).items()}
        reader, paths = MemoryReader(files), list(files)
        origin = f"templates synthesized from {config or 'the default config'}"
        if env is not None:
            origin += f", environment {env}"
    found = discover(paths, reader)
    # Stacks linked by imports are one deployment; unrelated ones in a folder add up.
    stack_sets = linked_groups(load_stacks(found.stacks, reader=reader))
    inventories = [from_stack_set(s) for s in stack_sets]
    return _merge(inventories), origin


def _merge(inventories: list[Inventory]) -> Inventory:
    """Several unrelated root templates in one folder add up."""
    first = inventories[0]
    for other in inventories[1:]:
        first = first.evolve(
            nat_gateways=first.nat_gateways + other.nat_gateways,
            nat_eips=first.nat_eips + other.nat_eips,
            other_eips=first.other_eips + other.other_eips,
            load_balancers=first.load_balancers + other.load_balancers,
            load_balancer_public_ips=first.load_balancer_public_ips
            + other.load_balancer_public_ips,
            private_subnets=max(first.private_subnets, other.private_subnets),
            interface_endpoints=first.interface_endpoints + other.interface_endpoints,
            tasks=first.tasks + other.tasks,
            log_groups=first.log_groups + other.log_groups,
            notes=first.notes + other.notes,
        )
    return first


def resolve_prices(region: str, live: bool, profile: str | None) -> PriceTable:
    bundled = region in bundled_regions()
    if not live:
        return load_bundled(region)
    table = load_bundled(region) if bundled else empty_table(region)
    client = make_pricing_client(profile)
    if client is None:
        if not bundled:
            raise UserError(
                f"--live needs AWS credentials for region {region!r}, which has no bundled prices",
                fix="configure credentials ('aws configure' or --profile) or choose one of "
                f"{', '.join(bundled_regions())}",
            )
        stderr.print("note: no AWS credentials; --live falls back to the bundled prices")
        return table
    stderr.print(f"fetching {region} prices from the AWS Price List API ({PRICING_REGION})…")
    today = datetime.now(UTC).date().isoformat()
    with aws_errors():
        fetched = live_prices.fetch(client, region, today)
    missing = [key for key in PRICE_KEYS if key not in fetched]
    if missing and not bundled:
        raise UserError(
            f"the Price List API has no price for {', '.join(missing)} in {region!r}",
            fix="check the region name; bundled regions: " + ", ".join(bundled_regions()),
        )
    if missing:
        stderr.print(f"note: not in the Price List API answer, bundled: {', '.join(missing)}")
    return table.with_prices(fetched)


def _region(region: str | None) -> str:
    return (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )


def cost_command(
    *,
    config: Annotated[
        Path | None, typer.Option("-c", "--config", help="The config to synthesize and price.")
    ] = None,
    env: EnvOption = None,
    templates: TemplatesOption = None,
    region: Annotated[
        str | None,
        typer.Option(help="Region to price. Default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1."),
    ] = None,
    traffic_gb: Annotated[
        float, typer.Option(min=0, help="GB per month out to the internet through the ALB.")
    ] = Assumptions.traffic_gb,
    egress_gb: Annotated[
        float,
        typer.Option(min=0, help="GB per month the tasks send out (NAT or VPC endpoints)."),
    ] = Assumptions.egress_gb,
    log_gb: Annotated[
        float, typer.Option(min=0, help="GB per month of task logs.")
    ] = Assumptions.log_gb,
    flow_log_gb: Annotated[
        float, typer.Option(min=0, help="GB per month of VPC flow logs.")
    ] = Assumptions.flow_log_gb,
    lcus: Annotated[
        float, typer.Option(min=0, help="Average ALB LCUs per hour, at least.")
    ] = Assumptions.lcus,
    live: Annotated[
        bool, typer.Option("--live", help="Fetch current prices from the AWS Price List API.")
    ] = False,
    profile: Annotated[str | None, typer.Option(help="AWS profile for --live.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Estimate the monthly cost of the templates, and the cheaper variants' trade-offs."""
    assumptions = Assumptions(traffic_gb, egress_gb, log_gb, flow_log_gb, lcus)
    target = _region(region)
    inventory, origin = load_inventory(config, templates, env)
    prices = resolve_prices(target, live, profile)
    result = estimate(inventory, prices, assumptions)
    variants = cheaper_variants(inventory, prices, assumptions)
    for note in (*inventory.notes, *result.notes):
        stderr.print(f"note: {escape(note)}")
    report = to_report(
        result,
        variants=variants,
        assumptions=assumptions,
        prices=prices,
        origin=origin,
        inventory_notes=inventory.notes,
    )
    if as_json:
        stdout.print_json(report.model_dump_json())
    else:
        _print(result, variants, report)


def to_report(
    result: Estimate,
    *,
    variants: list[Variant],
    assumptions: Assumptions,
    prices: PriceTable,
    origin: str,
    inventory_notes: tuple[str, ...] = (),
) -> CostReport:
    """The --json result: every line with its price source and date."""
    total = result.total
    return CostReport(
        region=result.region,
        inputs=origin,
        assumptions=assumptions.describe(prices.hours_per_month),
        notes=[*inventory_notes, *result.notes],
        lines=[CostLine(**line.to_dict()) for line in result.lines],
        monthly_total=round(total, 2),
        by_service=[
            ServiceSubtotal(service=name, monthly_total=round(amount, 2))
            for name, amount in result.by_service().items()
        ],
        variants=[
            CostVariant(
                name=v.name,
                config=v.config,
                monthly_total=round(v.estimate.total, 2),
                saving=round(total - v.estimate.total, 2),
                trade_off=v.trade_off,
            )
            for v in variants
        ],
    )


def _short_source(source: str, as_of: str) -> str:
    """The table's column; --json carries the full source (page or API usage type)."""
    origin = "Price List API" if source.startswith("AWS Price List API") else "bundled"
    return f"{origin}, {as_of}"


def _print_by_service(result: Estimate) -> None:
    """Subtotals once there are several services to tell apart; one service's would only
    repeat its lines."""
    totals = result.by_service()
    if len(totals) < 2:
        return
    table = Table(title="By service (its tasks and log groups; the shared network, load "
                  "balancer and traffic are in no service)")  # fmt: skip
    table.add_column("service")
    table.add_column("monthly", justify="right")
    for name, amount in totals.items():
        table.add_row(escape(name), f"{amount:,.2f}")
    stdout.print(table)


def _print(result: Estimate, variants: list[Variant], report: CostReport) -> None:
    table = Table(title=f"Monthly estimate, {result.region} (USD, list prices, no free tier)")
    for column in ("category", "item", "quantity", "unit price", "monthly", "price source"):
        table.add_column(column, justify="right" if column in ("monthly", "quantity") else "left")
    for line in result.lines:
        table.add_row(
            line.category,
            escape(line.item),
            f"{line.quantity:,.2f} {line.unit}",
            f"{line.unit_price:g}",
            f"{line.monthly:,.2f}",
            escape(_short_source(line.source, line.as_of)),
        )
    table.add_row("", "[bold]total[/bold]", "", "", f"[bold]{result.total:,.2f}[/bold]", "")
    stdout.print(table)
    stdout.print("Sources: --json lists each price's page or Price List API usage type.")
    _print_by_service(result)
    assumptions = Table(title="Assumptions (flags)", show_header=False)
    for key, text in report.assumptions.items():
        flag = "hours per month" if key == "hours_per_month" else "--" + key.replace("_", "-")
        assumptions.add_row(flag, escape(text))
    stdout.print(assumptions)
    if not variants:
        stdout.print("No cheaper variant applies.")
        return
    cheaper = Table(title="Cheaper variants", show_lines=True)
    for column in ("variant", "config", "monthly", "saving", "trade-off"):
        cheaper.add_column(column)
    for v in variants:
        cheaper.add_row(
            v.name,
            escape(v.config),
            f"{v.estimate.total:,.2f}",
            f"{result.total - v.estimate.total:,.2f}",
            escape(v.trade_off),
        )
    stdout.print(cheaper)
