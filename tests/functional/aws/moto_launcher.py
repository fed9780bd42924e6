"""Starts a moto server with two test-harness workarounds for moto 5's limits.

This file is test harness, not product code. moto 5.2.5 executes a change set without
recomputing the stack's outputs (it does so only for CreateStack/UpdateStack), and it
runs a custom resource's Lambda in Docker. Our templates are right to use both; so the
harness (1) recomputes outputs after moto applies a change set and (2) answers custom
resources as created without running their Lambda. moto also cannot delete a stack's NAT
gateways, route tables and gateway attachment, so deleting the VPC fails with a
DependencyViolation that real CloudFormation avoids by deleting in dependency order;
(3) the harness lets moto's stack delete finish past what moto cannot delete. Nothing
else about moto is changed.

Usage: python moto_launcher.py PORT   (listens on 127.0.0.1 only)
"""

from __future__ import annotations

import sys
from typing import Any

from moto.cloudformation import custom_model, models, parsing
from moto.server import main


def _apply_with_outputs(self: Any) -> None:
    _original_apply(self)
    self.stack.template = self.template
    self.stack._parse_template()
    self.stack.output_map = self.stack._create_output_map()


def _custom_resource_without_lambda(
    cls: Any,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    resource = custom_model.CustomModel(region_name, "harness", kwargs["LogicalId"], resource_name)
    resource.set_data({})
    return resource


def _delete_what_moto_can(self: Any) -> None:
    try:
        _original_delete(self)
    except Exception as exc:
        print(f"moto_launcher: moto could not delete every resource: {exc}", file=sys.stderr)


_original_apply = models.ChangeSet.apply
_original_delete = parsing.ResourceMap.delete
parsing.ResourceMap.delete = _delete_what_moto_can  # type: ignore[method-assign]
models.ChangeSet.apply = _apply_with_outputs  # type: ignore[method-assign]
custom_model.CustomModel.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign,assignment]
    _custom_resource_without_lambda
)

if __name__ == "__main__":
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
