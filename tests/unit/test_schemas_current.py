"""docs/schemas/ stays in step with the typed contracts it documents.

Scripts and other tools validate against those files, so a model change that is not
regenerated would silently lie to them. The schemas are regenerated in memory and
compared as parsed JSON (formatting does not matter, content does).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "write_schemas.py"


def _writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("write_schemas", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("write_schemas", module)
    spec.loader.exec_module(module)
    return module


WRITER = _writer()


@pytest.mark.parametrize("contract", WRITER.CONTRACTS, ids=lambda c: c.file)
def test_schema_file_matches_its_model(contract: object) -> None:
    path = WRITER.SCHEMA_DIR / contract.file  # type: ignore[attr-defined]
    assert path.is_file(), f"{path} is missing: run `make schemas`"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk == WRITER.schema(contract), (
        f"{path.relative_to(REPO)} no longer matches its model: run `make schemas` "
        "and commit the result"
    )


def test_every_schema_file_has_a_model() -> None:
    known = {contract.file for contract in WRITER.CONTRACTS}
    present = {path.name for path in WRITER.SCHEMA_DIR.glob("*.schema.json")}
    assert present <= known, f"schema files without a model: {sorted(present - known)}"


def test_stale_finds_a_drifted_file(tmp_path: Path) -> None:
    for contract in WRITER.CONTRACTS:
        (tmp_path / contract.file).write_text(WRITER.render(WRITER.schema(contract)))
    assert WRITER.stale(tmp_path) == []
    first = WRITER.CONTRACTS[0]
    drifted = json.loads((tmp_path / first.file).read_text())
    drifted["properties"].pop(next(iter(drifted["properties"])))
    (tmp_path / first.file).write_text(json.dumps(drifted))
    assert WRITER.stale(tmp_path) == [first.file]


def test_the_contracts_do_not_import_boto3() -> None:
    """The models are imported by the CLI and by this script; the AWS SDK is not theirs
    to load (it costs start-up time, and the schemas must be writable without it)."""
    probe = (
        "import sys\n"
        "import fargate_api.aws.results, fargate_api.twin.daemon.contracts\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
