"""The deploy flow against moto exactly as released, with no harness patches.

moto 5 executes change sets without computing the stacks' outputs; the tool then
evaluates them from the deployed resources (aws/derived_outputs.py). This is the run a
reviewer does by hand: `moto_server`, then `deploy --endpoint-url URL --yes --json`.
moto cannot delete a stack's NAT gateways and route tables, so `destroy` is checked on the
patched server in test_moto_deploy.py; here it must still fail cleanly, with one message.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from functional.aws.cli import run_cli


def test_deploy_twice_on_plain_moto(plain_moto_url: str, tmp_path: Path) -> None:
    first = run_cli(tmp_path, "deploy", "--yes", "--json", endpoint=plain_moto_url)
    assert first.code == 0, first.explain()
    data = first.json()
    assert data["url"].startswith("http://") and data["url"].endswith(".elb.amazonaws.com")
    assert len(data["egress_ips"]) == 2
    assert all(ipaddress.ip_address(ip).version == 4 for ip in data["egress_ips"])
    assert [s["result"] for s in data["stacks"]] == ["created"] * 3

    second = run_cli(tmp_path, "deploy", "--yes", "--json", endpoint=plain_moto_url)
    assert second.code == 0, second.explain()
    again = second.json()
    assert [s["result"] for s in again["stacks"]] == ["no changes"] * 3
    assert again["egress_ips"] == data["egress_ips"] and again["url"] == data["url"]

    status = run_cli(tmp_path, "outputs", "--json", endpoint=plain_moto_url)
    assert status.code == 0, status.explain()
    assert status.json()["egress_ips"] == data["egress_ips"]

    gone = run_cli(tmp_path, "destroy", "--yes", endpoint=plain_moto_url)
    assert gone.code != 0
    assert "Traceback" not in gone.stderr
    assert gone.stderr.count("error:") == 1, gone.explain()
