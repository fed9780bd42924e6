"""Every way a config can be wrong ends in one UserError that says where and what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from fargate_api.config import Config, load_config, parse_config
from fargate_api.errors import UserError

SOURCE = "cfg.toml"
SSM = "arn:aws:ssm:us-east-1:123456789012:parameter/db"
PRIVATE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0"
EXPLICIT = "[network]\npublic_subnets = [{public}]\nprivate_subnets = [{private}]\n"


@dataclass(frozen=True)
class Case:
    text: str
    says: tuple[str, ...]
    # Lines the message may point at: the offending keys' lines or their table's header.
    lines: frozenset[int]


def case(text: str, *says: str, lines: set[int]) -> Case:
    return Case(text, says, frozenset(lines))


def subnets(public: str, private: str) -> str:
    return EXPLICIT.format(public=public, private=private)


CASES: dict[str, Case] = {
    "unknown-key": case(
        '[service]\nimagee = "x"\n', "unknown key 'imagee'", "did you mean 'image'?", lines={2}
    ),
    "unknown-top-level-key": case(
        'nmae = "api"\n', "unknown key 'nmae'", "did you mean 'name'?", lines={1}
    ),
    "unknown-key-no-suggestion": case(
        'name = "api"\n\n[network]\nzzz = 1\n', "unknown key 'zzz'", "[network]", lines={4}
    ),
    "unknown-table": case(
        'name = "api"\n\n[servce]\nimage = "x"\n',
        "unknown key 'servce'",
        "did you mean 'service'?",
        lines={3},
    ),
    "unknown-nested-table": case(
        '[load_balancer.acces_logs]\nbucket = "my-logs"\n',
        "unknown key 'acces_logs'",
        "did you mean 'access_logs'?",
        lines={1},
    ),
    "unknown-key-in-inline-table": case(
        '[load_balancer]\naccess_logs = { bucket = "my-alb-logs", prefx = "api" }\n',
        "unknown key 'prefx'",
        "did you mean 'prefix'?",
        lines={2},
    ),
    "invalid-cpu": case(
        "[service]\ncpu = 300\n",
        "cpu",
        "300",
        "256, 512, 1024, 2048, 4096, 8192, 16384",
        lines={2},
    ),
    "memory-not-fitting-cpu-range": case(
        "[service]\ncpu = 1024\nmemory = 512\n",
        "memory = 512",
        "cpu = 1024",
        "2048 to 8192 in steps of 1024",
        lines={1, 2, 3},
    ),
    "memory-not-fitting-cpu-list": case(
        "[service]\nmemory = 4096\n", "memory = 4096", "512, 1024, 2048", lines={1, 2}
    ),
    "invalid-nat": case(
        '[network]\nnat = "double"\n',
        "nat",
        "'double'",
        "'per-az'",
        "'single'",
        "'none'",
        lines={2},
    ),
    "az-count-too-high": case("[network]\naz_count = 7\n", "az_count", "6", lines={2}),
    "az-count-too-low": case("[network]\naz_count = 1\n", "az_count", "2", lines={2}),
    "cidr-too-small-for-azs": case(
        '[network]\ncidr = "10.0.0.0/24"\naz_count = 6\n',
        "10.0.0.0/24",
        "too small for 6 AZs",
        "/27",
        lines={1, 2, 3},
    ),
    "cidr-prefix-too-large": case(
        '[network]\ncidr = "10.0.0.0/8"\n', "cidr", "/16", "/28", "/8", lines={2}
    ),
    "cidr-prefix-too-small": case(
        '[network]\ncidr = "10.0.0.0/29"\n', "cidr", "/16", "/28", "/29", lines={2}
    ),
    "cidr-not-a-network": case(
        '[network]\ncidr = "10.0.0.1/16"\n', "cidr", "10.0.0.1/16", lines={2}
    ),
    "subnet-prefix-too-large": case(
        "[network]\naz_count = 3\nsubnet_prefix = 18\n",
        "holds only 4 subnets of /18",
        "3 AZs need 6",
        lines={1, 2, 3},
    ),
    "subnets-overlap": case(
        subnets('"10.0.0.0/18", "10.0.32.0/19"', '"10.0.128.0/18", "10.0.192.0/18"'),
        "public_subnets[0] = 10.0.0.0/18 overlaps public_subnets[1] = 10.0.32.0/19",
        lines={1, 2, 3},
    ),
    "subnets-overlap-across-kinds": case(
        subnets('"10.0.0.0/18", "10.0.64.0/18"', '"10.0.64.0/20", "10.0.192.0/18"'),
        "overlaps",
        "private_subnets[0] = 10.0.64.0/20",
        lines={1, 2, 3},
    ),
    "subnet-outside-vpc": case(
        subnets('"10.1.0.0/18", "10.0.64.0/18"', '"10.0.128.0/18", "10.0.192.0/18"'),
        "public_subnets[0] = 10.1.0.0/18 is not inside the VPC range 10.0.0.0/16",
        lines={1, 2, 3},
    ),
    "subnet-too-small": case(
        subnets('"10.0.0.0/18", "10.0.64.0/18"', '"10.0.128.0/28", "10.0.192.0/18"'),
        "private_subnets[0] = 10.0.128.0/28 is too small",
        "/27",
        lines={1, 2, 3},
    ),
    "subnets-wrong-count": case(
        subnets('"10.0.0.0/18"', '"10.0.128.0/18", "10.0.192.0/18"'),
        "public_subnets lists 1 ranges but az_count is 2",
        lines={1, 2, 3},
    ),
    "subnet-not-a-network": case(
        subnets('"x", "10.0.64.0/18"', '"10.0.128.0/18", "10.0.192.0/18"'),
        "public_subnets[0]",
        "'x'",
        lines={2},
    ),
    "nat-none-without-endpoints": case(
        '[network]\nnat = "none"\n', "nat = 'none'", "vpc_endpoints = true", lines={1, 2}
    ),
    "nat-none-with-public-image": case(
        '[network]\nnat = "none"\nvpc_endpoints = true\n\n[service]\nimage = "nginx:1.27"\n',
        "'nginx:1.27'",
        "nat = 'none'",
        "private ECR",
        lines={1, 2, 5, 6},
    ),
    "bad-secret-arn": case(
        '[service.secrets]\nDB = "arn:aws:s3:::bucket/key"\n',
        "DB",
        "arn:aws:s3:::bucket/key",
        "not an SSM parameter or Secrets Manager ARN",
        lines={1, 2},
    ),
    "bad-env-name": case(
        '[service.environment]\nMY-VAR = "x"\n',
        "'MY-VAR'",
        "not a valid environment variable name",
        lines={1, 2},
    ),
    "bad-secret-name": case(
        f'[service.secrets]\n1DB = "{SSM}"\n', "'1DB'", "environment variable name", lines={1, 2}
    ),
    "env-secret-clash": case(
        f'[service.environment]\nDB = "x"\n\n[service.secrets]\nDB = "{SSM}"\n',
        "DB",
        "both environment and secrets",
        lines={1, 2, 4, 5},
    ),
    "bad-local-command-placeholder": case(
        '[local]\ncommand = "serve --port {prot}"\n', "{prot}", "{port}", lines={2}
    ),
    "empty-local-command": case('[local]\ncommand = "  "\n', "command", "empty", lines={2}),
    "weak-ssl-policy": case(
        '[load_balancer]\nssl_policy = "ELBSecurityPolicy-2016-08"\n',
        "ssl_policy",
        "'ELBSecurityPolicy-2016-08'",
        "TLS 1.2",
        lines={2},
    ),
    "tls-1-1-ssl-policy": case(
        '[load_balancer]\nssl_policy = "ELBSecurityPolicy-TLS-1-1-2017-01"\n',
        "ELBSecurityPolicy-TLS-1-1-2017-01",
        "TLS 1.2",
        lines={2},
    ),
    "bad-certificate-arn": case(
        '[load_balancer]\ncertificate_arn = "arn:aws:iam::123456789012:server-certificate/x"\n',
        "certificate_arn",
        "server-certificate",
        lines={2},
    ),
    "same-listener-ports": case(
        '[load_balancer]\ncertificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/a-1"'
        "\nhttps_port = 80\n",
        "http_port and https_port must differ",
        lines={1, 3},
    ),
    "no-ingress-cidrs": case(
        "[load_balancer]\ningress_cidrs = []\n", "ingress_cidrs", "at least one", lines={2}
    ),
    "repeated-ingress-cidr": case(
        '[load_balancer]\ningress_cidrs = ["0.0.0.0/0", "10.0.0.0/8", "0.0.0.0/0"]\n',
        "ingress_cidrs",
        "0.0.0.0/0 is listed twice",
        lines={2},
    ),
    "autoscaling-min-above-max": case(
        "[autoscaling]\nmin = 5\nmax = 3\ncpu_target = 50\n",
        "min (5) is larger than max (3)",
        lines={1, 2, 3},
    ),
    "autoscaling-without-target": case(
        "[autoscaling]\nmin = 1\nmax = 3\n",
        "cpu_target",
        "requests_per_target",
        lines={1},
    ),
    "desired-count-outside-autoscaling": case(
        "[service]\ndesired_count = 20\n\n[autoscaling]\nmin = 1\nmax = 3\ncpu_target = 50\n",
        "desired_count (20)",
        "min (1)",
        "max (3)",
        lines={1, 2, 4, 5, 6},
    ),
    "deregistration-shorter-than-idle-timeout": case(
        "[service]\nderegistration_delay = 10\n",
        "deregistration_delay (10)",
        "idle_timeout (30)",
        lines={1, 2},
    ),
    "idle-timeout-longer-than-deregistration": case(
        "[load_balancer]\nidle_timeout = 60\n",
        "deregistration_delay (45)",
        "idle_timeout (60)",
        lines={1, 2},
    ),
    "stop-timeout-not-longer-than-deregistration": case(
        "[service]\nderegistration_delay = 60\nstop_timeout = 60\n",
        "stop_timeout (60)",
        "deregistration_delay (60)",
        "61",
        lines={1, 2, 3},
    ),
    "stop-timeout-capped-below-deregistration": case(
        "[service]\nderegistration_delay = 300\nstop_timeout = 120\n",
        "stop_timeout",
        "deregistration_delay",
        lines={1, 2, 3},
    ),
    "stop-timeout-above-fargate-limit": case(
        "[service]\nstop_timeout = 121\n", "stop_timeout", "120", lines={2}
    ),
    "health-check-timeout-not-below-interval": case(
        "[service]\nhealth_check_interval = 10\nhealth_check_timeout = 10\n",
        "health_check_timeout (10)",
        "health_check_interval (10)",
        lines={1, 2, 3},
    ),
    "invalid-log-retention": case(
        "[service]\nlog_retention_days = 2\n",
        "log_retention_days",
        "2 is not a CloudWatch Logs retention",
        "3653",
        lines={2},
    ),
    "invalid-flow-log-retention": case(
        "[network]\nflow_logs_retention_days = 10\n",
        "flow_logs_retention_days",
        "10 is not a CloudWatch Logs retention",
        lines={2},
    ),
    "bad-name": case('name = "1api"\n', "name", "'1api'", "28 characters", lines={1}),
    "name-too-long": case(f'name = "{"a" * 29}"\n', "name", "28 characters", lines={1}),
    "bad-service-name": case(
        '[service]\nname = "web_api"\n', "name", "'web_api'", "start with a letter", lines={2}
    ),
    "wrong-type": case('[service]\nport = "eighty"\n', "port", "'eighty'", lines={2}),
    "port-out-of-range": case("[service]\nport = 70000\n", "port", "65535", lines={2}),
    "spot-out-of-range": case("[service]\nspot = 101\n", "spot", "100", lines={2}),
    "bad-user": case('[service]\nuser = "a b"\n', "user", "'a b'", lines={2}),
    "table-is-a-string": case('service = "web"\n', "[service]", lines={1}),
    "command-element-not-a-string": case(
        '[service]\ncommand = [\n  "serve",\n  8080,\n]\n', "command[1]", "8080", lines={2}
    ),
}


def where_lines(message: str, source: str = SOURCE) -> list[int]:
    return [int(n) for n in re.findall(rf"{re.escape(source)}:(\d+)", message)]


def error_of(text: str, source: str = SOURCE) -> UserError:
    with pytest.raises(UserError) as caught:
        parse_config(text, source=source)
    return caught.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_says_what(name: str) -> None:
    message = error_of(CASES[name].text).render()
    for fragment in CASES[name].says:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert SOURCE in message
    assert "Traceback" not in message
    assert "Value error" not in message
    assert "errors.pydantic.dev" not in message
    assert "\n  fix: " in message


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_says_which_line(name: str) -> None:
    message = error_of(CASES[name].text).render()
    lines = where_lines(message)
    assert lines, f"no {SOURCE}:LINE in:\n{message}"
    assert set(lines) <= CASES[name].lines, (
        f"points at {lines}, not {CASES[name].lines}:\n{message}"
    )


def test_invalid_toml_names_file_and_line() -> None:
    error = error_of('name = "api"\n\n[service]\ncpu = \n')
    message = error.render()
    assert message.startswith(f"{SOURCE}: not valid TOML")
    assert re.search(r"\bline 4\b", message), message
    assert "toml.io" in message


def test_unquoted_string_is_invalid_toml() -> None:
    message = error_of("[service]\nimage = nginx\n").render()
    assert "not valid TOML" in message
    assert re.search(r"\bline 2\b", message), message


def test_several_problems_in_one_message() -> None:
    message = error_of("[service]\ncpu = 300\nport = 0\n").render()
    assert message.startswith("2 problems:")
    assert sorted(where_lines(message)) == [2, 3]


def test_source_name_is_used_verbatim() -> None:
    message = error_of("[service]\ncpu = 300\n", source="conf/prod.toml").render()
    assert "conf/prod.toml:2" in message


def test_private_ecr_image_is_accepted_with_nat_none() -> None:
    config = parse_config(
        f'[network]\nnat = "none"\nvpc_endpoints = true\n\n[service]\nimage = "{PRIVATE_IMAGE}"\n'
    )
    assert config.network.nat == "none"
    assert config.service.image == PRIVATE_IMAGE


def test_china_region_private_ecr_image_is_accepted_with_nat_none() -> None:
    image = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api@sha256:" + "a" * 64
    config = parse_config(
        f'[network]\nnat = "none"\nvpc_endpoints = true\n[service]\nimage = "{image}"\n'
    )
    assert config.service.image == image


def test_deregistration_delay_at_the_limit_is_accepted() -> None:
    config = parse_config("[service]\nderegistration_delay = 119\nstop_timeout = 120\n")
    assert config.service.stop_timeout > config.service.deregistration_delay


def test_user_error_render_shapes() -> None:
    assert UserError("broken").render() == "broken"
    assert UserError("broken", where="a.toml:3").render() == "a.toml:3: broken"
    assert UserError("broken", where="a.toml", fix="mend it").render() == (
        "a.toml: broken\n  fix: mend it"
    )


# ------------------------------------------------------------------------- load_config


def test_load_config_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(UserError) as caught:
        load_config(missing)
    message = caught.value.render()
    assert str(missing) in message
    assert "not found" in message


def test_load_config_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        load_config(tmp_path)
    assert str(tmp_path) in caught.value.render()


def test_load_config_without_path_in_empty_dir_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None) == Config()


def test_load_config_without_path_reads_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fargate-api.toml").write_text("[service]\ncpu = 300\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_config(None)
    assert "fargate-api.toml:2" in caught.value.render()
    (tmp_path / "fargate-api.toml").write_text("[service]\ncpu = 512\nmemory = 1024\n")
    config = load_config(None)
    assert (config.service.cpu, config.service.memory) == (512, 1024)


def test_load_config_reads_an_explicit_path(tmp_path: Path) -> None:
    path = tmp_path / "api.toml"
    path.write_text('name = "orders"\n[network]\nnat = "single"\n', encoding="utf-8")
    config = load_config(path)
    assert config.name == "orders"
    assert config.network.nat == "single"
    path.write_text("[network]\naz_count = 9\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_config(path)
    assert f"{path}:2" in caught.value.render()
