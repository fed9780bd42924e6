"""The command's checks that need no Graphviz: output format, template folder, dot lookup,
and the SVG post-processing."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fargate_api.diagram.command import load_inputs, output_format
from fargate_api.diagram.render import inline_images, require_graphviz
from fargate_api.errors import UserError


@pytest.mark.parametrize(("name", "fmt"), [("a.png", "png"), ("b.SVG", "svg"), ("c/d.svg", "svg")])
def test_output_format_from_suffix(name: str, fmt: str) -> None:
    assert output_format(Path(name)) == fmt


@pytest.mark.parametrize("name", ["a.pdf", "a.jpg", "diagram", "a.png.txt"])
def test_other_suffixes_are_refused(name: str) -> None:
    with pytest.raises(UserError) as caught:
        output_format(Path(name))
    assert ".png or .svg" in (caught.value.fix or "")


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        load_inputs([str(tmp_path / "nope")])
    with pytest.raises(UserError, match="no CloudFormation templates found"):
        load_inputs([str(tmp_path)])


def test_graphviz_missing_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UserError) as caught:
        require_graphviz()
    assert "'dot'" in caught.value.what
    assert "apt-get install graphviz" in (caught.value.fix or "")


def test_svg_icons_are_inlined(tmp_path: Path) -> None:
    icon = tmp_path / "icon.png"
    icon.write_bytes(b"\x89PNG fake")
    svg = f'<image xlink:href="{icon}"/><image xlink:href="/missing/x.png"/>'
    inlined = inline_images(svg)
    encoded = base64.b64encode(icon.read_bytes()).decode()
    assert f'xlink:href="data:image/png;base64,{encoded}"' in inlined
    assert 'xlink:href="/missing/x.png"' in inlined  # left alone: nothing to inline
