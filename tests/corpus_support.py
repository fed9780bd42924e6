"""The corpus of public template sets (tests/corpus/<owner>--<repo>/) and what each must do.

Each set holds templates exactly as their authors published them, the repository's
LICENSE and ORIGIN.md, and an ``expect.toml`` read here into a typed ``CorpusSet``. The
functional tier (tests/functional/corpus) runs `check`, `cost` and `diagram` on every
set, the twin tier (tests/twin/test_corpus_twin.py) `local up`; both take what to expect
from here, so a set is added by adding a folder, not by editing a test.

Stack arguments are written as the CLI takes them (`PATH` or `NAME=PATH`), with paths
relative to the set's folder; ``CorpusSet.cli_stacks`` makes them absolute. A NAME
matters: it is the stack name CloudFormation would give `AWS::StackName`, which export
names are built from.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
EXPECT_FILE = "expect.toml"
REQUIRED_FILES = ("LICENSE", "ORIGIN.md", EXPECT_FILE)
# SPDX ids of the licences the corpus may hold: permissive ones only.
PERMISSIVE_LICENCES = ("MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC")

TwinOutcome = Literal["served", "refused"]


class CorpusError(ValueError):
    """An expect.toml that does not say what the tests need: the set's fault, not a test's."""


@dataclass(frozen=True)
class Finding:
    """One of the tool's own findings (an FA rule) on one resource of one template."""

    rule: str
    resource: str
    file: str  # the template's path relative to the set's folder

    def __str__(self) -> str:
        return f"{self.rule} on {self.resource} ({self.file})"


@dataclass(frozen=True)
class CheckExpectation:
    paths: tuple[str, ...]  # `check`'s positional arguments (PATH or NAME=PATH)
    exit_code: int
    findings: frozenset[Finding]  # every active FA-rule finding, no more, no less
    cfn_lint: frozenset[str]  # cfn-lint rule ids that must be among the findings


@dataclass(frozen=True)
class TwinExpectation:
    outcome: TwinOutcome
    path: str = "/"  # served: what the internet host asks the load balancer for
    status: int = 200  # served: the HTTP status it must get
    notices: tuple[str, ...] = ()  # served: text `local up` must print about the plan
    reason: str = ""  # refused: text the exit-2 error must hold


@dataclass(frozen=True)
class CorpusSet:
    name: str  # the folder: <owner>--<repo>
    folder: Path
    licence: str
    description: str
    stacks: tuple[str, ...]  # -t arguments, relative to folder
    needs: tuple[str, ...]  # tool features the set needs (see README.md)
    check: CheckExpectation
    twin: TwinExpectation

    @property
    def owner(self) -> str:
        return self.name.split("--", 1)[0]

    def cli_stacks(self) -> list[str]:
        """The -t arguments with absolute paths, NAME= kept."""
        return [absolute(self.folder, item) for item in self.stacks]

    def cli_check_paths(self) -> list[str]:
        return [absolute(self.folder, item) for item in self.check.paths]


def absolute(folder: Path, argument: str) -> str:
    """`PATH` or `NAME=PATH` with PATH made absolute under folder."""
    name, sep, path = argument.rpartition("=")
    full = str((folder / path).resolve())
    return f"{name}{sep}{full}"


def corpus_sets() -> list[CorpusSet]:
    """Every set in tests/corpus, sorted by folder name."""
    return [
        load_set(folder)
        for folder in sorted(CORPUS_DIR.iterdir())
        if folder.is_dir() and (folder / EXPECT_FILE).is_file()
    ]


def load_set(folder: Path) -> CorpusSet:
    where = folder / EXPECT_FILE
    with where.open("rb") as handle:
        data = tomllib.load(handle)
    stacks = _strings(data, "stacks", where)
    if not stacks:
        raise CorpusError(f"{where}: stacks is empty")
    licence = _string(data, "licence", where)
    if licence not in PERMISSIVE_LICENCES:
        raise CorpusError(f"{where}: licence {licence!r} is not one of {PERMISSIVE_LICENCES}")
    return CorpusSet(
        name=folder.name,
        folder=folder,
        licence=licence,
        description=_string(data, "description", where),
        stacks=stacks,
        needs=_strings(data, "needs", where, default=()),
        check=_check(_table(data, "check", where), stacks, where),
        twin=_twin(_table(data, "twin", where), where),
    )


def _check(data: dict[str, Any], stacks: tuple[str, ...], where: Path) -> CheckExpectation:
    findings: set[Finding] = set()
    for item in data.get("findings", []):
        if not (
            isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item)
        ):
            raise CorpusError(f"{where}: check.findings holds {item!r}, not [RULE, RESOURCE, FILE]")
        findings.add(Finding(*item))
    exit_code = data.get("exit_code")
    if exit_code not in (0, 1, 2):
        raise CorpusError(f"{where}: check.exit_code must be 0, 1 or 2, not {exit_code!r}")
    return CheckExpectation(
        paths=_strings(data, "paths", where, default=stacks),
        exit_code=exit_code,
        findings=frozenset(findings),
        cfn_lint=frozenset(_strings(data, "cfn_lint", where, default=())),
    )


def _twin(data: dict[str, Any], where: Path) -> TwinExpectation:
    outcome = data.get("outcome")
    if outcome == "served":
        status = data.get("status", 200)
        if not isinstance(status, int):
            raise CorpusError(f"{where}: twin.status must be an HTTP status code")
        return TwinExpectation(
            "served",
            path=_string(data, "path", where, default="/"),
            status=status,
            notices=_strings(data, "notices", where, default=()),
        )
    if outcome == "refused":
        return TwinExpectation("refused", reason=_string(data, "reason", where))
    raise CorpusError(f"{where}: twin.outcome must be 'served' or 'refused', not {outcome!r}")


def _table(data: dict[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: [{key}] is missing")
    return value


def _string(data: dict[str, Any], key: str, where: Path, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise CorpusError(f"{where}: {key} must be a non-empty string")
    return value


def _strings(
    data: dict[str, Any], key: str, where: Path, default: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    value = data.get(key, default)
    if value is None:
        raise CorpusError(f"{where}: {key} is missing")
    if not isinstance(value, list | tuple) or not all(isinstance(x, str) for x in value):
        raise CorpusError(f"{where}: {key} must be a list of strings")
    return tuple(value)
