"""Which stacks to deploy, from which templates, and how their outputs feed each other.

The templates are the contract: the wiring is read from parent.yml (the
`Fn::GetAtt Child.Outputs.X` values it passes to each child), so the same code deploys
any template set laid out like the reference. Each child becomes a top-level stack
`NAME-<child>` (VpcStack -> NAME-vpc), deployed in dependency order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fargate_api.config import load_config
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, to_yaml
from fargate_api.templates.build_specs import BuildSpec, build_specs_in
from fargate_api.templates.parse import parse_template

PARENT_FILE = "parent.yml"
CHILD_TYPES = frozenset({"AWS::Serverless::Application", "AWS::CloudFormation::Stack"})
# CloudFormation's limit for TemplateBody; above it a template needs an S3 bucket.
INLINE_LIMIT = 51_200
OWNER_TAG = "fargate-api:stack-set"
ROLE_TAG = "fargate-api:role"
# Where a word of a CamelCase id starts: a capital after a lower-case letter or digit
# (ServiceApi), or the last capital of a run before a lower-case letter (ECSCluster).
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class StackSpec:
    role: str
    name: str
    file: str
    body: str
    document: dict[str, Any]
    inputs: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Parameter name -> (role of the stack that produces it, output key)."""
    passed: dict[str, str] = field(default_factory=dict)
    """Parameter name -> the parent's parameter whose value the deploy supplies (the
    image digest, known only after the push)."""

    @property
    def resource_types(self) -> dict[str, str]:
        resources: dict[str, Any] = self.document.get("Resources", {})
        return {lid: str(body.get("Type", "")) for lid, body in resources.items()}

    def retained(self) -> dict[str, str]:
        """Logical id -> type of every resource that a delete leaves behind."""
        resources: dict[str, Any] = self.document.get("Resources", {})
        return {
            lid: str(body.get("Type"))
            for lid, body in resources.items()
            if body.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
        }


@dataclass(frozen=True)
class StackPlan:
    base: str
    stacks: list[StackSpec]
    build_specs: list[BuildSpec] = field(default_factory=list)
    """The images the templates build from source (their task definitions' Metadata)."""
    parent_defaults: dict[str, str] = field(default_factory=dict)
    """The Default of each parent parameter that has one: the value a child's `passed`
    parameter gets when the deploy supplies none (as `sam deploy` would give it)."""
    only: frozenset[str] | None = None
    """The roles a deploy (or diff) changes, when it is limited to some stacks
    (`deploy --service`); the stacks they read are then read from CloudFormation, and
    the rest is left alone. None: every stack."""

    def by_role(self, role: str) -> StackSpec:
        for spec in self.stacks:
            if spec.role == role:
                return spec
        raise KeyError(role)

    def deploys(self, role: str) -> bool:
        return self.only is None or role in self.only

    def read_only_roles(self) -> set[str]:
        """The stacks outside `only` whose outputs the stacks in it read."""
        read = {src for s in self.stacks if self.deploys(s.role) for src, _ in s.inputs.values()}
        return {role for role in read if not self.deploys(role)}


def stack_name(base: str, role: str) -> str:
    return f"{base}-{role}"


def role_of(child_logical_id: str) -> str:
    """The kebab-case of the child's id without `Stack`: VpcStack -> vpc,
    LoadBalancerStack -> load-balancer, ServiceApiV2Stack -> service-api-v2."""
    stem = child_logical_id.removesuffix("Stack") or child_logical_id
    return _WORD_START.sub("-", stem).lower()


def tags(base: str, role: str) -> list[dict[str, str]]:
    return [{"Key": OWNER_TAG, "Value": base}, {"Key": ROLE_TAG, "Value": role}]


def load_plan(
    config: Path | None,
    templates_dir: Path | None,
    stack_name_override: str | None,
    env: str | None = None,
) -> StackPlan:
    """The stacks of the synthesized templates (or of a template folder), in deploy order;
    `env` picks the config's environment (its name is then NAME-ENV)."""
    model = load_config(config, env)
    base = stack_name_override or model.name
    if templates_dir is None:
        # In memory, the build context is written relative to the working folder.
        folder = Path.cwd()
        docs = {name: t.to_dict() for name, t in synthesize(model).items()}
        texts = {name: to_yaml(doc) for name, doc in docs.items()}
    else:
        folder = templates_dir
        texts, docs = _read_folder(templates_dir)
    plan = plan_from_templates(base, texts, docs)
    used = {spec.file for spec in plan.stacks}
    specs = build_specs_in((name, doc, folder) for name, doc in docs.items() if name in used)
    return replace(plan, build_specs=specs)


def _read_folder(folder: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    parent = folder / PARENT_FILE
    if not parent.is_file():
        raise UserError(
            f"no {PARENT_FILE} in the template folder",
            where=str(folder),
            fix="pass the folder 'fargate-api synth -o DIR' wrote (it holds parent.yml and "
            "the three children)",
        )
    texts: dict[str, str] = {}
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".yml", ".yaml", ".json") and path.is_file():
            text = path.read_text(encoding="utf-8")
            try:
                parsed = parse_template(path, str(path), text)
            except UserError:
                continue
            texts[path.name] = text
            docs[path.name] = parsed.data
    return texts, docs


def plan_from_templates(
    base: str, texts: Mapping[str, str], docs: Mapping[str, dict[str, Any]]
) -> StackPlan:
    parent = docs.get(PARENT_FILE)
    if parent is None:
        raise UserError(f"the template set has no {PARENT_FILE} to read the stack wiring from")
    children: dict[str, tuple[str, dict[str, tuple[str, str]], dict[str, str]]] = {}
    for logical_id, body in parent.get("Resources", {}).items():
        if body.get("Type") not in CHILD_TYPES:
            continue
        props = body.get("Properties", {})
        location = props.get("Location", props.get("TemplateURL"))
        if not isinstance(location, str) or location not in docs:
            raise UserError(
                f"{PARENT_FILE}: {logical_id} points at {location!r}, which is not in the set",
                fix="keep the children next to parent.yml, with local file names",
            )
        inputs: dict[str, tuple[str, str]] = {}
        passed: dict[str, str] = {}
        for param, value in (props.get("Parameters") or {}).items():
            source = _output_ref(value)
            parent_param = _parent_parameter(value, parent)
            if source is not None:
                inputs[param] = (role_of(source[0]), source[1])
            elif parent_param is not None:
                passed[param] = parent_param
            else:
                raise UserError(
                    f"{PARENT_FILE}: {logical_id} parameter {param} is neither a child's "
                    "output nor one of the parent's parameters",
                    fix="only Fn::GetAtt Child.Outputs.Name and Ref ParentParameter values can "
                    "be wired between top-level stacks",
                )
        children[logical_id] = (location, inputs, passed)
    specs = {}
    for logical_id, (file, inputs, passed) in children.items():
        role = role_of(logical_id)
        specs[role] = StackSpec(
            role=role,
            name=stack_name(base, role),
            file=file,
            body=inline_body(file, texts[file], docs[file]),
            document=docs[file],
            inputs=inputs,
            passed=passed,
        )
    defaults = {
        name: str(body["Default"])
        for name, body in (parent.get("Parameters") or {}).items()
        if isinstance(body, dict) and body.get("Default") not in (None, "")
    }
    return StackPlan(base=base, stacks=_in_dependency_order(specs), parent_defaults=defaults)


def _output_ref(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict) or list(value) != ["Fn::GetAtt"]:
        return None
    target = value["Fn::GetAtt"]
    if isinstance(target, str):
        target = target.split(".", 1)
    if len(target) != 2 or not str(target[1]).startswith("Outputs."):
        return None
    return str(target[0]), str(target[1]).removeprefix("Outputs.")


def _parent_parameter(value: Any, parent: Mapping[str, Any]) -> str | None:
    """The parent's parameter a `Ref` names (not a pseudo parameter nor a resource)."""
    if not isinstance(value, dict) or list(value) != ["Ref"]:
        return None
    name = value["Ref"]
    declared = parent.get("Parameters") or {}
    return name if isinstance(name, str) and name in declared else None


def _in_dependency_order(specs: Mapping[str, StackSpec]) -> list[StackSpec]:
    ordered: list[StackSpec] = []
    placed: set[str] = set()
    pending = dict(specs)
    while pending:
        ready = [
            role
            for role, spec in pending.items()
            if all(src in placed for src, _ in spec.inputs.values())
        ]
        if not ready:
            raise UserError(f"the stacks {sorted(pending)} depend on each other in a loop")
        for role in ready:
            ordered.append(pending.pop(role))
            placed.add(role)
    return ordered


def inline_body(file: str, text: str, document: dict[str, Any]) -> str:
    """The template as sent in TemplateBody: the YAML if it fits, else compact JSON."""
    if len(text.encode()) <= INLINE_LIMIT:
        return text
    compact = json.dumps(document, separators=(",", ":"))
    if len(compact.encode()) <= INLINE_LIMIT:
        return compact
    raise UserError(
        f"{file} is {len(compact.encode())} bytes even as compact JSON, over CloudFormation's "
        f"{INLINE_LIMIT}-byte limit for a template sent inline",
        fix="deploy parent.yml with 'sam deploy --resolve-s3', which uploads the templates "
        "to a bucket",
    )


def wire_parameters(
    spec: StackSpec,
    outputs_by_role: Mapping[str, Mapping[str, str]],
    supplied: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """CloudFormation Parameters for `spec`, from the outputs of the stacks it reads and
    the values the deploy supplies for the parent's parameters (`supplied`, by the
    parent's parameter name)."""
    parameters = []
    for param, parent_param in spec.passed.items():
        value = (supplied or {}).get(parent_param)
        if value is None:
            raise UserError(
                f"stack {spec.name} needs a value for the parent parameter {parent_param}",
                fix="deploy with the config (-c) or a template folder whose service builds "
                "its image: deploy builds and pushes it, then passes its digest",
            )
        parameters.append({"ParameterKey": param, "ParameterValue": value})
    for param, (role, key) in spec.inputs.items():
        outputs = outputs_by_role.get(role, {})
        if key not in outputs:
            raise UserError(
                f"stack {spec.name} needs output {key} of the {role} stack, which has none",
                fix=f"deploy the {role} stack first ('fargate-api deploy' deploys all in order)",
            )
        parameters.append({"ParameterKey": param, "ParameterValue": outputs[key]})
    return parameters
