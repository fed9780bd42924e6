"""Rendered security-group scripts as nft itself reads them: `nft -c -f -`.

Check mode asks the kernel to validate the whole transaction and commits nothing, so a
script that reads right (tests/unit/twin/test_security_group_rules.py) but would not
load fails here rather than when a twin is built. It needs CAP_NET_ADMIN and nf_tables,
hence this tier: without them every test here is reported as not run (and fails with
CI=true), never passed on text alone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address

import pytest

from fargate_api.twin.ec2.security_group_rules import (
    render_eni_ruleset,
    render_membership_update,
)
from unit.twin.security_group_scenarios import (
    IFACE,
    LB,
    LB_KEY,
    MEMBERS,
    SCENARIOS,
    SVC,
    TABLE,
)

NftCheck = Callable[[str], None]


def _nft_check(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nft", "-c", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )


@pytest.fixture(scope="module")
def nft_check() -> NftCheck:
    """`nft -c`, after making sure it can run at all (a clear failure when it cannot)."""
    probe = _nft_check(f"table inet {TABLE}-probe {{}}\n")
    if probe.returncode != 0:
        pytest.fail(
            f"`nft -c -f -` cannot run here: {probe.stderr.strip()}. Check mode asks the "
            "kernel to validate the script and needs CAP_NET_ADMIN and nf_tables.",
            pytrace=False,
        )

    def check(script: str) -> None:
        result = _nft_check(script)
        assert result.returncode == 0, f"nft rejects the script:\n{result.stderr}\n{script}"

    return check


def test_nft_check_rejects_a_broken_script(nft_check: NftCheck) -> None:
    """The validator itself can say no: otherwise every check below would prove nothing."""
    broken = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS).replace(
        "policy drop", "policy maybe"
    )
    assert _nft_check(broken).returncode != 0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_rendered_ruleset_loads_in_nft_check_mode(nft_check: NftCheck, name: str) -> None:
    groups, members = SCENARIOS[name]
    nft_check(render_eni_ruleset(TABLE, IFACE, groups, members))


def test_reloading_the_same_table_is_one_valid_transaction(nft_check: NftCheck) -> None:
    """Two loads back to back: the second must replace, not collide with, the first."""
    first = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS)
    second = render_eni_ruleset(TABLE, IFACE, [LB], {})
    nft_check(first + second)


def test_membership_update_loads_after_the_ruleset(nft_check: NftCheck) -> None:
    ruleset = render_eni_ruleset(TABLE, IFACE, [SVC], MEMBERS)
    grow = render_membership_update(
        TABLE, LB_KEY, [IPv4Address("192.0.2.13"), IPv4Address("192.0.2.10")]
    )
    empty = render_membership_update(TABLE, LB_KEY, [])
    nft_check(ruleset + grow + empty)


def test_membership_update_does_not_create_a_missing_set(nft_check: NftCheck) -> None:
    """The update leaves tables without the set alone: loading it there must fail."""
    ruleset = render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS)  # references SVC, not LB
    update = render_membership_update(TABLE, LB_KEY, [IPv4Address("192.0.2.13")])
    assert _nft_check(ruleset + update).returncode != 0
