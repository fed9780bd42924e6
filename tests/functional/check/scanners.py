"""checkov and cfn-guard as the scanner tests run them, and the suppressions they read.

The tools are installed by scripts/install-scanners.sh (`make install`) at fixed places:
checkov in its own venv .venv-scanners/, cfn-guard and the AWS Control Tower proactive
rules from the npm package @cdklabs/cdk-validator-cfnguard in .tools/ (.tools/bin/cfn-guard
links to the binary for this machine). Neither needs the network at run time: checkov runs
with --skip-download and with its version check and platform mapping download turned off.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from functional.check.support import NOT_RUN_TAG, REPO

CHECKOV = REPO / ".venv-scanners" / "bin" / "checkov"
CFN_GUARD = REPO / ".tools" / "bin" / "cfn-guard"
GUARD_PACKAGE = REPO / ".tools" / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
CONTROL_TOWER_RULES = GUARD_PACKAGE / "rules" / "control-tower" / "cfn-guard"
INSTALL_HINT = "run 'make install' (it calls scripts/install-scanners.sh)"
TIMEOUT = 300
# cfn-guard's exit codes: 0 all compliant, 19 some rule failed; anything else is an error.
GUARD_OK = (0, 19)
MIN_REASON_LENGTH = 40

# Where each scanner reads its suppressions (as src/fargate_api/metadata_keys.py writes them).
CHECKOV_KEY = "checkov"
GUARD_KEY = "guard"
OUR_KEY = "fargate-api"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_tool(path: Path, name: str) -> Path:
    """The tool at `path`; without it the test FAILS in CI and is skipped loudly elsewhere."""
    if path.exists():
        return path
    problem = f"{name} is not installed (expected {path.relative_to(REPO)}); {INSTALL_HINT}"
    if in_ci():
        pytest.fail(
            f"{NOT_RUN_TAG} (CI=true, so this FAILS): {problem}. CI installs the scanners "
            "with 'make install'; if it did not, that install step is broken.",
            pytrace=False,
        )
    pytest.skip(f"{NOT_RUN_TAG}: {problem}; the cross-check against {name} was NOT performed")


# --- templates and their inline suppressions -------------------------------------------


@dataclass(frozen=True, order=True)
class Hit:
    """One scanner failure: a rule on a resource of a template file (relative path)."""

    file: str
    resource: str
    rule: str

    def __str__(self) -> str:
        return f"{self.rule} on {self.resource} ({self.file})"


def template_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yml") if p.is_file())


# libyaml's loader when PyYAML has it: these helpers read every template of every variant.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader


def _resources(path: Path) -> dict[str, Any]:
    document = _load(path)
    resources = document.get("Resources", {}) if isinstance(document, dict) else {}
    return resources if isinstance(resources, dict) else {}


def _metadata(folder: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in template_files(folder):
        for logical_id, body in _resources(path).items():
            metadata = body.get("Metadata") if isinstance(body, dict) else None
            if isinstance(metadata, dict):
                yield path.relative_to(folder).as_posix(), logical_id, metadata


def checkov_skips(folder: Path) -> dict[Hit, str]:
    """Every `Metadata.checkov.skip` entry under `folder`, with its comment."""
    skips: dict[Hit, str] = {}
    for file, logical_id, metadata in _metadata(folder):
        for entry in metadata.get(CHECKOV_KEY, {}).get("skip", []):
            skips[Hit(file, logical_id, entry["id"])] = str(entry.get("comment") or "")
    return skips


def guard_suppressions(folder: Path) -> dict[Hit, str]:
    """Every `Metadata.guard.SuppressedRules` entry under `folder`, with its reason from
    `Metadata.guard.Reasons` ("" when it has none)."""
    suppressed: dict[Hit, str] = {}
    for file, logical_id, metadata in _metadata(folder):
        block = metadata.get(GUARD_KEY, {})
        reasons = block.get("Reasons", {})
        for rule in block.get("SuppressedRules", []):
            suppressed[Hit(file, logical_id, rule)] = str(reasons.get(rule) or "")
    return suppressed


def our_suppressions(folder: Path) -> dict[Hit, str]:
    """Every `Metadata.fargate-api.suppress` entry under `folder`, with its reason."""
    ours: dict[Hit, str] = {}
    for file, logical_id, metadata in _metadata(folder):
        for entry in metadata.get(OUR_KEY, {}).get("suppress", []):
            ours[Hit(file, logical_id, entry["id"])] = str(entry.get("reason") or "")
    return ours


def without_metadata(source: Path, target: Path, key: str) -> Path:
    """A copy of the templates under `source` with `Metadata.<key>` removed everywhere."""
    for path in template_files(source):
        document = _load(path)
        for body in document.get("Resources", {}).values():
            metadata = body.get("Metadata", {})
            metadata.pop(key, None)
            if not metadata:
                body.pop("Metadata", None)
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


# --- checkov ---------------------------------------------------------------------------


@dataclass
class CheckovRun:
    failed: set[Hit] = field(default_factory=set)
    skipped: set[Hit] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)  # check id -> check name
    resources: int = 0
    parsing_errors: list[str] = field(default_factory=list)

    def describe(self, hits: set[Hit]) -> str:
        return "\n".join(f"  {h}: {self.names.get(h.rule, '')}" for h in sorted(hits))


def checkov_env() -> dict[str, str]:
    """No network at run time: no version check against PyPI, no download of the platform's
    check mapping (--skip-download also turns that off), no colours in the output."""
    return {
        **os.environ,
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "BC_SKIP_MAPPING": "TRUE",
        "ANSI_COLORS_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }


def run_checkov(folder: Path) -> CheckovRun:
    """One checkov process over every template under `folder` (CloudFormation only)."""
    checkov = require_tool(CHECKOV, "checkov")
    result = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(folder),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=checkov_env(),
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode in (0, 1), (
        f"checkov exited {result.returncode}:\n{result.stderr[-3000:]}"
    )
    reports = json.loads(result.stdout)
    run = CheckovRun()
    for report in reports if isinstance(reports, list) else [reports]:
        results = report.get("results", {})
        for kind, target in (("failed_checks", run.failed), ("skipped_checks", run.skipped)):
            for check in results.get(kind, []):
                target.add(_checkov_hit(check))
                run.names[check["check_id"]] = check.get("check_name", "")
        summary = report.get("summary", {})
        run.resources += int(summary.get("resource_count", 0))
        run.parsing_errors += list(results.get("parsing_errors", []))
    return run


def _checkov_hit(check: dict[str, Any]) -> Hit:
    # resource is "AWS::Logs::LogGroup.LogGroup"; file_path is "/variant/service.yml".
    logical_id = str(check["resource"]).split(".", 1)[-1]
    return Hit(str(check["file_path"]).lstrip("/"), logical_id, str(check["check_id"]))


# --- cfn-guard -------------------------------------------------------------------------


@dataclass
class GuardRun:
    failed: set[Hit] = field(default_factory=set)
    controls: dict[str, str] = field(default_factory=dict)  # rule name -> CT.X.PR.N
    compliant: dict[str, set[str]] = field(default_factory=dict)  # file -> rule names
    files: set[str] = field(default_factory=set)

    def describe(self, hits: set[Hit]) -> str:
        return "\n".join(f"  {h} [{self.controls.get(h.rule, '?')}]" for h in sorted(hits))


def run_guard(folder: Path, rules: Path = CONTROL_TOWER_RULES) -> GuardRun:
    """cfn-guard over every template under `folder` with the given rules (file or folder).

    A rule whose resource types a template lacks comes back as not applicable (SKIP) and
    passes; a failure is pinned to each resource whose path its checks reached, or to
    "<template>" when it names none (such a failure cannot be suppressed).
    """
    guard = require_tool(CFN_GUARD, "cfn-guard")
    if not rules.exists():
        require_tool(rules, "the Control Tower rules for cfn-guard")
    result = subprocess.run(
        [
            str(guard),
            "validate",
            "--rules",
            str(rules),
            "--data",
            str(folder),
            "--output-format",
            "json",
            "--show-summary",
            "none",
            "--structured",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode in GUARD_OK, (
        f"cfn-guard exited {result.returncode}:\n{result.stderr[-3000:]}{result.stdout[-2000:]}"
    )
    run = GuardRun()
    for report in json.loads(result.stdout):
        file = Path(report["name"]).resolve().relative_to(folder.resolve()).as_posix()
        run.files.add(file)
        run.compliant[file] = set(report.get("compliant", []))
        for entry in report.get("not_compliant", []):
            rule = entry["Rule"]
            name = str(rule["name"])
            run.controls.setdefault(name, _control_id(rule))
            for logical_id in sorted(_resource_ids(rule)) or ["<template>"]:
                run.failed.add(Hit(file, logical_id, name))
    return run


def _resource_ids(node: Any) -> set[str]:
    """Logical ids of every `/Resources/<id>/...` path in a rule's result tree."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "path" and isinstance(value, str) and value.startswith("/Resources/"):
                found.add(value.split("/")[2])
            else:
                found |= _resource_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= _resource_ids(item)
    return found


def _control_id(rule: dict[str, Any]) -> str:
    """The Control Tower control id ([CT.ECS.PR.3]) from a rule's custom message."""
    text = json.dumps(rule)
    start = text.find("[CT.")
    return text[start + 1 : text.find("]", start)] if start >= 0 else "?"
