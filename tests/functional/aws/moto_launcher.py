"""Starts a moto server with one test-harness workaround for moto 5's limits.

This file is test harness, not product code. moto 5.2.5 cannot delete a stack's NAT
gateways, route tables and gateway attachment, so deleting the VPC stack fails with a
DependencyViolation that real CloudFormation avoids by deleting in dependency order; the
harness lets moto's stack delete finish past what moto cannot delete. Nothing else about
moto is changed: in particular moto's change sets still report no outputs, which the
product handles itself (src/fargate_api/aws/derived_outputs.py). tests/functional/aws/
test_plain_moto.py runs the deploy flow against an unpatched moto server too.

Usage: python moto_launcher.py PORT   (listens on 127.0.0.1 only)
"""

from __future__ import annotations

import sys
from typing import Any

from moto.cloudformation import parsing
from moto.server import main


def _delete_what_moto_can(self: Any) -> None:
    try:
        _original_delete(self)
    except Exception as exc:
        print(f"moto_launcher: moto could not delete every resource: {exc}", file=sys.stderr)


_original_delete = parsing.ResourceMap.delete
parsing.ResourceMap.delete = _delete_what_moto_can  # type: ignore[method-assign]

if __name__ == "__main__":
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
