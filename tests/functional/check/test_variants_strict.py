"""`check --strict` passes on what `synth` writes for every variant, not only the defaults.

Each variant's deliberate trade-offs must reach its templates as suppressions with a
reason, in whichever stack holds the resource (service.yml, or load-balancer.yml and the
service-<name>.yml files of [[services]]); a finding without one, or a suppression that
matches nothing (FA002), fails the variant. cfn-lint runs inside `check`, so its
warnings count too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from functional.check.support import run_json
from functional.support import SynthCache, scanned_variant_names, variant_template_files


@pytest.mark.parametrize("variant", scanned_variant_names())
def test_variant_passes_check_strict(synthesized: SynthCache, variant: str) -> None:
    out = synthesized.get(variant)
    code, document = run_json(out, "--strict")
    unsuppressed = [
        f"{f['rule']} {f['file']}:{f['line']} {f['resource']}: {f['message']}"
        for f in document["findings"]
        if not f["suppressed"]
    ]
    assert unsuppressed == [], f"{variant}: check --strict reports:\n" + "\n".join(unsuppressed)
    assert code == 0
    assert all(f["suppressed"]["reason"] for f in document["findings"])
    # The whole layout was checked: the parent and every child it nests.
    checked = sorted(Path(f).name for f in document["files"])
    assert checked == sorted(variant_template_files(variant)), checked
