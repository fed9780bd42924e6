"""Where the inventory comes from: a template folder (several roots add up) or a config."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.cost.command import load_inventory
from fargate_api.errors import UserError

NAT_STACK = """
Resources:
  Ip:
    Type: AWS::EC2::EIP
  Nat:
    Type: AWS::EC2::NatGateway
    Properties:
      AllocationId: !GetAtt Ip.AllocationId
      SubnetId: subnet-1
"""


def test_unrelated_roots_in_one_folder_add_up(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(NAT_STACK)
    (tmp_path / "b.yml").write_text(NAT_STACK)
    (tmp_path / "notes.yml").write_text("just: yaml\n")
    inventory, origin = load_inventory(None, [str(tmp_path)])
    assert (inventory.nat_gateways, inventory.nat_eips, inventory.other_eips) == (2, 2, 0)
    assert str(tmp_path) in origin


def test_config_input_is_synthesized_in_memory(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[network]\nnat = "single"\n')
    inventory, origin = load_inventory(config, None)
    assert inventory.nat_gateways == 1
    assert str(config) in origin
    assert list(tmp_path.iterdir()) == [config]  # nothing written


def test_both_inputs_are_refused() -> None:
    with pytest.raises(UserError, match="not both"):
        load_inventory(Path("c.toml"), ["."])


def test_a_file_is_priced_as_its_folder_would_be(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(NAT_STACK)
    by_file, _ = load_inventory(None, [str(tmp_path / "a.yml")])
    by_folder, _ = load_inventory(None, [str(tmp_path)])
    assert by_file == by_folder
    assert by_file.nat_gateways == 1


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        load_inventory(None, [str(tmp_path / "missing")])
