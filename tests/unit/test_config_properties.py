"""Any config text either fails with one clean UserError or synthesizes safe templates.

The strategies and the TOML emitter live in tests/config_strategies.py, shared with the
functional tier's lint property test.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from hypothesis import event, given, note, settings

from config_strategies import configs, to_toml
from fargate_api.config import parse_config
from fargate_api.errors import UserError
from unit.support import check_invariants, synth_dicts

SOURCE = "prop.toml"


def test_emitter_round_trips() -> None:
    data = {
        "name": 'a "quoted"\\ name\n',
        "n": -3,
        "f": 0.5,
        "ok": True,
        "list": ["x", 'y"'],
        "t": {"inner": 1, "sub": {"k": "v"}, "inline": [1, 2]},
    }
    assert tomllib.loads(to_toml(data)) == data


@settings(max_examples=200, deadline=None, database=None)
@given(data=configs(wild=False) | configs(wild=True))
def test_config_is_rejected_cleanly_or_synthesizes_safely(data: dict[str, Any]) -> None:
    text = to_toml(data)
    note(text)
    assert tomllib.loads(text) == data
    try:
        config = parse_config(text, source=SOURCE)
    except UserError as exc:
        event("rejected")
        message = exc.render()
        assert isinstance(message, str)
        assert message.strip()
        assert "Traceback" not in message
        assert SOURCE in message
        lines = text.splitlines()
        for number in re.findall(rf"{re.escape(SOURCE)}:(\d+)", message):
            line = lines[int(number) - 1]
            assert re.match(r"^\[|^[A-Za-z0-9_\"-]+ = ", line), (number, line)
        return
    event("accepted")
    check_invariants(config, synth_dicts(config))
