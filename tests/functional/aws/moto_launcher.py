"""Starts a moto server with the test-harness workarounds for moto 5's limits.

This file is test harness, not product code. moto 5.2.5 cannot delete a stack's NAT
gateways, route tables and gateway attachment, so deleting the VPC stack fails with a
DependencyViolation that real CloudFormation avoids by deleting in dependency order; the
harness lets moto's stack delete finish past what moto cannot delete. moto 5.2.5 also
computes a change set from the template alone, so a change of parameters only (a new
image digest) is "no changes", and it keeps a stack's old parameters after executing an
update; the harness lists the resources that use a changed parameter as Modify, as
CloudFormation does, and records the new parameters. (moto's update still leaves a task
definition whose image comes through `Fn::Sub` as it was: tests read the deployed digest
from the stack's parameters.) moto 5.2 has ACM but no CloudFormation model for
`AWS::CertificateManager::Certificate` (a stack with one fails at the listener that names
it): the harness adds one that requests the certificate from moto's ACM and completes at
once (the certificate stays PENDING_VALIDATION), so nothing of DNS validation is
exercised. Nothing else about moto is changed: in particular moto's change sets still
report no outputs, which the product handles itself (src/fargate_api/aws/
derived_outputs.py). tests/functional/aws/test_plain_moto.py runs the deploy flow against
an unpatched moto server too.

Usage: python moto_launcher.py PORT   (listens on 127.0.0.1 only)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.cloudformation import models, parsing
from moto.core.common_models import CloudFormationModel
from moto.server import main


def _delete_what_moto_can(self: Any) -> None:
    try:
        _original_delete(self)
    except Exception as exc:
        print(f"moto_launcher: moto could not delete every resource: {exc}", file=sys.stderr)


_original_delete = parsing.ResourceMap.delete
parsing.ResourceMap.delete = _delete_what_moto_can  # type: ignore[method-assign]


def _uses(body: Any, parameter: str) -> bool:
    text = json.dumps(body)
    return f'"Ref": "{parameter}"' in text or "${" + parameter + "}" in text


def _diff_with_parameters(self: Any) -> list[Any]:
    changes: list[Any] = _original_diff(self)
    if changes or self.change_set_type != "UPDATE":
        return changes
    old = self.stack.parameters or {}
    changed = [k for k, v in (self.parameters or {}).items() if old.get(k) != v]
    for logical_id, body in (self.template_dict.get("Resources") or {}).items():
        if any(_uses(body, name) for name in changed):
            changes.append(models.Change("Modify", logical_id, body.get("Type", "")))
    return changes


def _execute_and_keep_parameters(self: Any, change_set_name: str, stack_name: Any = None) -> None:
    change_set = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
    )
    _original_execute(self, change_set_name, stack_name)
    if change_set is not None and change_set.parameters:
        self.stacks[change_set.stack_id].parameters = dict(change_set.parameters)


_original_diff = models.ChangeSet.diff
models.ChangeSet.diff = _diff_with_parameters  # type: ignore[method-assign]
_original_execute = models.CloudFormationBackend.execute_change_set
models.CloudFormationBackend.execute_change_set = _execute_and_keep_parameters  # type: ignore[method-assign]


class _Certificate(CloudFormationModel):
    """AWS::CertificateManager::Certificate, requested from moto's ACM (DomainName and
    SubjectAlternativeNames only; its DomainValidationOptions are not read)."""

    # moto files every model class under the service its module names (moto.<service>.*).
    __module__ = "moto.acm.cloudformation_model"

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CertificateManager::Certificate"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _Certificate:
        from moto.acm.models import acm_backends  # noqa: PLC0415 (slow: only when used)

        props = cloudformation_json["Properties"]
        backend = acm_backends[account_id][region_name]
        names = props.get("SubjectAlternativeNames") or []
        return cls(backend.request_certificate(props["DomainName"], None, names, []))

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.acm.models import acm_backends  # noqa: PLC0415

        acm_backends[account_id][region_name].delete_certificate(self.arn)


if __name__ == "__main__":
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
