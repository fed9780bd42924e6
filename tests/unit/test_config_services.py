"""Every error of [[services]], routing and custom domains says what, and points at the
line of the key it is about, in the table it is about (the second [[services]] table's
key, not the first's)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from fargate_api.config import parse_config
from fargate_api.errors import UserError

SOURCE = "shop.toml"
PRIVATE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0"

# Lines: 1 name, 3 [[services]], 4 name, 5 paths, 7 [[services]], 8 name, 9 paths; what a
# case adds to the second service starts at line 10.
TWO = """\
name = "shop"

[[services]]
name = "api"
paths = ["/api/*"]

[[services]]
name = "web"
paths = ["/*"]
"""


@dataclass(frozen=True)
class Case:
    text: str
    says: tuple[str, ...]
    line: int


def case(text: str, *says: str, line: int) -> Case:
    return Case(text, says, line)


CASES: dict[str, Case] = {
    # --- keys that only [[services]] takes
    "paths-in-service": case(
        '[service]\nport = 8080\npaths = ["/api/*"]\n',
        "service.paths applies only to [[services]]",
        line=3,
    ),
    "hosts-in-service": case(
        '[service]\nhosts = ["a.example.com"]\n', "service.hosts applies only", line=2
    ),
    "priority-in-service": case("[service]\npriority = 5\n", "service.priority applies", line=2),
    "allow-from-in-service": case(
        '[service]\nallow_from = ["web"]\n', "service.allow_from applies", line=2
    ),
    "autoscaling-in-service": case(
        "[service]\nport = 80\n\n[service.autoscaling]\ncpu_target = 50\n",
        "service.autoscaling applies only to [[services]]",
        line=4,
    ),
    # --- [[services]] as a whole
    "service-and-services": case(
        '[service]\nport = 80\n\n[[services]]\nname = "api"\npaths = ["/*"]\n',
        "[service] and [[services]] are both set",
        line=1,
    ),
    "top-level-autoscaling-with-services": case(
        TWO + "\n[autoscaling]\ncpu_target = 50\n",
        "autoscaling is set at the top level with [[services]]",
        "[services.autoscaling]",
        line=11,
    ),
    "service-name-not-a-label": case(
        TWO.replace('name = "web"', 'name = "Web"'),
        "services[1].name = 'Web' is not a valid stack name part",
        line=8,
    ),
    "service-name-twice": case(
        TWO.replace('name = "web"', 'name = "api"'),
        "services[1].name = 'api' is used twice",
        line=8,
    ),
    "allow-from-itself": case(
        TWO + 'allow_from = ["web"]\n', "services[1].allow_from names 'web' itself", line=10
    ),
    "allow-from-unknown": case(
        TWO + 'allow_from = ["db"]\n',
        "services[1].allow_from names 'db', which is not a service; known: api, web",
        line=10,
    ),
    # --- routes (check_routes)
    "no-paths-nor-hosts": case(
        TWO.replace('paths = ["/*"]\n', "port = 8080\n"),
        "services[1] (web) has neither paths nor hosts",
        'paths = ["/*"]',
        line=7,
    ),
    "too-many-conditions": case(
        TWO.replace(
            'paths = ["/*"]', 'paths = ["/a", "/b", "/c"]\nhosts = ["x.io", "y.io", "z.io"]'
        ),
        "services[1] (web) lists 6 paths and hosts; an ALB rule takes 5 at most",
        line=7,
    ),
    "same-priority": case(
        TWO + "priority = 10\n",
        "services[1].priority: web and api both have priority 10",
        line=10,
    ),
    "shadowed": case(
        TWO.replace('paths = ["/*"]', 'paths = ["/api/v2/*"]').replace(
            'paths = ["/api/*"]', 'paths = ["/api/*"]\npriority = 5'
        ),
        "services[1] (web): api (priority 5) shadows it (priority 20)",
        "no request reaches web",
        line=8,  # the second [[services]] header: priority 5 moved it down one line
    ),
    "same-routes": case(
        TWO.replace('paths = ["/*"]', 'paths = ["/api/*"]'),
        "api (priority 10) routes the same paths and hosts as it (priority 20)",
        line=7,
    ),
    # --- a service's own keys
    "bad-path": case(
        TWO.replace('paths = ["/*"]', 'paths = ["api/*"]'),
        "services[1].paths = ['api/*']",
        "'api/*' is not an ALB path pattern",
        line=9,
    ),
    "path-twice": case(
        TWO.replace('paths = ["/*"]', 'paths = ["/x", "/x"]'),
        "path '/x' is listed twice",
        line=9,
    ),
    "bad-host": case(
        TWO + 'hosts = ["exa mple.com"]\n',
        "services[1].hosts",
        "'exa mple.com' is not an ALB host pattern",
        line=10,
    ),
    "host-twice": case(TWO + 'hosts = ["a.io", "a.io"]\n', "host 'a.io' is listed twice", line=10),
    "priority-out-of-range": case(
        TWO + "priority = 0\n", "services[1].priority = 0", "greater than or equal to 1", line=10
    ),
    "cpu-in-the-second-service": case(
        TWO + "cpu = 3\n", "services[1].cpu = 3", "not a Fargate CPU size", line=10
    ),
    "memory-in-the-second-service": case(
        TWO + "cpu = 1024\nmemory = 512\n",
        "services[1]: memory = 512 does not fit cpu = 1024",
        line=11,
    ),
    "unknown-key-in-the-second-service": case(
        TWO + 'imagee = "x"\n',
        "unknown key 'imagee' in services[1]; did you mean 'image'?",
        line=10,
    ),
    "service-autoscaling-bounds": case(
        TWO + "\n[services.autoscaling]\nmin = 5\nmax = 3\ncpu_target = 50\n",
        "services[1].autoscaling: min (5) is larger than max (3)",
        line=12,
    ),
    "desired-count-outside-service-scaling": case(
        TWO + "desired_count = 1\n\n[services.autoscaling]\ncpu_target = 50\n",
        "services[1].desired_count (1) must lie between services[1].autoscaling.min (2)",
        line=10,
    ),
    "desired-count-outside-scaling": case(
        "[service]\ndesired_count = 1\n\n[autoscaling]\ncpu_target = 50\n",
        "service.desired_count (1) must lie between autoscaling.min (2)",
        line=2,
    ),
    "deregistration-shorter-than-idle": case(
        TWO + "deregistration_delay = 10\nstop_timeout = 20\n",
        "services[1].deregistration_delay (10) is shorter than load_balancer.idle_timeout (30)",
        line=10,
    ),
    "public-image-without-nat": case(
        '[network]\nnat = "none"\nvpc_endpoints = true\n\n'
        + TWO.replace('name = "shop"\n', "").replace(
            'name = "api"', f'name = "api"\nimage = "{PRIVATE_IMAGE}"'
        )
        + 'image = "nginx:1.27"\n',
        "services[1].image 'nginx:1.27' is pulled from the internet",
        line=14,
    ),
    # --- custom domain
    "bad-domain": case(
        '[load_balancer]\nidle_timeout = 30\ndomain = "*.example.com"\n',
        "[load_balancer] domain = '*.example.com'",
        "is not a domain name for the API",
        line=3,
    ),
    "upper-case-domain": case(
        '[load_balancer]\ndomain = "API.example.com"\n', "'API.example.com' is not a domain", line=2
    ),
    "zone-without-domain": case(
        '[load_balancer]\nidle_timeout = 30\nhosted_zone_id = "Z123ABC"\n',
        "hosted_zone_id is set without domain",
        line=3,
    ),
    "bad-zone": case(
        '[load_balancer]\ndomain = "api.example.com"\nhosted_zone_id = "z-123"\n',
        "[load_balancer] hosted_zone_id = 'z-123'",
        "should match pattern",
        line=3,
    ),
    "domain-ports-clash": case(
        '[load_balancer]\ndomain = "api.example.com"\nhttp_port = 443\n',
        "http_port and https_port must differ",
        line=3,
    ),
}


def error_of(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse_config(text, source=SOURCE)
    return caught.value.render()


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_says_what(name: str) -> None:
    message = error_of(CASES[name].text)
    for fragment in CASES[name].says:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert "Value error" not in message and "Traceback" not in message
    assert "\n  fix: " in message


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_points_at_the_line(name: str) -> None:
    message = error_of(CASES[name].text)
    lines = [int(n) for n in re.findall(rf"{re.escape(SOURCE)}:(\d+)", message)]
    assert lines == [CASES[name].line], f"expected line {CASES[name].line}:\n{message}"


def test_the_cases_are_valid_without_their_mistake() -> None:
    """The base the cases edit validates, so each error is the case's own."""
    config = parse_config(TWO)
    assert [svc.name for svc in config.services] == ["api", "web"]


def test_a_subtable_follows_its_own_services_table() -> None:
    """[services.autoscaling] belongs to the [[services]] table above it: an error in the
    first service's scaling points there, not at the second's."""
    text = TWO.replace(
        'paths = ["/api/*"]\n', 'paths = ["/api/*"]\n\n[services.autoscaling]\nmin = 9\nmax = 3\n'
    )
    message = error_of(text + "\n[services.autoscaling]\ncpu_target = 50\n")
    assert "services[0].autoscaling" in message
    assert f"{SOURCE}:8:" in message, message


def test_array_element_lists_are_not_arrays_of_tables() -> None:
    """An index into a plain array (network.public_subnets[1]) still points at its key."""
    message = error_of('[network]\npublic_subnets = ["10.0.0.0/24", "nope"]\n')
    assert f"{SOURCE}:2:" in message and "public_subnets[1]" in message, message


DOMAIN_WITH_HOSTS = """
name = "shop"
[load_balancer]
domain = "api.example.com"

[[services]]
name = "docs"
hosts = [{host}]

[[services]]
name = "api"
paths = ["/*"]
"""


@pytest.mark.parametrize(
    ("host", "wanted"),
    [
        ('"docs-?.example.com"', "cannot be a name of the certificate"),
        ('"docs.other.org"', "is not in example.com, the zone of load_balancer.domain"),
    ],
)
def test_a_host_the_requested_certificate_cannot_name_is_refused(host: str, wanted: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_config(DOMAIN_WITH_HOSTS.format(host=host), source="f.toml")
    message = caught.value.render()
    assert wanted in message
    assert "f.toml:8:" in message, message  # the hosts key of the first [[services]]


def test_hosts_in_the_zone_and_a_wildcard_are_certificate_names() -> None:
    config = parse_config(DOMAIN_WITH_HOSTS.format(host='"docs.example.com", "*.example.com"'))
    assert config.load_balancer.presumed_zone() == "example.com"


def test_a_given_certificate_lifts_the_host_rules() -> None:
    text = DOMAIN_WITH_HOSTS.format(host='"docs.other.org"').replace(
        "[load_balancer]\n",
        '[load_balancer]\ncertificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"\n',
    )
    assert parse_config(text).services[0].hosts == ("docs.other.org",)
