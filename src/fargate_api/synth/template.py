"""A small builder for one CloudFormation template.

It keeps resources and outputs in insertion order, so that the same config always gives
the same bytes, and refuses a logical id used twice, which CloudFormation would reject
only at deploy time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fargate_api.metadata_keys import (
    BUILD,
    CHECKOV,
    GUARD,
    GUARD_REASONS,
    GUARD_SUPPRESSED_RULES,
    LOCAL,
    SUPPRESSIONS,
)
from fargate_api.synth.intrinsics import Json


@dataclass
class Template:
    description: str
    transform: str | None = None
    metadata: dict[str, Json] = field(default_factory=dict)
    """The template's own Metadata (not a resource's): what a reader needs about the whole
    stack, such as the custom domain `deploy` finds the hosted zone of."""
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
        metadata = self._metadata(logical_id)
        entries = metadata.setdefault(SUPPRESSIONS, {}).setdefault("suppress", [])
        entries.append({"id": rule_id, "reason": reason})

    def local_command(self, logical_id: str, command: str) -> None:
        """How the local twin runs this task's image; the twin reads templates, never the
        config, so the config's `[local] command` travels in the template's Metadata."""
        self._metadata(logical_id).setdefault(SUPPRESSIONS, {})[LOCAL] = {"command": command}

    def build_instructions(self, logical_id: str, instructions: Json) -> None:
        """How to build this task's image (synth/build_metadata.py), for the same reason."""
        self._metadata(logical_id).setdefault(SUPPRESSIONS, {})[BUILD] = instructions

    def skip_checkov(self, logical_id: str, check_id: str, reason: str) -> None:
        """The same for checkov, in its own format: `checkov: skip: [{id, comment}]`."""
        entries = self._metadata(logical_id).setdefault(CHECKOV, {}).setdefault("skip", [])
        entries.append({"id": check_id, "comment": reason})

    def suppress_guard(self, logical_id: str, rule_name: str, reason: str) -> None:
        """The same for cfn-guard: `guard: SuppressedRules: [rule name]`, the convention of
        the AWS Guard Rules Registry, whose rules read it themselves. The list holds names
        only, so each reason goes beside it under `Reasons`, keyed by rule name (the AWS
        Control Tower rules read neither: the scanner tests apply them)."""
        block = self._metadata(logical_id).setdefault(GUARD, {})
        block.setdefault(GUARD_SUPPRESSED_RULES, []).append(rule_name)
        block.setdefault(GUARD_REASONS, {})[rule_name] = reason

    def accept(
        self,
        logical_id: str,
        reason: str,
        *,
        rule_id: str | None = None,
        checkov: tuple[str, ...] = (),
        guard: tuple[str, ...] = (),
    ) -> None:
        """One accepted risk, with one reason, for each scanner that reports it."""
        if rule_id is None and not checkov and not guard:
            raise ValueError(f"{logical_id}: an accepted risk needs at least one rule id")
        if rule_id is not None:
            self.suppress(logical_id, rule_id, reason)
        for check_id in checkov:
            self.skip_checkov(logical_id, check_id, reason)
        for rule_name in guard:
            self.suppress_guard(logical_id, rule_name, reason)

    def _metadata(self, logical_id: str) -> Json:
        metadata: Json = self.resources[logical_id].setdefault("Metadata", {})
        return metadata

    def output(self, name: str, value: Any, description: str) -> None:
        self.outputs[name] = {"Description": description, "Value": value}

    def to_dict(self) -> Json:
        doc: Json = {"AWSTemplateFormatVersion": "2010-09-09"}
        if self.transform:
            doc["Transform"] = self.transform
        doc["Description"] = self.description
        if self.metadata:
            doc["Metadata"] = self.metadata
        if self.parameters:
            doc["Parameters"] = self.parameters
        doc["Resources"] = self.resources
        if self.outputs:
            doc["Outputs"] = self.outputs
        return doc
