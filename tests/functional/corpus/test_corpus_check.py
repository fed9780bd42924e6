"""`check`, `cost` and `diagram` on templates other people wrote and published.

The reference and the CDK stack are shaped like the pattern; real template sets are not:
several top-level stacks wired by Export/Fn::ImportValue with placeholder target groups,
parameters for a VPC that is not in the template, parents whose TemplateURLs point at
S3. Each set in tests/corpus says in its expect.toml what `check` must find on it,
finding by finding (each verified against the template text, see the comments there),
so a rule that stops following an import, or fires on something that is not there,
fails here. `cost` and `diagram` must answer every set with a result or a bad-input
error that says how to fix it, never a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from corpus_support import (
    CORPUS_DIR,
    PERMISSIVE_LICENCES,
    REQUIRED_FILES,
    CorpusSet,
    Finding,
    corpus_sets,
)
from functional.support import run_cli

REPO = Path(__file__).resolve().parents[3]
CLI_TIMEOUT = 180
MAX_TEMPLATE_BYTES = 1_000_000  # CloudFormation's own limit for a template body
MIN_AUTHORS = 3
COMMIT = re.compile(r"\b[0-9a-f]{40}\b")

SETS = corpus_sets()
IDS = [s.name for s in SETS]


def _relative(folder: Path, file: str) -> str:
    path = Path(file)
    if not path.is_absolute():
        path = REPO / path
    return path.resolve().relative_to(folder.resolve()).as_posix()


def _own_findings(corpus_set: CorpusSet, document: dict[str, Any]) -> set[Finding]:
    return {
        Finding(f["rule"], f["resource"], _relative(corpus_set.folder, f["file"]))
        for f in document["findings"]
        if f["source"] == "fargate-api" and not f["suppressed"]
    }


def test_the_corpus_has_sets_from_three_authors_each_with_its_licence_and_origin() -> None:
    assert len({s.owner for s in SETS}) >= MIN_AUTHORS, [s.name for s in SETS]
    folders = sorted(p.name for p in CORPUS_DIR.iterdir() if p.is_dir())
    assert folders == sorted(IDS), "every folder of tests/corpus needs an expect.toml"
    for corpus_set in SETS:
        for required in REQUIRED_FILES:
            assert (corpus_set.folder / required).is_file(), (corpus_set.name, required)
        origin = (corpus_set.folder / "ORIGIN.md").read_text()
        assert COMMIT.search(origin), f"{corpus_set.name}/ORIGIN.md names no commit id"
        assert corpus_set.licence in origin, (corpus_set.name, corpus_set.licence)
        assert corpus_set.licence in PERMISSIVE_LICENCES
        for template in corpus_set.folder.rglob("*"):
            if template.suffix in (".yml", ".yaml", ".json", ".template"):
                assert template.stat().st_size < MAX_TEMPLATE_BYTES, template


@pytest.mark.parametrize("corpus_set", SETS, ids=IDS)
def test_check_reports_what_the_set_expects(corpus_set: CorpusSet) -> None:
    result = run_cli("check", *corpus_set.cli_check_paths(), "--format", "json", cwd=REPO)
    assert "Traceback" not in result.stderr, result.stderr
    expected = corpus_set.check
    assert result.returncode == expected.exit_code, result.stderr
    document = json.loads(result.stdout)
    assert document["exit_code"] == expected.exit_code
    found = _own_findings(corpus_set, document)
    missing = sorted(map(str, expected.findings - found))
    unexpected = sorted(map(str, found - expected.findings))
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}"
    lint_ids = {f["rule"] for f in document["findings"] if f["source"] == "cfn-lint"}
    assert expected.cfn_lint <= lint_ids, sorted(expected.cfn_lint - lint_ids)


@pytest.mark.parametrize("command", ["cost", "diagram"])
@pytest.mark.parametrize("corpus_set", SETS, ids=IDS)
def test_cost_and_diagram_answer_without_a_traceback(
    corpus_set: CorpusSet, command: str, tmp_path: Path
) -> None:
    args = [command]
    for stack in corpus_set.cli_stacks():
        args += ["-t", stack]
    image = tmp_path / "diagram.svg"
    if command == "diagram":
        args += ["-o", str(image)]
    result = run_cli(*args, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr)
    if result.returncode == 2:
        assert "error:" in result.stderr and "fix:" in result.stderr, result.stderr
    if result.returncode == 0 and command == "diagram":
        assert image.is_file() and image.stat().st_size > 0
    if result.returncode == 0 and command == "cost":
        assert "Monthly estimate" in result.stdout, result.stdout
