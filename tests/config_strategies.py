"""Hypothesis strategies for config files, shared by the unit and functional tiers.

Configs are generated as dicts over plausible and implausible values of the main keys
and written out as TOML by the small emitter below (tomllib only reads), so that tests
feed `parse_config` exactly what a user's file would hold.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hypothesis import strategies as st

from fargate_api.config.fargate_sizes import FARGATE_MEMORY_BY_CPU

PRIVATE_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.0"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f"
SSM_SECRET = "arn:aws:ssm:eu-west-1:123456789012:parameter/api/key"
MANAGED_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"

# ------------------------------------------------------------------------ TOML emitter

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if BARE_KEY.match(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value)
        return repr(value)
    if isinstance(value, str):
        # A JSON string of ASCII text is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(data: dict[str, Any], table: tuple[str, ...] = ()) -> str:
    lines = []
    if table:
        lines.append(f"[{'.'.join(toml_key(k) for k in table)}]")
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    text = "\n".join(lines) + "\n"
    for key, value in data.items():
        if isinstance(value, dict):
            text += "\n" + to_toml(value, (*table, key))
    return text


def optional(**values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict holding any subset of the keys: absent keys take the model's defaults."""
    return st.fixed_dictionaries({}, optional=values)


def either(
    wild: bool, plausible: st.SearchStrategy[Any], implausible: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    return plausible | implausible if wild else plausible


PLAUSIBLE_CIDRS = ["10.0.0.0/16", "10.50.0.0/16", "172.16.0.0/20", "192.168.0.0/24"]
IMPLAUSIBLE_CIDRS = ["", "10.0.0.1/16", "not-a-cidr", "10.0.0.0", "::/0", "10.0.0.0/8"]
IMAGES = ["public.ecr.aws/docker/library/nginx:latest", PRIVATE_IMAGE, "ghcr.io/acme/api:1.2.3"]
GOOD_SSL = ["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06"]
BAD_SSL = ["ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS-1-1-2017-01", "Custom"]


@st.composite
def cpu_and_memory(draw: st.DrawFn, wild: bool) -> dict[str, int]:
    cpu = draw(
        either(wild, st.sampled_from(list(FARGATE_MEMORY_BY_CPU)), st.sampled_from([0, 300]))
    )
    fitting = FARGATE_MEMORY_BY_CPU.get(cpu, (512,))
    memory = draw(either(wild, st.sampled_from(fitting), st.sampled_from([0, 513, 200000])))
    return {"cpu": cpu, "memory": memory}


@st.composite
def networks(draw: st.DrawFn, wild: bool) -> dict[str, Any]:
    cidr = st.sampled_from(PLAUSIBLE_CIDRS) | st.builds(
        "{}.{}.0.0/{}".format, st.integers(1, 223), st.integers(0, 255), st.integers(16, 26)
    )
    any_cidr = st.builds(
        "{}.{}.{}.0/{}".format,
        st.integers(0, 300),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 33),
    )
    network = draw(
        optional(
            cidr=either(wild, cidr, any_cidr | st.sampled_from(IMPLAUSIBLE_CIDRS)),
            az_count=either(wild, st.integers(2, 6), st.sampled_from([-1, 0, 1, 7, 8])),
            nat=either(
                wild,
                st.sampled_from(["per-az", "single", "none"]),
                st.sampled_from(["double", "", "PER-AZ", "per_az"]),
            ),
            vpc_endpoints=st.booleans(),
            flow_logs=st.booleans(),
            flow_logs_retention_days=either(
                wild, st.sampled_from([1, 30, 90, 365]), st.sampled_from([0, 2, 10000])
            ),
        )
    )
    if wild:
        if draw(st.booleans()):
            network["subnet_prefix"] = draw(st.integers(15, 30))
    elif draw(st.booleans()):
        # A size that fits: from the computed one down to the smallest an ALB accepts.
        vpc_prefix = int(str(network.get("cidr", "10.0.0.0/16")).rsplit("/", 1)[1])
        computed = vpc_prefix + math.ceil(math.log2(2 * network.get("az_count", 2)))
        if computed <= 27:
            network["subnet_prefix"] = draw(st.integers(computed, 27))
    return network


def ints(wild: bool, plausible: list[int], low: int, high: int) -> st.SearchStrategy[int]:
    """Mostly the listed values; wild also draws anything in low..high."""
    return either(wild, st.sampled_from(plausible), st.integers(low, high))


@st.composite
def services(draw: st.DrawFn, wild: bool) -> dict[str, Any]:
    service = draw(
        optional(
            image=either(
                wild, st.sampled_from(IMAGES), st.sampled_from(["nginx:1.27", "httpd", ""])
            ),
            port=ints(wild, [80, 8080, 3000, 65535], -1, 70000),
            desired_count=ints(wild, [0, 1, 2, 3, 10], -1, 1002),
            deregistration_delay=ints(wild, [30, 45, 60, 90, 119, 120, 300], -5, 4000),
            stop_timeout=ints(wild, [46, 60, 91, 120], -1, 130),
            spot=ints(wild, [0, 1, 50, 99, 100], -1, 101),
            platform=either(wild, st.sampled_from(["X86_64", "ARM64"]), st.just("arm64")),
            user=either(wild, st.sampled_from(["1000", "1000:1000", "app"]), st.just("a b")),
            read_only_root_filesystem=either(
                wild, st.sampled_from([True, False, "auto"]), st.just("sometimes")
            ),
            health_check_path=either(wild, st.sampled_from(["/", "/health"]), st.just("health")),
            unhealthy_threshold=ints(wild, [2, 3, 10], 0, 12),
            environment=st.dictionaries(
                either(wild, st.sampled_from(["LOG_LEVEL", "API_KEY"]), st.just("BAD-NAME")),
                st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
                max_size=2,
            ),
            secrets=st.dictionaries(
                either(wild, st.sampled_from(["DB_URL", "API_KEY"]), st.just("1BAD")),
                either(
                    wild,
                    st.sampled_from([SSM_SECRET, MANAGED_SECRET]),
                    st.sampled_from(["arn:aws:s3:::bucket/key", "plain"]),
                ),
                max_size=2,
            ),
        )
    )
    if draw(st.booleans()):
        service.update(draw(cpu_and_memory(wild)))
    if not wild and "deregistration_delay" in service:
        shortest = min(service["deregistration_delay"] + 1, 120)
        service["stop_timeout"] = draw(st.integers(shortest, 120))
    return service


def load_balancers(wild: bool) -> st.SearchStrategy[dict[str, Any]]:
    return optional(
        certificate_arn=either(
            wild,
            st.just(CERTIFICATE),
            st.sampled_from(["arn:aws:acm:eu-west-1:1:certificate/x", "arn:aws:iam::1:cert"]),
        ),
        ssl_policy=either(wild, st.sampled_from(GOOD_SSL), st.sampled_from(BAD_SSL)),
        http_port=ints(wild, [80, 8080], 0, 65536),
        https_port=ints(wild, [443, 8443], 0, 65536),
        idle_timeout=ints(wild, [1, 30, 45, 60], 0, 4001),
        ingress_cidrs=either(
            wild,
            st.lists(st.sampled_from(["0.0.0.0/0", "203.0.113.0/24"]), min_size=1, max_size=2),
            st.lists(st.sampled_from(["10.0.0.1/8", "x"]), max_size=2),
        ),
    )


@st.composite
def autoscalings(draw: st.DrawFn, wild: bool) -> dict[str, Any]:
    scaling = draw(
        optional(
            min=ints(wild, [1, 2, 3], -1, 12),
            max=ints(wild, [3, 10, 20], 0, 12),
            scale_in_cooldown=ints(wild, [0, 60, 300], -1, 3601),
        )
    )
    cpu = either(
        wild,
        st.floats(1, 100, allow_nan=False) | st.integers(1, 100),
        st.floats(-10, 150, allow_nan=False),
    )
    requests = ints(wild, [100, 1000], -1, 5000)
    # Plausible scaling tracks at least one metric; wild scaling may track none.
    targets = draw(st.sampled_from(["cpu", "requests", "both"] + (["none"] if wild else [])))
    if targets in ("cpu", "both"):
        scaling["cpu_target"] = draw(cpu)
    if targets in ("requests", "both"):
        scaling["requests_per_target"] = draw(requests)
    return scaling


def configs(wild: bool) -> st.SearchStrategy[dict[str, Any]]:
    return optional(
        name=either(
            wild,
            st.sampled_from(["api", "serverless-api-environment", "a" * 28]),
            st.sampled_from(["a" * 29, "1api", "", "my_api"]),
        ),
        network=networks(wild),
        service=services(wild),
        load_balancer=load_balancers(wild),
        autoscaling=autoscalings(wild),
        local=optional(
            command=either(
                wild,
                st.sampled_from(["python3 -m http.server {port}", "run"]),
                st.sampled_from(["serve {host}", ""]),
            )
        ),
    )
