"""The same config gives the same bytes, and the YAML is plain (no aliases, no tags)."""

from __future__ import annotations

import re

import pytest
import yaml

from fargate_api.config import Config, parse_config
from fargate_api.synth import TEMPLATE_FILES, synthesize, template_files, to_yaml
from unit.variants import SERVICES_VARIANTS, VARIANTS

ALIAS = re.compile(r"[&*]id\d+")


def rendered(config: Config) -> dict[str, str]:
    return {name: to_yaml(t.to_dict()) for name, t in synthesize(config).items()}


def variant(name: str) -> Config:
    return parse_config(VARIANTS[name], source=f"{name}.toml")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_two_synths_are_byte_identical(name: str) -> None:
    first = rendered(variant(name))
    second = rendered(variant(name))
    assert list(first) == list(TEMPLATE_FILES)
    assert first == second


@pytest.mark.parametrize("name", sorted(SERVICES_VARIANTS))
def test_two_synths_of_several_services_are_byte_identical(name: str) -> None:
    config = parse_config(SERVICES_VARIANTS[name], source=f"{name}.toml")
    first = rendered(config)
    assert list(first) == list(template_files(config))
    assert first == rendered(parse_config(SERVICES_VARIANTS[name], source=f"{name}.toml"))
    for file_name, text in first.items():
        assert not ALIAS.search(text), f"{file_name} has a YAML alias"


def test_synth_leaves_no_state_behind() -> None:
    before = rendered(Config())
    rendered(variant("https-custom-ports"))
    rendered(variant("autoscaling-both"))
    rendered(variant("six-azs"))
    rendered(parse_config(SERVICES_VARIANTS["services-canary"]))
    assert rendered(Config()) == before


def test_config_order_does_not_matter() -> None:
    a = parse_config('[service.environment]\nB = "2"\nA = "1"\n[network]\nnat = "single"\n')
    b = parse_config('[network]\nnat = "single"\n[service.environment]\nA = "1"\nB = "2"\n')
    assert rendered(a) == rendered(b)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_yaml_has_no_aliases_and_reads_back_equal(name: str) -> None:
    config = variant(name)
    for file_name, template in synthesize(config).items():
        text = to_yaml(template.to_dict())
        assert not ALIAS.search(text), f"{file_name} has a YAML alias"
        assert "!!" not in text, f"{file_name} has a Python-specific YAML tag"
        assert yaml.safe_load(text) == template.to_dict(), file_name


def test_shared_objects_are_written_out_not_aliased() -> None:
    shared = {"Ref": "Thing"}
    document = {"A": shared, "B": [shared, shared], "C": {"D": shared}}
    text = to_yaml(document)
    assert not ALIAS.search(text)
    assert "&" not in text and "*" not in text
    assert yaml.safe_load(text) == document


def test_multi_line_strings_survive() -> None:
    code = "def handler(event, context):\n    return 1\n"
    text = to_yaml({"Code": {"ZipFile": code}, "Plain": "a: b"})
    assert yaml.safe_load(text) == {"Code": {"ZipFile": code}, "Plain": "a: b"}


def test_yaml_keeps_insertion_order() -> None:
    text = to_yaml(synthesize(Config())["service.yml"].to_dict())
    top = [line.split(":")[0] for line in text.splitlines() if re.match(r"^[A-Za-z]", line)]
    assert top == ["AWSTemplateFormatVersion", "Description", "Parameters", "Resources", "Outputs"]
