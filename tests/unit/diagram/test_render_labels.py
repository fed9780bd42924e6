"""Template text reaches Graphviz's `dot` only escaped and shortened (from a fuzzing run:
a CIDR ending in a backslash and a 16k-character logical id made `dot` fail)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphviz.backend.execute import CalledProcessError

from fargate_api.diagram import render as render_module
from fargate_api.diagram.model import DiagramModel
from fargate_api.diagram.render import MAX_LABEL_LINE, _id, _text
from fargate_api.errors import OperationError


def test_a_trailing_backslash_is_escaped() -> None:
    assert _text("subnet bad\\") == "subnet bad\\\\"


def test_every_backslash_is_escaped_so_none_starts_an_escape() -> None:
    assert _text("a\\nb\\\\c") == "a\\\\nb\\\\\\\\c"


def test_long_label_lines_are_shortened_each() -> None:
    label = _text("S" * 17_000 + "\nshort")
    first, second = label.split("\n")
    assert len(first) == MAX_LABEL_LINE and first.endswith("…")
    assert second == "short"


def test_plain_ids_are_kept_and_odd_or_long_ones_digested() -> None:
    assert _id("VpcStack/PublicSubnet1") == "VpcStack/PublicSubnet1"
    long_id = _id("S" * 17_000)
    assert len(long_id) < 64 and long_id == _id("S" * 17_000)
    assert _id("S" * 17_000) != _id("S" * 16_999)
    assert "\\" not in _id('bad\\"id')


def test_dot_failing_is_an_operation_error_with_what_it_said(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def failing_draw(model: object, base: Path, fmt: str) -> None:
        raise CalledProcessError(1, ["dot"], stderr=b"Error: syntax error in line 12\n")

    monkeypatch.setattr(render_module, "require_graphviz", lambda: None)
    monkeypatch.setattr(render_module, "_draw", failing_draw)
    model = DiagramModel(None, None, None, (), (), (), (), (), ())
    with pytest.raises(OperationError) as caught:
        render_module.render(model, tmp_path / "out.svg", "svg")
    assert caught.value.exit_code == 1
    assert "syntax error in line 12" in caught.value.what
    assert not (tmp_path / "out.svg").exists()
