"""Random configs either synthesize templates that cfn-lint passes, or fail cleanly.

The unit tier runs many examples against the pattern's invariants; this one runs fewer,
because each accepted example goes through the real cfn-lint (informational rules on).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, note, settings

from config_strategies import configs, to_toml
from fargate_api.config import parse_config
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, to_yaml
from functional.support import format_matches, lint_text


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Plausible values only: most examples are accepted and reach cfn-lint. The unit tier's
# property test covers the implausible ones with many more examples.
@given(data=configs(wild=False))
def test_random_config_is_lint_clean_or_a_clean_error(data: dict[str, Any]) -> None:
    text = to_toml(data)
    note(text)
    try:
        config = parse_config(text, source="random.toml")
    except UserError as exc:
        event("rejected")
        message = exc.render()
        assert message.startswith("random.toml") or "problems:" in message, message
        assert "Traceback" not in message
        return
    event("accepted")
    for name, template in synthesize(config).items():
        matches = lint_text(to_yaml(template.to_dict()))
        assert not matches, format_matches(name, matches)
