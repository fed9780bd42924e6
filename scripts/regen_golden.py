#!/usr/bin/env python3
"""Regenerates the golden templates of every variant config, or checks them for drift.

    python scripts/regen_golden.py            # rewrite tests/golden/<variant>/*.yml
    python scripts/regen_golden.py --check    # report drift, write nothing; exit 1 on drift

A variant is one file tests/variants/<variant>.toml. Its templates are synthesized through
the package API on the same path as `fargate-api synth -c <variant>.toml` (load_config,
synthesize, write_templates), so the goldens are byte for byte what the CLI writes: the
four files of one [service], or load-balancer.yml and a service-<name>.yml per service
for [[services]] (and repository.yml for built services).
Output is deterministic: the same sources always give the same files.

Exit codes: 0 done (or no drift), 1 drift found or a variant failed to synthesize,
2 bad usage (for example a missing variants folder).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fargate_api.config import load_config
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, write_templates
from fargate_api.synth.template import Template

REPO = Path(__file__).resolve().parent.parent
VARIANTS_DIR = REPO / "tests" / "variants"
GOLDEN_DIR = REPO / "tests" / "golden"
MAX_DIFF_LINES = 40


@dataclass
class Report:
    """What a run found: per-variant drift descriptions and synthesis failures."""

    drift: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drift and not self.failures


def variant_files(variants_dir: Path) -> list[Path]:
    """The variant configs, sorted by name so that every run visits them in one order."""
    return sorted(variants_dir.glob("*.toml"))


def synthesize_variant(config_path: Path) -> dict[str, Template]:
    """The templates of one variant, built exactly as the CLI builds them."""
    return synthesize(load_config(config_path))


def _text_diff(expected: Path, actual: Path, label: str) -> list[str]:
    lines = list(
        difflib.unified_diff(
            expected.read_text(encoding="utf-8").splitlines(),
            actual.read_text(encoding="utf-8").splitlines(),
            fromfile=f"golden/{label}",
            tofile=f"synthesized/{label}",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines"]
    return lines


def compare_dirs(variant: str, golden: Path, fresh: Path, names: Sequence[str]) -> list[str]:
    """Drift between a variant's golden folder and its freshly synthesized templates
    `names` (written to `fresh`)."""
    problems: list[str] = []
    if not golden.is_dir():
        return [f"{variant}: no golden folder {golden}"]
    for name in names:
        expected, actual = golden / name, fresh / name
        if not expected.is_file():
            problems.append(f"{variant}/{name}: golden file missing")
        elif expected.read_bytes() != actual.read_bytes():
            diff = _text_diff(expected, actual, f"{variant}/{name}")
            problems.append(f"{variant}/{name}: differs\n" + "\n".join(diff))
    extra = sorted(p.name for p in golden.iterdir() if p.name not in names)
    problems.extend(f"{variant}/{name}: stale file, not a template" for name in extra)
    return problems


def stale_golden_dirs(golden_dir: Path, variants: Sequence[str]) -> list[Path]:
    """Golden folders whose variant config no longer exists."""
    if not golden_dir.is_dir():
        return []
    return sorted(p for p in golden_dir.iterdir() if p.is_dir() and p.name not in variants)


def run(variants_dir: Path, golden_dir: Path, check: bool) -> Report:
    report = Report()
    configs = variant_files(variants_dir)
    names = [p.stem for p in configs]
    with tempfile.TemporaryDirectory(prefix="fargate-api-golden-") as scratch:
        for config_path in configs:
            variant = config_path.stem
            try:
                templates = synthesize_variant(config_path)
            except UserError as exc:
                report.failures.append(f"{variant}: {exc.render()}")
                continue
            if check:
                fresh = Path(scratch) / variant
                write_templates(templates, fresh)
                report.drift.extend(
                    compare_dirs(variant, golden_dir / variant, fresh, list(templates))
                )
            else:
                target = golden_dir / variant
                report.written.extend(write_templates(templates, target))
                for extra in sorted(target.iterdir()):
                    if extra.name not in templates:
                        extra.unlink()
    for stale in stale_golden_dirs(golden_dir, names):
        if check:
            report.drift.append(f"{stale.name}: golden folder without tests/variants/*.toml")
        else:
            for child in sorted(stale.iterdir()):
                child.unlink()
            stale.rmdir()
    return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="report drift without writing; exit 1 on drift"
    )
    parser.add_argument("--variants-dir", type=Path, default=VARIANTS_DIR, help="variant configs")
    parser.add_argument("--golden-dir", type=Path, default=GOLDEN_DIR, help="golden templates")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants_dir: Path = args.variants_dir
    golden_dir: Path = args.golden_dir
    if not variant_files(variants_dir):
        print(f"error: no variant configs (*.toml) in {variants_dir}", file=sys.stderr)
        return 2
    report = run(variants_dir, golden_dir, check=args.check)
    for failure in report.failures:
        print(f"error: cannot synthesize variant {failure}", file=sys.stderr)
    for problem in report.drift:
        print(f"drift: {problem}", file=sys.stderr)
    if args.check:
        if report.drift:
            print(
                f"golden templates in {golden_dir} are out of date; if the change is "
                "intended, run 'make golden' and review the diff",
                file=sys.stderr,
            )
        elif not report.failures:
            print(f"golden templates in {golden_dir} are up to date", file=sys.stderr)
    else:
        print(f"wrote {len(report.written)} golden templates to {golden_dir}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
