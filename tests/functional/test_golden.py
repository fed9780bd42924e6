"""Golden templates: what the real CLI writes for each variant config, pinned.

The comparison is on parsed YAML, so a change in quoting or line wrapping alone does not
fail; any change of content does, with the differing paths listed. Byte-level stability
is checked separately: two runs must write identical bytes.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from functional.support import (
    GOLDEN_DIR,
    REGEN_SCRIPT,
    REPO,
    REQUIRED_VARIANTS,
    TEMPLATE_FILES,
    VARIANTS_DIR,
    SynthCache,
    cli_env,
    describe_run,
    dict_diff,
    golden_mismatch_message,
    load_template,
    run_cli,
    variant_config,
    variant_files,
    variant_names,
    variant_template_files,
)

VARIANTS = variant_names()


def _run_regen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REGEN_SCRIPT), *(str(a) for a in args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_required_variant_has_a_config() -> None:
    missing = [v for v in REQUIRED_VARIANTS if not variant_config(v).is_file()]
    assert not missing, f"variant configs missing from {VARIANTS_DIR}: {missing}"
    assert variant_config("default").read_text(encoding="utf-8") == "", (
        "default.toml must stay empty: it stands for 'no config at all'"
    )


def test_golden_folders_match_the_variants() -> None:
    golden = (
        sorted(p.name for p in GOLDEN_DIR.iterdir() if p.is_dir()) if GOLDEN_DIR.is_dir() else []
    )
    assert golden == VARIANTS, (
        f"tests/golden has folders {golden} but tests/variants has configs {VARIANTS}; "
        "run 'make golden' to regenerate the goldens"
    )
    for variant in VARIANTS:
        files = sorted(p.name for p in (GOLDEN_DIR / variant).iterdir())
        expected = sorted(variant_template_files(variant))
        assert files == expected, (
            f"tests/golden/{variant} holds {files}, expected exactly {expected}; run 'make golden'"
        )


def test_the_variant_file_lists_follow_the_layout() -> None:
    """The helper the per-file tests rely on: one [service] keeps the reference's four
    files, [[services]] get the shared load balancer and a stack per service."""
    assert variant_template_files("default") == TEMPLATE_FILES
    assert variant_template_files("services") == (
        "vpc.yml",
        "cluster.yml",
        "load-balancer.yml",
        "service-api.yml",
        "service-web.yml",
        "parent.yml",
    )


@pytest.mark.parametrize(("variant", "name"), variant_files())
def test_cli_output_matches_golden(synthesized: SynthCache, variant: str, name: str) -> None:
    golden_file = GOLDEN_DIR / variant / name
    actual = load_template(synthesized.get(variant) / name)
    assert golden_file.is_file(), (
        f"no golden template {golden_file.relative_to(REPO)}; run 'make golden' to create it"
    )
    expected = load_template(golden_file)
    differences = dict_diff(expected, actual)
    assert not differences, golden_mismatch_message(f"{variant}/{name}", differences)


@pytest.mark.parametrize("variant", VARIANTS)
def test_two_synth_runs_write_identical_bytes(
    synthesized: SynthCache, variant: str, tmp_path: Path
) -> None:
    """Nothing run-dependent (hash seed, working folder, output path) reaches the files."""
    first = synthesized.get(variant)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    config = variant_config(variant)
    second = run_cli(
        "synth", "-c", config, "-o", "out", cwd=cwd, env=cli_env(PYTHONHASHSEED="4242")
    )
    assert second.returncode == 0, describe_run(second)
    assert sorted(p.name for p in (cwd / "out").iterdir()) == sorted(
        variant_template_files(variant)
    )
    for name in variant_template_files(variant):
        a, b = (first / name).read_bytes(), (cwd / "out" / name).read_bytes()
        assert a == b, f"{variant}/{name}: two synth runs wrote different bytes"


def test_regen_check_passes_on_the_committed_goldens() -> None:
    result = _run_regen("--check")
    assert result.returncode == 0, (
        "scripts/regen_golden.py --check found drift or failed; run 'make golden' if the "
        f"change is intended\n{describe_run(result)}"
    )


def test_regen_writes_what_the_cli_writes(synthesized: SynthCache, tmp_path: Path) -> None:
    """The script (in-process API) and the CLI (subprocess) give the same bytes."""
    target = tmp_path / "golden"
    result = _run_regen("--golden-dir", target)
    for variant in VARIANTS:
        if not (target / variant).is_dir() or synthesized.run(variant).returncode != 0:
            continue  # reported below, by the exit code and by the CLI golden tests
        for name in variant_template_files(variant):
            script_bytes = (target / variant / name).read_bytes()
            cli_bytes = (synthesized.get(variant) / name).read_bytes()
            assert script_bytes == cli_bytes, f"{variant}/{name}: regen_golden.py != CLI output"
    assert result.returncode == 0, describe_run(result)
    assert sorted(p.name for p in target.iterdir()) == VARIANTS, describe_run(result)


def test_regen_check_reports_drift_and_writes_nothing(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    shutil.copytree(GOLDEN_DIR, golden)
    changed = golden / "default" / "service.yml"
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("RetentionInDays: 30", "RetentionInDays: 7"),
        encoding="utf-8",
    )
    (golden / "default" / "cluster.yml").unlink()
    (golden / "no-such-variant").mkdir()
    before = {p: p.read_bytes() for p in golden.rglob("*") if p.is_file()}

    result = _run_regen("--check", "--golden-dir", golden)

    assert result.returncode == 1, describe_run(result)
    assert "default/service.yml: differs" in result.stderr, describe_run(result)
    assert "RetentionInDays: 7" in result.stderr, "the drift report should show the diff"
    assert "default/cluster.yml: golden file missing" in result.stderr, describe_run(result)
    assert "no-such-variant" in result.stderr, describe_run(result)
    assert "make golden" in result.stderr, describe_run(result)
    after = {p: p.read_bytes() for p in golden.rglob("*") if p.is_file()}
    assert after == before, "--check must not write"


def test_golden_mismatch_message_names_the_paths() -> None:
    expected = load_template(GOLDEN_DIR / "default" / "service.yml")
    actual = copy.deepcopy(expected)
    actual["Parameters"]["DesiredCount"]["Default"] = 3
    del actual["Outputs"]["LogGroupName"]
    actual["Resources"]["Service"]["Properties"]["LoadBalancers"].append({"X": 1})

    message = golden_mismatch_message("default/service.yml", dict_diff(expected, actual))

    assert "~ Parameters.DesiredCount.Default: golden 2 -> now 3" in message
    assert "- Outputs.LogGroupName: missing" in message
    assert "+ Resources.Service.Properties.LoadBalancers[1]: added" in message
    assert "make golden" in message
    assert dict_diff(expected, copy.deepcopy(expected)) == []
    assert dict_diff({"a": 1}, {"a": True}), "1 and true are different YAML values"
