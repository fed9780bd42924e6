"""The CLI's start-up stays lean: a command imports only its own modules.

`fargate-api synth` (benchmark item 1) must not pay for the AWS back-end, check with
cfn-lint, cost, diagram or the local twin; `--version` and `--help` not even for the
config model. The root group lists those commands from a registry (fargate_api/cli.py,
`Commands.lazy_commands`) whose help strings are copies: they are compared here with the
real commands', and the whole `--help` with the one the real commands give.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import fargate_api
from fargate_api import cli
from fargate_api.cli_lazy import LazyCommand, Placeholder
from functional.support import CLI_TIMEOUT, cli_env, describe_run

# Runs the CLI's main() as the console script does, then writes the names of every module
# it imported to the file given as the second argument (stdout stays the CLI's), and, next
# to it (facts.json), start-up work that leaves no module behind: whether the package
# version was looked up in the installed metadata, and whether pydantic went through every
# installed distribution's entry points looking for plugins (None: it did not).
PROBE = """
import json, sys
from pathlib import Path
args, report = json.loads(sys.argv[1]), Path(sys.argv[2])
sys.argv = ["fargate-api", *args]
try:
    from fargate_api.cli import main
    main()
finally:
    report.write_text(json.dumps(sorted(sys.modules)), encoding="utf-8")
    loader = sys.modules.get("pydantic.plugin._loader")
    facts = {
        "version_looked_up": "__version__" in vars(sys.modules["fargate_api"]),
        "pydantic_plugins": None if getattr(loader, "_plugins", None) is None else "scanned",
    }
    (report.parent / "facts.json").write_text(json.dumps(facts), encoding="utf-8")
"""

# The other commands' packages, and the heavy libraries only they use.
OTHER_COMMANDS = (
    "fargate_api.aws",
    "fargate_api.check",
    "fargate_api.cost",
    "fargate_api.diagram",
    "fargate_api.twin",
    "boto3",
    "botocore",
    "cfnlint",
    "diagrams",
)
# Neither is any of these needed by `synth` with the default config: the TOML parser (no
# file to read), `init`'s starter text, and the reading layer (synth writes templates, it
# does not read them back).
NOT_FOR_DEFAULT_SYNTH = ("tomllib", "fargate_api.config.starter", "fargate_api.templates")
LAZY = {lazy.name: lazy for lazy in cli.Commands.lazy_commands}


def run_probe(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    report = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), str(report)],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert report.exists(), describe_run(result)
    return result, set(json.loads(report.read_text(encoding="utf-8")))


def probe_facts(tmp_path: Path) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((tmp_path / "facts.json").read_text(encoding="utf-8"))
    return facts


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_synth_imports_none_of_the_other_commands(tmp_path: Path) -> None:
    result, modules = run_probe(tmp_path, "synth", "-o", "out")
    assert result.returncode == 0, describe_run(result)
    assert "Templates" in result.stdout, describe_run(result)
    assert {"fargate_api.config.model", "fargate_api.synth.render"} <= modules
    assert loaded(modules, OTHER_COMMANDS) == []
    assert loaded(modules, NOT_FOR_DEFAULT_SYNTH) == []


def test_synth_skips_start_up_work_it_does_not_need(tmp_path: Path) -> None:
    """Benchmark item 1 (issue 11): no metadata lookup of our version, and no scan of every
    installed distribution for pydantic plugins (fargate_api/config/__init__.py)."""
    result, _ = run_probe(tmp_path, "synth", "-o", "out")
    assert result.returncode == 0, describe_run(result)
    assert probe_facts(tmp_path) == {"version_looked_up": False, "pydantic_plugins": None}


def test_synth_with_a_config_file_reads_it(tmp_path: Path) -> None:
    (tmp_path / "fargate-api.toml").write_text('name = "probe"\n', encoding="utf-8")
    result, modules = run_probe(tmp_path, "synth", "-o", "out", "--json")
    assert result.returncode == 0, describe_run(result)
    assert "tomllib" in modules
    assert (tmp_path / "out" / "vpc.yml").read_text(encoding="utf-8").count("probe-") > 0
    assert loaded(modules, OTHER_COMMANDS) == []


def test_version_is_still_printed(tmp_path: Path) -> None:
    result, _ = run_probe(tmp_path, "--version")
    assert result.returncode == 0, describe_run(result)
    assert result.stdout.strip() == f"fargate-api {fargate_api.__version__}"
    assert fargate_api.__version__ != "0.0.0"  # the installed distribution's version
    assert probe_facts(tmp_path)["version_looked_up"] is True


def test_synth_json_does_not_build_a_rich_table(tmp_path: Path) -> None:
    result, modules = run_probe(tmp_path, "synth", "--json", "-o", "out")
    assert result.returncode == 0, describe_run(result)
    assert json.loads(result.stdout)["written"], describe_run(result)
    assert "rich.table" not in modules
    assert loaded(modules, OTHER_COMMANDS) == []


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_skip_the_config_model_too(tmp_path: Path, args: list[str]) -> None:
    result, modules = run_probe(tmp_path, *args)
    assert result.returncode == 0, describe_run(result)
    assert loaded(modules, ("fargate_api",)) == [
        "fargate_api",
        "fargate_api.cli",
        "fargate_api.cli_lazy",
        "fargate_api.cli_options",
        "fargate_api.errors",
    ]


def test_help_lists_every_command_without_importing_it(tmp_path: Path) -> None:
    result, modules = run_probe(tmp_path, "--help")
    assert result.returncode == 0, describe_run(result)
    for name in ["init", "synth", "config", *LAZY]:
        assert f"│ {name} " in result.stdout, f"{name} is not listed:\n{result.stdout}"
    assert loaded(modules, OTHER_COMMANDS) == []


@pytest.mark.parametrize("name", list(LAZY))
def test_a_lazy_command_imports_its_module_when_it_runs(tmp_path: Path, name: str) -> None:
    result, modules = run_probe(tmp_path, name, "--help")
    assert result.returncode == 0, describe_run(result)
    assert LAZY[name].module in modules
    assert f"Usage: fargate-api {name} " in result.stdout, describe_run(result)


# --- the registry against the real commands --------------------------------------------------


def real_command(lazy: LazyCommand) -> Any:
    return lazy.load(cli.app.rich_markup_mode)


def first_paragraph(help_text: str | None) -> str:
    return inspect.cleandoc(help_text or "").split("\n\n")[0]


@pytest.mark.parametrize("name", list(LAZY))
def test_registry_help_is_the_real_commands_first_paragraph(name: str) -> None:
    lazy = LAZY[name]
    command = real_command(lazy)
    assert command.name == name
    assert not isinstance(command, Placeholder)
    assert lazy.help == first_paragraph(command.help), (
        f"Commands.lazy_commands in cli.py has a stale help for {name!r}: copy the first "
        f"paragraph of the command's docstring:\n{first_paragraph(command.help)!r}"
    )


def test_local_keeps_its_subcommands() -> None:
    local = real_command(LAZY["local"])
    assert isinstance(local, typer.core.TyperGroup)
    assert list(local.commands) == [
        "up",
        "status",
        "down",
        "exec",
        "logs",
        "deploy",
        "scale",
        "rollback",
        "experiment",
        "fault",
    ]


def test_help_is_the_same_as_with_the_real_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """`fargate-api --help` from the placeholders == from the real commands, byte for byte."""

    class Loaded(cli.Commands):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            for lazy in self.lazy_commands:
                self.commands[lazy.name] = real_command(lazy)

    runner = CliRunner()
    lazy_help = runner.invoke(cli.app, ["--help"], prog_name="fargate-api")
    monkeypatch.setattr(cli.app.info, "cls", Loaded)
    real_help = runner.invoke(cli.app, ["--help"], prog_name="fargate-api")
    assert lazy_help.exit_code == real_help.exit_code == 0, lazy_help.output
    assert "local" in real_help.stdout
    assert lazy_help.stdout == real_help.stdout


def test_cli_default_config_path_is_the_loaders() -> None:
    from fargate_api.config import DEFAULT_CONFIG_PATH  # noqa: PLC0415

    assert cli.DEFAULT_CONFIG_PATH == DEFAULT_CONFIG_PATH
