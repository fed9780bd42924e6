"""`fargate-api cost --json`'s result, typed: every line with its price's source and date.

Scripts budget with it (the total, a service's share, a variant's saving), so its shape is
a contract with a schema in docs/schemas/ like every other --json result, not whatever
the printing code happened to build.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CostLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    category: str = Field(description='"NAT gateway", "Fargate x86", "CloudWatch Logs", ...')
    item: str = Field(description="What is counted, e.g. 'api: 2 task(s) x 0.25 vCPU x 730 h'.")
    quantity: float
    unit: str
    unit_price: float = Field(description="USD per unit.")
    monthly: float = Field(description="USD per month, rounded to a millionth.")
    price_key: str = Field(description="The price's key in prices.toml.")
    source: str = Field(description="The bundled table's page, or the Price List API's usage.")
    as_of: str = Field(description="The date of the price (YYYY-MM-DD).")
    service: str | None = Field(
        description="The ECS service the line is for (its name as the templates resolve it, "
        "else its stack and logical id); null for what the services share."
    )


class ServiceSubtotal(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    monthly_total: float = Field(description="USD per month of the lines naming the service.")


class CostVariant(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    config: str = Field(description="The config change that gives it.")
    monthly_total: float
    saving: float = Field(description="USD per month less than the estimate.")
    trade_off: str


class CostReport(BaseModel):
    """`fargate-api cost --json`."""

    model_config = ConfigDict(frozen=True)

    region: str
    currency: str = "USD"
    inputs: str = Field(description="The templates priced: a folder, or synthesized from.")
    list_prices_without_free_tier: bool = True
    assumptions: dict[str, str] = Field(description="Usage no template states, by flag.")
    notes: list[str] = Field(description="Values assumed because the templates do not say.")
    lines: list[CostLine]
    monthly_total: float
    by_service: list[ServiceSubtotal] = Field(
        description="Each service's own lines (its tasks and log groups) added up, in the "
        "order of the lines; the network, load balancer and traffic they share are in none."
    )
    variants: list[CostVariant] = Field(description="Cheaper variants, cheapest first.")
