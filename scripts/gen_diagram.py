#!/usr/bin/env python3
"""Draws the default environment's architecture into docs/diagram.png for the README.

    python scripts/gen_diagram.py              # writes docs/diagram.png
    python scripts/gen_diagram.py -o x.svg     # another path or format (.png, .svg)

The picture is what `fargate-api diagram` draws for the defaults (no config file), made
through the same code path: synthesize, load the templates through the loader, build the
model, render with `diagrams`. It ignores any ./fargate-api.toml, so the README always
shows the defaults. Needs Graphviz's `dot` (scripts/install-system-deps.sh installs it).

Exit codes: 0 written, 2 bad usage or Graphviz missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fargate_api.config import Config
from fargate_api.diagram.command import output_format, synthesized_stack_set
from fargate_api.diagram.model import build_model
from fargate_api.diagram.render import render
from fargate_api.errors import USAGE_EXIT_CODE, UserError

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "docs" / "diagram.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    output: Path = args.output
    try:
        fmt = output_format(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        render(build_model(synthesized_stack_set(Config())), output, fmt)
    except UserError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return USAGE_EXIT_CODE
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
