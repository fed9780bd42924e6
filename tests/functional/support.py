"""Helpers shared by the functional tier: the real CLI as a subprocess, template loading,
readable dict diffs, cfn-lint, and an emulation of `sam deploy --resolve-s3`.

The tier tests the product from the outside: templates come from `python -m fargate_api`
in a child process, never from calling the synth functions in-process (only
scripts/regen_golden.py does that, and the golden tests check both paths agree).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VARIANTS_DIR = REPO / "tests" / "variants"
GOLDEN_DIR = REPO / "tests" / "golden"
REGEN_SCRIPT = REPO / "scripts" / "regen_golden.py"
# CI clones the repo into a folder that has a copy of shared/ beside it.
REFERENCE_DIR = REPO.parent / "shared" / "reference" / "public-facing-api-ecs-fargate"

# The files of one [service]; variant_template_files() gives each variant's own.
TEMPLATE_FILES = ("vpc.yml", "cluster.yml", "service.yml", "parent.yml")
LOAD_BALANCER_FILE = "load-balancer.yml"
REPOSITORY_FILE = "repository.yml"
REQUIRED_VARIANTS = (
    "default",
    "single-nat",
    "no-nat-endpoints",
    "https",
    "domain",
    "domain-zone-lookup",
    "services-domain",
    "autoscaling",
    "arm",
    "spot",
    "hardened",
    "six-az",
    "blue-green",
    "canary",
    "linear",
    "rolling-alarms",
    "services",
    "services-canary",
)
LINT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
# stack_wiring's source for a value passed from one of the parent's own parameters.
PARENT_PARAMETER = "<parent parameter>"
CLI_TIMEOUT = 60
MAX_DIFF_ENTRIES = 40

Json = dict[str, Any]


def require_reference_dir() -> Path:
    """The read-only reference templates beside the repository; fails the test if absent."""
    if not (REFERENCE_DIR / "parent.yml").is_file():
        pytest.fail(
            f"the reference templates are missing: expected {REFERENCE_DIR} (the "
            "repository's sibling folder shared/reference/public-facing-api-ecs-fargate, as "
            "CI lays it out). Put a copy of shared/ next to the repository; do not copy the "
            "reference into the repository.",
            pytrace=False,
        )
    return REFERENCE_DIR


def variant_names() -> list[str]:
    """Every variant config present, sorted (the golden tests cover all of them)."""
    return sorted(p.stem for p in VARIANTS_DIR.glob("*.toml"))


def environment_variant_names() -> list[str]:
    """`<variant>@<env>` for every [env.NAME] table of a variant config: the same file
    synthesized with `--env NAME`. The scanners and `check --strict` cover them; the
    goldens pin the base config only (tests/functional/test_environments.py compares
    environments)."""
    names: list[str] = []
    for variant in variant_names():
        data = tomllib.loads(variant_config(variant).read_text(encoding="utf-8"))
        names += [f"{variant}@{env}" for env in sorted(data.get("env", {}))]
    return names


def scanned_variant_names() -> list[str]:
    """Every variant, and every environment of one."""
    return variant_names() + environment_variant_names()


def variant_config(variant: str) -> Path:
    """The config of a variant (of `<variant>@<env>` too: the same file)."""
    return VARIANTS_DIR / f"{variant.partition('@')[0]}.toml"


def variant_services(variant: str) -> list[str]:
    """The names of a variant's [[services]], in order; [] for one [service]."""
    data = tomllib.loads(variant_config(variant).read_text(encoding="utf-8"))
    return [str(svc["name"]) for svc in data.get("services", [])]


def variant_template_files(variant: str) -> tuple[str, ...]:
    """The files `synth` writes for a variant, read from its TOML (not from the synth):
    the four of one [service], or load-balancer.yml and one service-<name>.yml per
    [[services]] instead of service.yml; repository.yml beside them when a service builds."""
    data = tomllib.loads(variant_config(variant).read_text(encoding="utf-8"))
    services = data.get("services", [])
    built = "build" in data.get("service", {}) or any("build" in svc for svc in services)
    repository = (REPOSITORY_FILE,) if built else ()
    if not services:
        return ("vpc.yml", "cluster.yml", *repository, "service.yml", "parent.yml")
    per_service = tuple(f"service-{svc['name']}.yml" for svc in services)
    return ("vpc.yml", "cluster.yml", *repository, LOAD_BALANCER_FILE, *per_service, "parent.yml")


def variant_files() -> list[tuple[str, str]]:
    """(variant, template file) for every file of every variant, for parametrize."""
    return [(v, name) for v in variant_names() for name in variant_template_files(v)]


def scanned_variant_files() -> list[tuple[str, str]]:
    """(variant, template file) for every variant and every environment of one."""
    return [(v, name) for v in scanned_variant_names() for name in variant_template_files(v)]


# --- the CLI -------------------------------------------------------------------------


def cli_env(**overrides: str) -> dict[str, str]:
    """The child's environment: no colour codes, so stderr and stdout are plain text."""
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    env.update(overrides)
    return env


def run_cli(
    *args: str | Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `python -m fargate_api ARGS` as a real process and returns its result."""
    return subprocess.run(
        [sys.executable, "-m", "fargate_api", *(str(a) for a in args)],
        cwd=cwd,
        env=dict(env) if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def describe_run(result: subprocess.CompletedProcess[str]) -> str:
    """The whole story of a CLI run, for assertion messages."""
    return (
        f"command: {' '.join(str(a) for a in result.args)}\n"
        f"exit code: {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def synth_variant(variant: str, out_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`synth` of a variant; of `<variant>@<env>` with `--env <env>`."""
    env = variant.partition("@")[2]
    chosen = ("--env", env) if env else ()
    return run_cli("synth", "-c", variant_config(variant), *chosen, "-o", out_dir, cwd=cwd)


class SynthCache:
    """Each variant synthesized once through the CLI; a failed run fails every user."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._runs: dict[str, subprocess.CompletedProcess[str]] = {}

    def run(self, variant: str) -> subprocess.CompletedProcess[str]:
        if variant not in self._runs:
            self._runs[variant] = synth_variant(variant, self.out_dir(variant), cwd=self._root)
        return self._runs[variant]

    def out_dir(self, variant: str) -> Path:
        return self._root / variant

    def get(self, variant: str) -> Path:
        result = self.run(variant)
        if result.returncode != 0:
            pytest.fail(
                f"'fargate-api synth' failed for variant {variant!r}:\n{describe_run(result)}",
                pytrace=False,
            )
        return self.out_dir(variant)


# --- templates -----------------------------------------------------------------------


def load_template(path: Path) -> Json:
    """A template parsed with the plain safe loader: CloudFormation short-form tags such as
    `!Ref` would be an error here, which is intended (our templates use the long form)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise AssertionError(f"{path} is not a YAML mapping")
    return document


class _CfnLoader(yaml.SafeLoader):
    """Also reads CloudFormation short-form tags (`!GetAtt A.B`), as in the reference."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Json:
    name = "Ref" if tag_suffix in {"Ref", "Condition"} else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_cfn_yaml(path: Path) -> Json:
    """A hand-written CloudFormation template (short-form tags allowed) as plain data."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)
    if not isinstance(document, dict):
        raise AssertionError(f"{path} is not a YAML mapping")
    return document


def resources_of_type(template: Json, type_: str) -> dict[str, Json]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == type_}


# --- readable diffs ------------------------------------------------------------------


def _walk_diff(expected: Any, actual: Any, path: str) -> Iterator[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                yield f"- {where}: missing (golden has {_short(expected[key])})"
            else:
                yield from _walk_diff(expected[key], actual[key], where)
        for key in actual:
            if key not in expected:
                where = f"{path}.{key}" if path else str(key)
                yield f"+ {where}: added {_short(actual[key])}"
    elif isinstance(expected, list) and isinstance(actual, list):
        for index in range(max(len(expected), len(actual))):
            where = f"{path}[{index}]"
            if index >= len(actual):
                yield f"- {where}: missing (golden has {_short(expected[index])})"
            elif index >= len(expected):
                yield f"+ {where}: added {_short(actual[index])}"
            else:
                yield from _walk_diff(expected[index], actual[index], where)
    elif expected != actual or type(expected) is not type(actual):
        yield f"~ {path or '<document>'}: golden {_short(expected)} -> now {_short(actual)}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dict_diff(expected: Any, actual: Any) -> list[str]:
    """One line per differing path: `~ Resources.Service.Properties.DesiredCount: ...`."""
    return list(_walk_diff(expected, actual, ""))


def golden_mismatch_message(label: str, differences: Sequence[str]) -> str:
    shown = list(differences[:MAX_DIFF_ENTRIES])
    if len(differences) > MAX_DIFF_ENTRIES:
        shown.append(f"... and {len(differences) - MAX_DIFF_ENTRIES} more differences")
    return (
        f"{label} no longer matches its golden template ({len(differences)} differing "
        "paths; '-' golden only, '+' new only, '~' changed):\n  "
        + "\n  ".join(shown)
        + "\nIf this change is intended, run 'make golden' (scripts/regen_golden.py) and "
        "review the golden diff in the commit."
    )


# --- cfn-lint ------------------------------------------------------------------------


def lint_text(text: str) -> list[Any]:
    """cfn-lint's findings for a template, informational rules included."""
    from cfnlint.api import ManualArgs, lint  # noqa: PLC0415 - slow import, only when used

    config = ManualArgs(include_checks=["I"], regions=list(LINT_REGIONS))
    return list(lint(text, config=config))


def format_matches(label: str, matches: Sequence[Any]) -> str:
    lines = [f"{label}: cfn-lint reported {len(matches)} finding(s):"]
    for match in matches:
        rule = getattr(match, "rule", None)
        rule_id = getattr(rule, "id", "?")
        line = getattr(match, "linenumber", "?")
        lines.append(f"  {rule_id} line {line}: {getattr(match, 'message', match)}")
    return "\n".join(lines)


# --- sam deploy emulation ------------------------------------------------------------

SAM_APPLICATION = "AWS::Serverless::Application"
PACKAGE_BUCKET = "aws-sam-cli-managed-default-samclisourcebucket-0123456789ab"


@dataclass(frozen=True)
class Packaged:
    """A parent template after `sam package`, and where each child went."""

    template: Json
    urls: dict[str, str]  # logical id -> S3 URL
    children: dict[str, Path]  # logical id -> local child file


def package_parent(parent: Json, base_dir: Path) -> Packaged:
    """Emulates what `sam deploy --resolve-s3` does before deploying: every Application
    whose Location is a local file is uploaded to the managed bucket (key = MD5 of the
    content, as the SAM CLI does) and its Location becomes the object's HTTPS URL."""
    template = copy.deepcopy(parent)
    urls: dict[str, str] = {}
    children: dict[str, Path] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != SAM_APPLICATION:
            continue
        location = resource.get("Properties", {}).get("Location")
        if not isinstance(location, str) or location.startswith(("https://", "s3://")):
            continue
        child = base_dir / location
        if not child.is_file():
            raise AssertionError(
                f"{logical_id}: Location {location!r} is not a file next to the parent "
                f"({child}); 'sam deploy' would fail to package it"
            )
        key = hashlib.md5(child.read_bytes(), usedforsecurity=False).hexdigest()
        url = f"https://s3.amazonaws.com/{PACKAGE_BUCKET}/{key}.template"
        resource["Properties"]["Location"] = url
        urls[logical_id] = url
        children[logical_id] = child
    return Packaged(template=template, urls=urls, children=children)


def sam_translate(template: Json, region: str = "us-east-1") -> Json:
    """Runs the AWS::Serverless-2016-10-31 transform as CloudFormation would."""
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415
    from samtranslator.public.parser import Parser  # noqa: PLC0415
    from samtranslator.translator.translator import Translator  # noqa: PLC0415

    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=region),
    )
    result: Json = translator.translate(
        copy.deepcopy(template), parameter_values={}, get_managed_policy_map=dict
    )
    return result


def stack_wiring(translated: Json) -> dict[str, dict[str, tuple[str, str]]]:
    """Nested stack -> {parameter: (source stack, source output)} of a translated parent;
    a value the deploy supplies (`Ref` to one of the parent's parameters, such as the
    hosted zone) reads as (PARENT_PARAMETER, the parent's parameter)."""
    wiring: dict[str, dict[str, tuple[str, str]]] = {}
    declared = translated.get("Parameters", {})
    for logical_id, resource in resources_of_type(translated, "AWS::CloudFormation::Stack").items():
        params: dict[str, tuple[str, str]] = {}
        for name, value in resource.get("Properties", {}).get("Parameters", {}).items():
            if isinstance(value, dict) and value.get("Ref") in declared:
                params[name] = (PARENT_PARAMETER, value["Ref"])
                continue
            source = value.get("Fn::GetAtt") if isinstance(value, dict) else None
            if not (isinstance(source, list) and len(source) == 2):
                raise AssertionError(
                    f"{logical_id}.{name} is {value!r}, not a GetAtt of a stack output"
                )
            stack, attribute = source
            params[name] = (stack, str(attribute).removeprefix("Outputs."))
        wiring[logical_id] = params
    return wiring
