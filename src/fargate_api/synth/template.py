"""A small builder for one CloudFormation template.

It keeps resources and outputs in insertion order, so that the same config always gives
the same bytes, and refuses a logical id used twice, which CloudFormation would reject
only at deploy time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fargate_api.metadata_keys import SUPPRESSIONS
from fargate_api.synth.intrinsics import Json


@dataclass
class Template:
    description: str
    transform: str | None = None
    parameters: dict[str, Json] = field(default_factory=dict)
    resources: dict[str, Json] = field(default_factory=dict)
    outputs: dict[str, Json] = field(default_factory=dict)

    def parameter(self, name: str, type_: str, description: str, default: Any = None) -> None:
        body: Json = {"Type": type_, "Description": description}
        if default is not None:
            body["Default"] = default
        self.parameters[name] = body

    def add(
        self,
        logical_id: str,
        type_: str,
        properties: Json | None = None,
        *,
        depends_on: list[str] | None = None,
        retain: bool = False,
        policy: str | None = None,
    ) -> str:
        """Adds a resource; `retain` keeps it on delete and on replacement (data, egress IPs),
        `policy` sets both deletion policies explicitly to another value."""
        if logical_id in self.resources:
            raise ValueError(f"logical id {logical_id} used twice")
        body: Json = {"Type": type_}
        chosen = "Retain" if retain else policy
        if chosen:
            body["DeletionPolicy"] = chosen
            body["UpdateReplacePolicy"] = chosen
        if depends_on:
            body["DependsOn"] = depends_on
        if properties:
            body["Properties"] = properties
        self.resources[logical_id] = body
        return logical_id

    def suppress(self, logical_id: str, rule_id: str, reason: str) -> None:
        """Records a finding the config accepts on purpose, where `check` will read it."""
        metadata = self.resources[logical_id].setdefault("Metadata", {})
        entries = metadata.setdefault(SUPPRESSIONS, {}).setdefault("suppress", [])
        entries.append({"id": rule_id, "reason": reason})

    def output(self, name: str, value: Any, description: str) -> None:
        self.outputs[name] = {"Description": description, "Value": value}

    def to_dict(self) -> Json:
        doc: Json = {"AWSTemplateFormatVersion": "2010-09-09"}
        if self.transform:
            doc["Transform"] = self.transform
        doc["Description"] = self.description
        if self.parameters:
            doc["Parameters"] = self.parameters
        doc["Resources"] = self.resources
        if self.outputs:
            doc["Outputs"] = self.outputs
        return doc
