"""`fargate-api cost` as a process: JSON and table on stdout, errors as exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from functional.support import (
    REPO,
    cli_env,
    describe_run,
    require_reference_dir,
    run_cli,
    variant_config,
)

NO_AWS = {
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
CLEARED = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env(**NO_AWS).items() if k not in CLEARED}
    env.update(extra)
    return env


def _cost(*args: str | Path, cwd: Path, **env: str) -> Any:
    return run_cli("cost", *args, cwd=cwd, env=_env(**env))


def _json(*args: str | Path, cwd: Path) -> dict[str, Any]:
    result = _cost("--json", *args, cwd=cwd)
    assert result.returncode == 0, describe_run(result)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_default_json_has_every_line_with_source_and_date(tmp_path: Path) -> None:
    data = _json(cwd=tmp_path)
    assert data["region"] == "us-east-1"
    assert data["list_prices_without_free_tier"] is True
    categories = {line["category"] for line in data["lines"]}
    assert {"NAT gateway", "Load balancer", "Fargate x86", "Public IPv4", "CloudWatch Logs",
            "Data transfer"} <= categories  # fmt: skip
    for line in data["lines"]:
        assert line["source"].startswith("bundled table prices.toml: https://aws.amazon.com/")
        assert len(line["as_of"]) == 10, line
    assert data["monthly_total"] == pytest.approx(sum(x["monthly"] for x in data["lines"]), 0.01)
    assert set(data["assumptions"]) >= {"traffic_gb", "log_gb", "lcus", "egress_gb"}


def test_single_nat_variant_saves_exactly_one_nat_and_its_eip(tmp_path: Path) -> None:
    data = _json(cwd=tmp_path)
    unit = {line["price_key"]: line["unit_price"] for line in data["lines"]}
    expected = 1 * 730 * unit["nat_gateway_hour"] + 1 * 730 * unit["public_ipv4_hour"]
    variant = next(v for v in data["variants"] if v["name"] == "single NAT gateway")
    assert variant["saving"] == round(expected, 2) == 36.5
    assert "AZ failure domain" in variant["trade_off"]
    assert variant["config"] == 'network.nat = "single"'


def test_templates_dir_gives_the_same_estimate_as_the_config(tmp_path: Path) -> None:
    synth = run_cli("synth", "-o", tmp_path / "out", cwd=tmp_path, env=_env())
    assert synth.returncode == 0, describe_run(synth)
    from_dir = _json("-t", tmp_path / "out", cwd=tmp_path)
    from_config = _json(cwd=tmp_path)
    assert from_dir["lines"] == from_config["lines"]
    assert "templates in" in from_dir["inputs"]


def test_edited_templates_are_what_gets_priced(tmp_path: Path) -> None:
    """The templates are the contract: a hand edit changes the estimate."""
    out = tmp_path / "out"
    assert run_cli("synth", "-o", out, cwd=tmp_path, env=_env()).returncode == 0
    service = out / "service.yml"
    text = service.read_text()
    service.write_text(text.replace("    Default: 2\n", "    Default: 6\n", 1))
    data = _json("-t", out, cwd=tmp_path)
    vcpu = next(x for x in data["lines"] if x["price_key"] == "fargate_vcpu_hour")
    assert vcpu["quantity"] == 6 * 0.25 * 730


def test_config_flags_and_region(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[network]\nnat = "single"\naz_count = 3\n')
    data = _json("-c", config, "--region", "eu-central-1", "--traffic-gb", "1000", cwd=tmp_path)
    assert data["region"] == "eu-central-1"
    dto = next(x for x in data["lines"] if x["price_key"] == "data_transfer_out_gb")
    assert dto["quantity"] == 1000
    nat = next(x for x in data["lines"] if x["price_key"] == "nat_gateway_hour")
    assert (nat["quantity"], nat["unit_price"]) == (730, 0.052)
    assert "single NAT gateway" not in {v["name"] for v in data["variants"]}


def test_region_from_the_environment(tmp_path: Path) -> None:
    result = _cost("--json", cwd=tmp_path, AWS_REGION="ap-southeast-2")
    assert result.returncode == 0, describe_run(result)
    assert json.loads(result.stdout)["region"] == "ap-southeast-2"


def test_table_output_goes_to_stdout(tmp_path: Path) -> None:
    result = _cost(cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    for text in ("Monthly estimate, us-east-1", "NAT gateway", "total", "Assumptions",
                 "Cheaper variants", "single NAT gateway", "bundled, "):  # fmt: skip
        assert text in result.stdout, text
    assert result.stderr == ""


def test_live_without_credentials_falls_back_with_a_note(tmp_path: Path) -> None:
    result = _cost("--json", "--live", cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    assert "no AWS credentials" in result.stderr
    assert json.loads(result.stdout)["lines"][0]["source"].startswith("bundled table")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--region", "mars-north-1"), "no bundled prices for region 'mars-north-1'"),
        (("-t", "missing-dir"), "no such file or folder"),
        (("-c", "missing.toml"), "missing.toml"),
        (("-c", "x.toml", "-t", "."), "not both"),
        (("--live", "--region", "mars-north-1"), "needs AWS credentials"),
        (("--traffic-gb", "-1"), ""),
    ],
)
def test_bad_input_is_exit_2_with_one_message(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = _cost(*args, cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_folder_without_templates_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = _cost("-t", tmp_path / "empty", cwd=tmp_path)
    assert result.returncode == 2, describe_run(result)
    assert "no CloudFormation templates found" in result.stderr


def test_the_reference_templates_are_priced_from_their_own_resources(tmp_path: Path) -> None:
    reference = require_reference_dir()
    data = _json("-t", reference, cwd=tmp_path)
    quantities = {x["price_key"]: x["quantity"] for x in data["lines"]}
    assert quantities["nat_gateway_hour"] == 2 * 730
    assert quantities["public_ipv4_hour"] == 4 * 730
    assert quantities["fargate_vcpu_hour"] == 2 * 0.25 * 730
    storage = next(x for x in data["lines"] if x["price_key"] == "logs_storage_gb_month")
    assert "never expires" in storage["item"]  # the reference sets no retention


def test_several_services_are_priced_under_their_names(tmp_path: Path) -> None:
    """tests/variants/services.toml: api and web, both 2 tasks of 0.25 vCPU."""
    out = tmp_path / "out"
    synth = run_cli("synth", "-c", variant_config("services"), "-o", out, cwd=tmp_path, env=_env())
    assert synth.returncode == 0, describe_run(synth)
    data = _json("-t", out, cwd=tmp_path)
    schema = json.loads((REPO / "docs" / "schemas" / "cost-report.schema.json").read_text())
    jsonschema.validate(data, schema)
    vcpu = [x for x in data["lines"] if x["price_key"] == "fargate_vcpu_hour"]
    assert [(x["service"], x["item"].split(":")[0]) for x in vcpu] == [
        ("api", "api"),
        ("web", "web"),
    ]
    assert [s["service"] for s in data["by_service"]] == ["api", "web"]
    own = sum(x["monthly"] for x in data["lines"] if x["service"] == "api")
    assert data["by_service"][0]["monthly_total"] == pytest.approx(own, abs=0.01)
    table = _cost("-t", out, cwd=tmp_path)
    assert table.returncode == 0, describe_run(table)
    assert "By service" in table.stdout
    assert "Service: 2" not in table.stdout and "api: 2 task(s)" in table.stdout
    single = _cost(cwd=tmp_path)
    assert "By service" not in single.stdout  # one service: its lines say it all
