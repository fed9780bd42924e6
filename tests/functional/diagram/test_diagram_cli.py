"""`fargate-api diagram` as a real process: the image written, what it shows, and the
failures a user can fix (exit 2, one message with a fix)."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from functional.support import (
    REPO,
    SynthCache,
    cli_env,
    describe_run,
    require_reference_dir,
    run_cli,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_OUTPUT = "fargate-api-diagram.png"
GEN_SCRIPT = REPO / "scripts" / "gen_diagram.py"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _svg_text(svg: str) -> str:
    """The text Graphviz drew, one label line per <text> element, unescaped."""
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return "\n".join(t.replace("&#45;", "-").replace("&gt;", ">") for t in texts)


def _one_error(stderr: str) -> None:
    assert stderr.startswith("error: "), stderr
    assert stderr.count("error:") == 1, stderr
    assert "\n  fix: " in stderr, stderr
    assert "Traceback" not in stderr, stderr


def test_default_png(tmp_path: Path) -> None:
    result = run_cli("diagram", cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    assert result.stdout.strip() == DEFAULT_OUTPUT
    assert "Graphviz" in result.stderr
    width, height = _png_size(tmp_path / DEFAULT_OUTPUT)
    assert 800 <= width <= 6000 and 500 <= height <= 6000, (width, height)
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEFAULT_OUTPUT]  # no scratch files


def test_svg_shows_the_components(tmp_path: Path) -> None:
    out = tmp_path / "arch.svg"
    result = run_cli("diagram", "-o", out, cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    assert result.stdout.strip() == str(out)
    svg = out.read_text(encoding="utf-8")
    text = _svg_text(svg)
    for label in (
        "VPC 10.0.0.0/16",
        "AZ us-east-1a",
        "AZ us-east-1b",
        "public subnet 10.0.0.0/18",
        "public subnet 10.0.64.0/18",
        "private subnet 10.0.128.0/18",
        "private subnet 10.0.192.0/18",
        "internet gateway",
        "NAT gateway",
        "Elastic IP",
        "ALB (internet-facing)",
        "HTTP 80",
        "web: 1 task",
        "web: 2 tasks",
        "ALB SG: tcp 80 from 0.0.0.0/0",
        "web SG: tcp 80 from the ALB SG",
    ):
        assert label in text, f"{label!r} not in the SVG's text:\n{text}"
    assert text.splitlines().count("NAT gateway") == 2
    assert text.splitlines().count("Elastic IP") == 2
    # Portable: icons are inlined, no path of this machine is referenced.
    assert "data:image/png;base64," in svg
    assert not re.search(r'xlink:href="/', svg)


def test_template_folder_single_nat(tmp_path: Path, synthesized: SynthCache) -> None:
    out = tmp_path / "single.svg"
    result = run_cli("diagram", "-t", synthesized.get("single-nat"), "-o", out, cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    text = _svg_text(out.read_text(encoding="utf-8"))
    assert text.splitlines().count("NAT gateway") == 1
    assert text.splitlines().count("Elastic IP") == 1


def test_no_nat_shows_endpoints(tmp_path: Path, synthesized: SynthCache) -> None:
    out = tmp_path / "none.svg"
    folder = synthesized.get("no-nat-endpoints")
    result = run_cli("diagram", "-t", folder, "-o", out, cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    text = _svg_text(out.read_text(encoding="utf-8"))
    assert "NAT gateway" not in text
    assert "VPC endpoints" in text and "ecr.api" in text
    assert "(no internet route)" in text


def test_several_services_show_routes_and_calls(tmp_path: Path, synthesized: SynthCache) -> None:
    out = tmp_path / "services.svg"
    result = run_cli("diagram", "-t", synthesized.get("services"), "-o", out, cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    lines = _svg_text(out.read_text(encoding="utf-8")).splitlines()
    for label in ("api SG: tcp 80 from the ALB SG", "/api/* (priority 10)",
                  "web SG: tcp 8080 from the ALB SG", "/* (priority 20)"):  # fmt: skip
        assert label in lines, f"{label!r} not in the SVG's text:\n{lines}"
    # One arrow from api's tasks to web's per subnet that runs both.
    assert lines.count("web SG: tcp 8080 from the api SG") == 2


def test_reference_templates(tmp_path: Path) -> None:
    reference = require_reference_dir()
    out = tmp_path / "reference.png"
    result = run_cli("diagram", "-t", reference, "-o", out, cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    _png_size(out)
    svg_out = tmp_path / "reference.svg"
    result = run_cli("diagram", "-t", reference / "parent.yml", "-o", svg_out, cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    assert "ALB SG: all traffic from 0.0.0.0/0" in _svg_text(svg_out.read_text("utf-8"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "diagram.pdf"), "unsupported diagram format '.pdf'"),
        (("-o", "diagram"), "unsupported diagram format '(no suffix)'"),
        (("-t", "missing-dir"), "no such file or folder"),
        (("-t", "."), "no CloudFormation templates found"),
        (("-c", "x.toml", "-t", "."), "give -c CONFIG or -t DIR, not both"),
    ],
)
def test_user_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("diagram", *args, cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr)
    assert message in result.stderr
    assert result.stdout == ""
    assert not list(tmp_path.iterdir())


def test_graphviz_missing(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli("diagram", "-o", "d.png", cwd=tmp_path, env=cli_env(PATH=str(empty)))
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr)
    assert "Graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert not (tmp_path / "d.png").exists()


def test_nothing_to_draw(tmp_path: Path, synthesized: SynthCache) -> None:
    cluster = synthesized.get("default") / "cluster.yml"
    result = run_cli("diagram", "-t", cluster, "-o", "d.png", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr)
    assert "no subnet, load balancer or ECS service to draw" in result.stderr


def test_gen_diagram_script(tmp_path: Path) -> None:
    """scripts/gen_diagram.py draws the defaults, whatever ./fargate-api.toml says."""
    (tmp_path / "fargate-api.toml").write_text('[network]\nnat = "single"\n', encoding="utf-8")
    out = tmp_path / "readme.svg"
    result = subprocess.run(
        [sys.executable, str(GEN_SCRIPT), "-o", str(out)],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert _svg_text(out.read_text(encoding="utf-8")).splitlines().count("NAT gateway") == 2
    bad = subprocess.run(
        [sys.executable, str(GEN_SCRIPT), "-o", str(tmp_path / "x.gif")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "unsupported diagram format" in bad.stderr


def test_readme_diagram_is_committed() -> None:
    width, height = _png_size(REPO / "docs" / "diagram.png")
    assert width >= 800 and height >= 500
