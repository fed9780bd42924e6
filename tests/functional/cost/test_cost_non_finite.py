"""`cost --json` printed Infinity/NaN (invalid JSON) with exit 0 for a Number parameter
defaulting to .inf (from a fuzzing run): a non-finite number is bad input, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from functional.support import describe_run, run_cli


@pytest.mark.parametrize(
    ("default", "message"),
    [
        (".inf", "'.inf' is not a finite number"),
        (".nan", "'.nan' is not a finite number"),
        ("'Infinity'", "parameter Count: its Default ('Infinity') is not a finite number"),
    ],
)
def test_non_finite_number_parameter_is_exit_2(tmp_path: Path, default: str, message: str) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "parent.yml").write_text(
        f"Parameters:\n  Count: {{Type: Number, Default: {default}}}\n"
        "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n"
    )
    result = run_cli("cost", "-t", folder, "--json", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert "parent.yml:2: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
