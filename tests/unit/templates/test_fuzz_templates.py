"""A fuzzer over the reading layer's callers: mutated templates are rejected cleanly or read.

The reference templates (../shared/reference/public-facing-api-ecs-fargate: vpc, cluster,
service, parent .yml, read from there at test time, never copied) and the CDK template
(tests/fixtures/check/cdk-synth/FargateApiCdkStack.template.json) are parsed, mutated by
hypothesis, written to a temporary folder (YAML for .yml, JSON for .json) and given to
the in-process entry points the commands call after argument parsing:

- `check`: `check.inputs.from_paths` + `check.engine.run_check` without cfn-lint (slow,
  and not ours to fuzz), then the JSON and SARIF writers;
- `cost`: `cost.command.load_inventory` (-t FOLDER) + `estimate` + `cheaper_variants` +
  `to_report` at the bundled us-east-1 prices;
- `diagram`: `diagram.command.load_inputs` + `diagram.model.build_model` (no Graphviz);
- the twin's plan step: `twin.plan.load.load_plan` on `twin.cli.template_source.templates_for`
  (pure: no namespace, nft or HAProxy; the unit tier runs it unprivileged).

The property: each entry point returns, or raises a UserError (exit 2: TemplateError and
PlanError are UserErrors) with a non-empty message. None of these four documents an
OperationError (exit 1) for its reading step, so an OperationError fails the property
like any other exception. Each call must finish within CALL_LIMIT seconds (a SIGALRM in
the main thread, and a measured assertion anywhere).

Mutation families and their examples (derandomized, so CI is deterministic; about
40-60 s for the file on one core, under 90 s with -n 2 on two cores):

| family | examples | what |
|---|---|---|
| deleted | 40 | a property, resource, section or list item removed |
| wrong types | 50 | a value made a string, number, null, boolean, empty or filled list/dict |
| references | 40 | dangling Ref/GetAtt/Sub, self and cyclic Refs, GetAtts, Conditions, DependsOn |
| intrinsics | 40 | intrinsics of wrong arity or shape; values nested 1-100 deep in intrinsics |
| raw text | 50 | truncated, emptied, a duplicated line (duplicate key), bad bytes, BOM, tabs |
| nested stacks | 30 | Location/TemplateURL to itself, a folder, a missing file, a device |
| CIDRs and ports | 40 | 10.0.0.0/33, 300.1.1.1/16; ports -1, 70000, "http"; other impossible ones |
| combined | 25 | two or three mutations of the tree families at once |

No strategy filters or skips a drawn case: every case runs all four entry points.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from fargate_api.check.engine import CheckOptions, run_check
from fargate_api.check.inputs import from_paths
from fargate_api.check.writers.json_report import to_json
from fargate_api.check.writers.sarif import to_sarif
from fargate_api.cost.command import load_inventory, to_report
from fargate_api.cost.estimate import Assumptions, estimate
from fargate_api.cost.prices import load_bundled
from fargate_api.cost.variants import cheaper_variants
from fargate_api.diagram.command import load_inputs
from fargate_api.diagram.model import build_model
from fargate_api.errors import UserError
from fargate_api.twin.cli.template_source import templates_for
from fargate_api.twin.plan.load import load_plan
from unit.support import REFERENCE_DIR, TEMPLATE_NAMES, load_reference

Json = dict[str, Any]
Path_ = tuple[str | int, ...]

CALL_LIMIT = 10.0  # seconds per entry point and case
CDK_TEMPLATE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "check"
    / "cdk-synth"
    / "FargateApiCdkStack.template.json"
)
CDK_NAME = CDK_TEMPLATE.name
FOLDER = "{FOLDER}"  # replaced by the case's folder when written
SUBFOLDER = "sub"  # every case's folder holds this empty folder, for Locations to name

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


# ------------------------------------------------------------------------------ sources


@dataclass(frozen=True)
class Sources:
    """The parsed documents and raw texts of both bases: "reference" and "cdk"."""

    docs: dict[str, dict[str, Json]]
    texts: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def sources() -> Sources:
    """The reference is required: under CI its absence fails; elsewhere it skips, loudly."""
    if not (REFERENCE_DIR / "parent.yml").is_file():
        why = (
            f"the reference templates are missing: expected {REFERENCE_DIR} (the repository's "
            "sibling folder shared/reference/public-facing-api-ecs-fargate). Put a copy of "
            "shared/ next to the repository; do not copy the reference into the repository."
        )
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(f"TEMPLATE FUZZER NOT RUN: {why}")
    reference = {name: load_reference(REFERENCE_DIR, name) for name in TEMPLATE_NAMES}
    cdk_text = CDK_TEMPLATE.read_text(encoding="utf-8")
    return Sources(
        docs={"reference": reference, "cdk": {CDK_NAME: json.loads(cdk_text)}},
        texts={
            "reference": {
                name: (REFERENCE_DIR / name).read_text(encoding="utf-8") for name in TEMPLATE_NAMES
            },
            "cdk": {CDK_NAME: cdk_text},
        },
    )


# --------------------------------------------------------------------------- the cases


@dataclass
class Case:
    """A template set to write: parsed documents (dumped) and raw texts (written as is)."""

    base: str
    docs: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    what: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # the documents are long: the mutations say what changed
        return f"Case({self.base}: {'; '.join(self.what)})"

    def write(self, folder: Path) -> None:
        (folder / SUBFOLDER).mkdir()
        for name, doc in self.docs.items():
            text = _dump(name, doc).replace(FOLDER, str(folder))
            (folder / name).write_text(text, encoding="utf-8")
        for name, data in self.raw.items():
            (folder / name).write_bytes(data.replace(FOLDER.encode(), str(folder).encode()))

    def root(self, folder: Path) -> Path:
        """The root template the diagram's -t FILE would be given."""
        return folder / ("parent.yml" if self.base == "reference" else CDK_NAME)


def _dump(name: str, doc: Any) -> str:
    if name.endswith(".json"):
        return json.dumps(doc, indent=1)
    import yaml  # noqa: PLC0415 - yaml is the tests' dependency too; kept local to _dump

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


def _paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every node's path below the root, parents before children."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _parent(doc: Any, path: Path_) -> Any:
    node = doc
    for step in path[:-1]:
        node = node[step]
    return node


def _set(doc: Any, path: Path_, value: Any) -> None:
    _parent(doc, path)[path[-1]] = value


def _get(doc: Any, path: Path_) -> Any:
    return _parent(doc, path)[path[-1]]


def _delete(doc: Any, path: Path_) -> None:
    del _parent(doc, path)[path[-1]]


def _resources(doc: Any) -> list[str]:
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    return sorted(resources) if isinstance(resources, dict) else []


def _base_case(draw: st.DrawFn, sources: Sources) -> Case:
    base = draw(st.sampled_from(["reference", "cdk"]))
    return Case(base=base, docs=copy.deepcopy(sources.docs[base]))


def _pick_path(draw: st.DrawFn, case: Case) -> tuple[str, Path_]:
    name = draw(st.sampled_from(sorted(case.docs)))
    paths = list(_paths(case.docs[name]))
    return name, draw(st.sampled_from(paths))


Mutation = Callable[[st.DrawFn, Case], None]


# --------------------------------------------------------------------- tree mutations


def delete(draw: st.DrawFn, case: Case) -> None:
    name, path = _pick_path(draw, case)
    _delete(case.docs[name], path)
    case.what.append(f"{name}: deleted {path}")


WRONG_VALUES: list[Any] = [
    "a string",
    "",
    0,
    -1,
    42,
    3.5,
    None,
    True,
    False,
    [],
    {},
    ["a string"],
    [None],
    [{}],
    {"Key": "value"},
    {"Ref": None},
]


def wrong_type(draw: st.DrawFn, case: Case) -> None:
    name, path = _pick_path(draw, case)
    value = draw(st.sampled_from(WRONG_VALUES))
    _set(case.docs[name], path, copy.deepcopy(value))
    case.what.append(f"{name}: {path} = {value!r}")


def references(draw: st.DrawFn, case: Case) -> None:
    name = draw(st.sampled_from(sorted(case.docs)))
    doc = case.docs[name]
    resources = _resources(doc) or ["Nothing"]
    one = draw(st.sampled_from(resources))
    other = draw(st.sampled_from(resources))
    kind = draw(
        st.sampled_from(
            [
                "dangling",
                "self",
                "cycle",
                "conditions",
                "depends_on",
                "parameter",
                "output_to_self",
            ]
        )
    )
    case.what.append(f"{name}: {kind} ({one}, {other})")
    if kind == "dangling":
        _, path = _pick_path_in(draw, doc)
        value = draw(
            st.sampled_from(
                [
                    {"Ref": "Nope"},
                    {"Ref": ""},
                    {"Fn::GetAtt": ["Nope", "Arn"]},
                    {"Fn::GetAtt": "Nope.Arn"},
                    {"Fn::GetAtt": [one, "NoSuchAttribute"]},
                    {"Fn::GetAtt": [one, "Outputs.Nope"]},
                    {"Fn::Sub": "${Nope}"},
                    {"Fn::Sub": "${Nope.Arn}"},
                    {"Fn::Sub": ["${X}", {"X": {"Ref": "Nope"}}]},
                    {"Fn::ImportValue": "nope-export"},
                    {"Fn::FindInMap": ["NoMap", "a", "b"]},
                    {"Condition": "NoCondition"},
                ]
            )
        )
        _set(doc, path, value)
        case.what.append(f"  {path} = {value!r}")
        return
    body = _resource_body(doc, one)
    if kind == "self":
        body.setdefault("Properties", {})
        if not isinstance(body["Properties"], dict):
            body["Properties"] = {}
        intrinsic = draw(
            st.sampled_from(
                [{"Ref": one}, {"Fn::GetAtt": [one, "Arn"]}, {"Fn::Sub": "${" + one + "}"}]
            )
        )
        key = draw(st.sampled_from([*sorted(body["Properties"]), "FuzzProperty"]))
        body["Properties"][key] = intrinsic
    elif kind == "cycle":
        two = _resource_body(doc, other)
        for a, b in ((body, other), (two, one)):
            if not isinstance(a.get("Properties"), dict):
                a["Properties"] = {}
            key = draw(st.sampled_from([*sorted(a["Properties"]), "FuzzProperty"]))
            a["Properties"][key] = draw(
                st.sampled_from([{"Ref": b}, {"Fn::GetAtt": [b, "Outputs.VpcId"]}])
            )
    elif kind == "conditions":
        doc["Conditions"] = {
            "A": {"Condition": "B"},
            "B": {"Fn::Not": [{"Condition": "A"}]},
        }
        body["Condition"] = "A"
    elif kind == "depends_on":
        body["DependsOn"] = [other]
        _resource_body(doc, other)["DependsOn"] = one
    elif kind == "parameter":
        doc["Parameters"] = doc.get("Parameters") if isinstance(doc.get("Parameters"), dict) else {}
        doc["Parameters"]["Loop"] = {"Type": "String", "Default": {"Ref": "Loop"}}
        body.setdefault("Properties", {})
        if isinstance(body["Properties"], dict):
            body["Properties"]["FuzzProperty"] = {"Ref": "Loop"}
    else:  # a nested stack handed its own output, or a resource's output to itself
        properties = body.setdefault("Properties", {})
        if not isinstance(properties, dict):
            body["Properties"] = properties = {}
        parameters = properties.setdefault("Parameters", {})
        if not isinstance(parameters, dict):
            properties["Parameters"] = parameters = {}
        key = draw(st.sampled_from([*sorted(parameters), "VpcId"]))
        parameters[key] = {"Fn::GetAtt": [one, f"Outputs.{key}"]}


def _resource_body(doc: Any, logical_id: str) -> Json:
    if not isinstance(doc, dict):
        return {}
    resources = doc.get("Resources")
    if not isinstance(resources, dict):
        doc["Resources"] = resources = {}
    body = resources.get(logical_id)
    if not isinstance(body, dict):
        resources[logical_id] = body = {"Type": "AWS::SNS::Topic"}
    return body


def _pick_path_in(draw: st.DrawFn, doc: Any) -> tuple[None, Path_]:
    return None, draw(st.sampled_from(list(_paths(doc))))


WRONG_ARITY: list[Any] = [
    {"Ref": []},
    {"Ref": ["A", "B"]},
    {"Ref": {"Ref": "AWS::Region"}},
    {"Fn::GetAtt": []},
    {"Fn::GetAtt": ["OnlyOne"]},
    {"Fn::GetAtt": ["A", "B", "C"]},
    {"Fn::GetAtt": "NoDot"},
    {"Fn::GetAtt": 42},
    {"Fn::Join": ["x"]},
    {"Fn::Join": "x"},
    {"Fn::Join": ["", "not a list"]},
    {"Fn::Join": [1, [2, 3]]},
    {"Fn::Select": [1]},
    {"Fn::Select": ["one", ["a", "b"]]},
    {"Fn::Select": [5, ["a"]]},
    {"Fn::Select": [-1, ["a"]]},
    {"Fn::Select": [0, []]},
    {"Fn::Select": [0, "a,b"]},
    {"Fn::Sub": []},
    {"Fn::Sub": ["${A}"]},
    {"Fn::Sub": ["${A}", {"A": "x"}, "extra"]},
    {"Fn::Sub": "${"},
    {"Fn::Sub": 7},
    {"Fn::Split": [","]},
    {"Fn::Split": [",", 5]},
    {"Fn::If": ["C"]},
    {"Fn::If": ["C", "a"]},
    {"Fn::If": [1, "a", "b"]},
    {"Fn::Equals": [1]},
    {"Fn::Not": []},
    {"Fn::And": []},
    {"Fn::Or": "x"},
    {"Fn::FindInMap": ["a"]},
    {"Fn::FindInMap": "abc"},
    {"Fn::Base64": ["a", "b"]},
    {"Fn::Cidr": ["10.0.0.0/16"]},
    {"Fn::Cidr": ["10.0.0.0/16", 300, 8]},
    {"Fn::Cidr": ["10.0.0.0/33", 2, 8]},
    {"Fn::Cidr": ["10.0.0.0/16", 2, 40]},
    {"Fn::Cidr": ["10.0.0.0/16", -1, 8]},
    {"Fn::GetAZs": {}},
    {"Fn::GetAZs": ["a"]},
    {"Fn::ImportValue": []},
    {"Fn::Length": 3},
    {"Fn::ToJsonString": []},
    {"Fn::NoSuchFunction": "x"},
    {"Fn::Join": ["", []], "Extra": 1},
    {"Ref": "AWS::NoValue"},
]


def _wrap(value: Any, kind: str) -> Any:
    if kind == "select":
        return {"Fn::Select": [0, [value]]}
    if kind == "join":
        return {"Fn::Join": ["", [value]]}
    if kind == "base64":
        return {"Fn::Base64": value}
    if kind == "if":
        return {"Fn::If": ["NoCondition", value, "other"]}  # one copy: no 2**depth tree
    if kind == "sub":
        return {"Fn::Sub": ["${X}", {"X": value}]}
    return [value]


def intrinsics(draw: st.DrawFn, case: Case) -> None:
    name, path = _pick_path(draw, case)
    doc = case.docs[name]
    if draw(st.booleans()):
        value = copy.deepcopy(draw(st.sampled_from(WRONG_ARITY)))
        case.what.append(f"{name}: {path} = {value!r}")
    else:
        depth = draw(st.integers(1, 100))
        kinds = draw(
            st.lists(
                st.sampled_from(["select", "join", "base64", "if", "sub", "list"]),
                min_size=depth,
                max_size=depth,
            )
        )
        value = _get(doc, path)
        for kind in kinds:
            value = _wrap(value, kind)
        case.what.append(f"{name}: {path} nested {depth} deep in {kinds[:5]}...")
    _set(doc, path, value)


NESTED_TYPES = ("AWS::CloudFormation::Stack", "AWS::Serverless::Application")
LOCATIONS: list[Any] = [
    "parent.yml",
    "./parent.yml",
    f"{FOLDER}/parent.yml",
    CDK_NAME,
    ".",
    "./",
    "",
    SUBFOLDER,
    f"{SUBFOLDER}/",
    FOLDER,
    "missing.yml",
    "../vpc.yml",
    "/dev/null",
    "/dev/zero",
    "https://s3.amazonaws.com/bucket/vpc.yml",
    "file:///etc/passwd",
    {"ApplicationId": "arn:aws:serverlessrepo:us-east-1:123456789012:applications/x"},
    {"ApplicationId": "arn:aws:serverlessrepo:us-east-1:1:applications/x", "SemanticVersion": "1"},
    {"Ref": "Nope"},
    42,
    None,
    ["vpc.yml"],
    {},
]


def nested_stacks(draw: st.DrawFn, case: Case) -> None:
    """A nested stack (existing, or added: to the CDK template, or to a child pointing back
    at parent.yml) whose Location or TemplateURL is drawn from LOCATIONS."""
    name = draw(st.sampled_from(sorted(case.docs)))
    doc = case.docs[name]
    existing = [
        r
        for r in _resources(doc)
        if isinstance(doc["Resources"][r], dict) and doc["Resources"][r].get("Type") in NESTED_TYPES
    ]
    logical_id = draw(st.sampled_from([*existing, "FuzzNested"]))
    body = _resource_body(doc, logical_id)
    kind = draw(st.sampled_from(NESTED_TYPES))
    body["Type"] = kind
    properties = body.get("Properties")
    if not isinstance(properties, dict):
        body["Properties"] = properties = {}
    properties.pop("Location", None)
    properties.pop("TemplateURL", None)
    location = copy.deepcopy(draw(st.sampled_from(LOCATIONS)))
    properties["Location" if kind == "AWS::Serverless::Application" else "TemplateURL"] = location
    case.what.append(f"{name}: {logical_id} {kind} -> {location!r}")


CIDR_KEY = re.compile(r"(?i)cidr")
PORT_KEY = re.compile(r"(?i)port(range)?$|^(from|to)port$")
BAD_CIDRS: list[Any] = [
    "10.0.0.0/33",
    "300.1.1.1/16",
    "10.0.0.0",
    "10.0.0.0/-1",
    "10.0.0.1/16",
    "10.0.0.0/8x",
    "::/129",
    "fe80::/64",
    "",
    " 10.0.0.0/16",
    "10.0.0.0/0",
    33,
    None,
    ["10.0.0.0/16"],
]
BAD_PORTS: list[Any] = [
    -1,
    70000,
    "http",
    0,
    65536,
    "80-90",
    "-1",
    " 80",
    "",
    1.5,
    True,
    None,
    2**63,
]


def _cidr_or_port(path: Path_) -> bool:
    key = path[-1]
    return isinstance(key, str) and bool(CIDR_KEY.search(key) or PORT_KEY.search(key))


def cidrs_and_ports(draw: st.DrawFn, case: Case) -> None:
    """A CIDR or port of the templates made impossible; a file holding none (after another
    mutation, say) gets a security group ingress rule with impossible values instead."""
    holding = [n for n in sorted(case.docs) if any(map(_cidr_or_port, _paths(case.docs[n])))]
    if not holding:
        name = draw(st.sampled_from(sorted(case.docs)))
        body = _resource_body(case.docs[name], "FuzzIngress")
        body["Type"] = "AWS::EC2::SecurityGroupIngress"
        body["Properties"] = {
            "GroupId": "sg-12345678",
            "IpProtocol": "tcp",
            "CidrIp": draw(st.sampled_from(BAD_CIDRS)),
            "FromPort": draw(st.sampled_from(BAD_PORTS)),
            "ToPort": draw(st.sampled_from(BAD_PORTS)),
        }
        case.what.append(f"{name}: added FuzzIngress {body['Properties']!r}")
        return
    name = draw(st.sampled_from(holding))
    doc = case.docs[name]
    path = draw(st.sampled_from([p for p in _paths(doc) if _cidr_or_port(p)]))
    key = path[-1]
    assert isinstance(key, str)
    value = draw(st.sampled_from(BAD_CIDRS if CIDR_KEY.search(key) else BAD_PORTS))
    _set(doc, path, value)
    case.what.append(f"{name}: {path} = {value!r}")


TREE_MUTATIONS: list[Mutation] = [delete, wrong_type, references, intrinsics, nested_stacks]


# ---------------------------------------------------------------------- raw mutations


EMPTY_TEXTS = ["", " ", "\n", "---\n", "null\n", "[]\n", "{}\n", "Resources:\n", "Resources: {}\n"]
BAD_BYTES = [
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\t",
    b"\xef\xbb\xbf",
    b"&a ",
    b"*a ",
    b"!!python/none ",
]


@st.composite
def raw_case(draw: st.DrawFn, sources: Sources) -> Case:
    base = draw(st.sampled_from(["reference", "cdk"]))
    texts = sources.texts[base]
    name = draw(st.sampled_from(sorted(texts)))
    text = texts[name]
    kind = draw(st.sampled_from(["truncate", "empty", "duplicate", "bytes", "bom", "tabs"]))
    data = text.encode()
    if kind == "truncate":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
        what = f"truncated at byte {cut}"
    elif kind == "empty":
        empty = draw(st.sampled_from(EMPTY_TEXTS))
        data = empty.encode()
        what = f"emptied to {empty!r}"
    elif kind == "duplicate":
        lines = text.splitlines(keepends=True)
        keyed = [
            i for i, line in enumerate(lines) if re.match(r'^\s*"?[A-Za-z0-9:_-]+"?\s*:', line)
        ]
        index = draw(st.sampled_from(keyed))
        lines.insert(index + 1, lines[index])
        data = "".join(lines).encode()
        what = f"line {index + 1} duplicated: {lines[index].strip()!r}"
    elif kind == "bytes":
        at = draw(st.integers(0, len(data)))
        extra = draw(st.sampled_from(BAD_BYTES))
        data = data[:at] + extra + data[at:]
        what = f"{extra!r} inserted at byte {at}"
    elif kind == "bom":
        data = b"\xef\xbb\xbf" + data
        what = "a BOM before the text"
    else:
        data = text.replace("  ", "\t").encode()
        what = "indented with tabs"
    others = {n: t.encode() for n, t in texts.items() if n != name}
    return Case(base=base, raw={**others, name: data}, what=[f"{name}: {what}"])


# ------------------------------------------------------------------- the entry points


def run_check_command(folder: Path, case: Case) -> None:
    inputs = from_paths([folder])
    report = run_check(inputs.stack_sets, CheckOptions(cfn_lint=False), notes=inputs.notes)
    to_json(report)
    to_sarif(report)


def run_cost_command(folder: Path, case: Case) -> None:
    inventory, origin = load_inventory(None, [str(folder)])
    prices = load_bundled("us-east-1")
    assumptions = Assumptions()
    result = estimate(inventory, prices, assumptions)
    variants = cheaper_variants(inventory, prices, assumptions)
    to_report(
        result, variants=variants, assumptions=assumptions, prices=prices, origin=origin
    ).model_dump_json()


def run_diagram_model(folder: Path, case: Case) -> None:
    build_model(load_inputs([str(case.root(folder))]))


def run_plan_step(folder: Path, case: Case) -> None:
    load_plan(templates_for(None, [str(folder)], folder))


ENTRY_POINTS: list[tuple[str, Callable[[Path, Case], None]]] = [
    ("check", run_check_command),
    ("cost", run_cost_command),
    ("diagram", run_diagram_model),
    ("twin plan", run_plan_step),
]


class TooSlow(BaseException):
    """An entry point ran past CALL_LIMIT: a BaseException, so no `except Exception` eats it."""


@contextmanager
def time_limit(what: str) -> Iterator[None]:
    in_main = threading.current_thread() is threading.main_thread()

    def expire(signum: int, frame: object) -> None:
        raise TooSlow(f"{what} ran past {CALL_LIMIT} s")

    if in_main:
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, CALL_LIMIT)
    started = time.monotonic()
    try:
        yield
    finally:
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    assert elapsed < CALL_LIMIT, f"{what} took {elapsed:.1f} s"


def exercise(case: Case) -> None:
    """The property: every entry point returns or raises a UserError, in time."""
    for line in case.what:
        note(line)
    with tempfile.TemporaryDirectory(prefix="fa-fuzz-") as tmp:
        folder = Path(tmp)
        case.write(folder)
        for name, entry in ENTRY_POINTS:
            with time_limit(name):
                try:
                    entry(folder, case)
                except UserError as exc:
                    event(f"{name}: rejected")
                    assert exc.render().strip(), f"{name}: a UserError without a message"
                else:
                    event(f"{name}: accepted")


# ------------------------------------------------------------------------------ tests


def test_unmutated_sets_are_read_by_every_entry_point(sources: Sources) -> None:
    """The dump round-trip itself changes nothing: both bases pass all four unmutated."""
    for base in ("reference", "cdk"):
        case = Case(base=base, docs=copy.deepcopy(sources.docs[base]))
        with tempfile.TemporaryDirectory(prefix="fa-fuzz-") as tmp:
            folder = Path(tmp)
            case.write(folder)
            for _, entry in ENTRY_POINTS:
                entry(folder, case)


@st.composite
def _tree_case_impl(draw: st.DrawFn, sources: Sources, mutations: list[Mutation]) -> Case:
    case = _base_case(draw, sources)
    for mutation in mutations:
        mutation(draw, case)
    return case


def _tree_case(sources: Sources, mutations: list[Mutation]) -> st.SearchStrategy[Case]:
    return _tree_case_impl(sources, mutations)


@settings(max_examples=40, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_deleted_properties(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(_tree_case(sources, [delete])))


@settings(max_examples=50, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_wrong_types(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(_tree_case(sources, [wrong_type])))


@settings(max_examples=40, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_dangling_and_cyclic_references(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(_tree_case(sources, [references])))


@settings(max_examples=40, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_intrinsics_wrong_arity_and_deep(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(_tree_case(sources, [intrinsics])))


@settings(max_examples=50, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_raw_text(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(raw_case(sources)))


@settings(max_examples=30, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_nested_stack_locations(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(_tree_case(sources, [nested_stacks])))


@settings(max_examples=40, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_impossible_cidrs_and_ports(sources: Sources, data: st.DataObject) -> None:
    exercise(data.draw(_tree_case(sources, [cidrs_and_ports])))


@settings(max_examples=25, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_fuzz_combined_mutations(sources: Sources, data: st.DataObject) -> None:
    mutations = data.draw(
        st.lists(st.sampled_from([*TREE_MUTATIONS, cidrs_and_ports]), min_size=2, max_size=3)
    )
    exercise(data.draw(_tree_case(sources, mutations)))
