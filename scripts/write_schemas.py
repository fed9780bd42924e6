"""Writes docs/schemas/*.schema.json from the typed contracts (`make schemas`).

The documents other programs read (the twin's state.json and `local status --json`, the
requests `local deploy`/`local scale` hand the daemon and its answers, the AWS back-end's
--json results) are pydantic models; their JSON Schemas are generated here, never
edited by hand. tests/unit/test_schemas_current.py fails when a file and its model
drift apart; `python scripts/write_schemas.py --check` says the same and exits 1.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from fargate_api.aws.results import (
    DeployFailure,
    DeployResult,
    OutputsResult,
    RollbackResult,
    StatusResult,
)
from fargate_api.config.view import ConfigView
from fargate_api.cost.report import CostReport
from fargate_api.images.report import BuildReport
from fargate_api.synth.environment_diff import EnvironmentDiff
from fargate_api.twin.daemon.contracts import (
    REQUEST,
    LaunchSpec,
    TwinAnswer,
    TwinState,
    TwinStatusReport,
)
from fargate_api.twin.ecs.endpoint_contracts import (
    ContainerMetadata,
    CredentialsDocument,
    TaskEndpoints,
    TaskMetadata,
)
from fargate_api.twin.fis.experiment_contracts import ExperimentReport

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Contract:
    file: str
    title: str
    description: str
    adapter: TypeAdapter[Any]


CONTRACTS = (
    Contract(
        "config-view.schema.json",
        "fargate-api config --env NAME --json",
        "Every key of the environment's config, dotted, with its value and its source.",
        TypeAdapter(ConfigView),
    ),
    Contract(
        "environment-diff.schema.json",
        "fargate-api diff --env A --env B --json",
        "The templates that differ between two environments, each with a unified diff.",
        TypeAdapter(EnvironmentDiff),
    ),
    Contract(
        "cost-report.schema.json",
        "fargate-api cost --json",
        "The monthly estimate: every line with its price's source and date, each service's "
        "subtotal, and the cheaper variants with what they give up.",
        TypeAdapter(CostReport),
    ),
    Contract(
        "build-result.schema.json",
        "fargate-api build --json",
        "The images built from the templates' build instructions, in the local store.",
        TypeAdapter(BuildReport),
    ),
    Contract(
        "twin-state.schema.json",
        "Local twin state (state.json)",
        "Written by the twin's daemon after every change, read by every `local` command.",
        TypeAdapter(TwinState),
    ),
    Contract(
        "twin-status.schema.json",
        "fargate-api local status --json",
        "Also what `local up --json` prints: the stable keys first, then state.json's others.",
        TypeAdapter(TwinStatusReport),
    ),
    Contract(
        "twin-launch.schema.json",
        "Local twin launch spec (launch.json)",
        "What `local up` asked for, read by the daemon it starts.",
        TypeAdapter(LaunchSpec),
    ),
    Contract(
        "twin-request.schema.json",
        "Local twin change request (request.json)",
        "`local deploy` and `local scale` to the twin's daemon; `kind` says which.",
        REQUEST,
    ),
    Contract(
        "twin-answer.schema.json",
        "Local twin answer (answer.json)",
        "The daemon's answer to a request, with the request's id.",
        TypeAdapter(TwinAnswer),
    ),
    Contract(
        "aws-deploy-result.schema.json",
        "fargate-api deploy --json",
        "ok: true with what each stack did, or ok: false with the failure (exit 1).",
        TypeAdapter(DeployResult | DeployFailure),
    ),
    Contract(
        "aws-outputs.schema.json",
        "fargate-api outputs --json",
        "The URL, the egress IPs and every stack's outputs.",
        TypeAdapter(OutputsResult),
    ),
    Contract(
        "aws-status.schema.json",
        "fargate-api status --json",
        "The outputs, plus running/desired tasks, deployments and target health.",
        TypeAdapter(StatusResult),
    ),
    Contract(
        "aws-rollback-result.schema.json",
        "fargate-api rollback --json",
        "The service deployment rolled back and how it ended; ok: false (exit 1) when the "
        "rollback failed or did not happen.",
        TypeAdapter(RollbackResult),
    ),
    Contract(
        "experiment-report.schema.json",
        "fargate-api local experiment --json",
        "Also DIR/report.json: per-second rows, totals, time to recover, egress continuity "
        "per AZ, and the verdict on each stop condition.",
        TypeAdapter(ExperimentReport),
    ),
    Contract(
        "twin-task-endpoints.schema.json",
        "Local twin task endpoints document",
        "Written by the twin's daemon for the task metadata and credentials endpoint server.",
        TypeAdapter(TaskEndpoints),
    ),
    Contract(
        "ecs-task-metadata-v4.schema.json",
        "ECS task metadata v4: ${ECS_CONTAINER_METADATA_URI_V4}/task",
        "What the twin's endpoint at 169.254.170.2 serves for a task (Fargate's keys).",
        TypeAdapter(TaskMetadata),
    ),
    Contract(
        "ecs-container-metadata-v4.schema.json",
        "ECS container metadata v4: ${ECS_CONTAINER_METADATA_URI_V4}",
        "What the twin's endpoint at 169.254.170.2 serves for a container (Fargate's keys).",
        TypeAdapter(ContainerMetadata),
    ),
    Contract(
        "ecs-task-credentials.schema.json",
        "ECS task credentials: 169.254.170.2${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}",
        "The credentials document the AWS SDKs' container credentials provider reads.",
        TypeAdapter(CredentialsDocument),
    ),
)


def schema(contract: Contract) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "title": contract.title,
        "description": contract.description,
        **contract.adapter.json_schema(mode="serialization"),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """The schema files that are missing or differ from their model (compared as JSON)."""
    found = []
    for contract in CONTRACTS:
        path = directory / contract.file
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if current != schema(contract):
            found.append(contract.file)
    return found


def main(argv: list[str]) -> int:
    if "--check" in argv:
        out_of_date = stale()
        if out_of_date:
            print(f"out of date: {', '.join(out_of_date)}; run `make schemas`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for contract in CONTRACTS:
        (SCHEMA_DIR / contract.file).write_text(render(schema(contract)), encoding="utf-8")
        print(SCHEMA_DIR / contract.file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
