"""ALB models to render as HAProxy configurations, shared by two tiers.

tests/unit/twin/test_haproxy_config.py reads the rendered text (pure, no haproxy);
tests/twin/test_haproxy_syntax.py feeds every configuration in CONFIGS to the real
`haproxy -c`, since text that looks right but that haproxy rejects or reads differently
is the failure that matters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

from fargate_api.twin.elbv2 import tls
from fargate_api.twin.elbv2.haproxy_config import render_haproxy_config
from fargate_api.twin.plan.model import (
    Action,
    HealthCheck,
    Listener,
    ListenerRule,
    LoadBalancer,
    LoadBalancerNode,
    TargetGroup,
    WeightedTargetGroup,
)

CHECK = HealthCheck(
    path="/health",
    port=None,
    protocol="HTTP",
    interval=15,
    timeout=5,
    healthy_threshold=3,
    unhealthy_threshold=2,
    matcher="200-299",
)
WEB, API = "Svc/WebTargetGroup", "Svc/ApiTargetGroup"
GROUPS = {key: TargetGroup(key, key.split("/")[1], 8080, "HTTP", CHECK, 30) for key in (WEB, API)}
SOCKET = Path("/run/fa-test/haproxy.sock")
NODES = (
    LoadBalancerNode("Vpc/PublicA", "a", IPv4Address("198.51.100.10"), IPv4Address("203.0.113.10")),
    LoadBalancerNode("Vpc/PublicB", "b", IPv4Address("198.51.100.11"), IPv4Address("203.0.113.11")),
)
FIXED_BODY = 'He said "$HOME" is 100% \\ fine\nit\'s # not a comment'


def forward(*groups: tuple[str, int]) -> Action:
    return Action("forward", tuple(WeightedTargetGroup(key, weight) for key, weight in groups))


def listener(*rules: ListenerRule, default: Action | None = None, **kw: object) -> Listener:
    fields: dict[str, object] = {
        "key": "Svc/HttpListener",
        "port": 80,
        "protocol": "HTTP",
        "default_actions": (default or forward((WEB, 1)),),
        "rules": rules,
    }
    fields.update(kw)
    return Listener(**fields)  # type: ignore[arg-type]


def balancer(*listeners: Listener, idle_timeout: int = 60) -> LoadBalancer:
    return LoadBalancer(
        key="Svc/Alb",
        name="svc-alb",
        internet_facing=True,
        nodes=NODES,
        security_groups=("Svc/AlbSg",),
        idle_timeout=idle_timeout,
        listeners=listeners or (listener(),),
    )


def rule(
    priority: int, action: Action, paths: tuple[str, ...] = (), hosts: tuple[str, ...] = ()
) -> ListenerRule:
    return ListenerRule(f"Svc/Rule{priority}", priority, paths, hosts, (action,))


def render(lb: LoadBalancer, **kw: object) -> str:
    return render_haproxy_config(lb, GROUPS, stats_socket=SOCKET, **kw)  # type: ignore[arg-type]


def section(config: str, header: str) -> list[str]:
    """The stripped lines of one section, e.g. "frontend ls.Svc.HttpListener"."""
    lines = config.splitlines()
    start = lines.index(header)
    body: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        body.append(line.strip())
    return body


# ------------------------------------------------------------------------------ configurations
# Each takes a scratch folder (for files a configuration names, like a certificate) and
# returns the configuration text. The unit tests assert on the text, the twin tier runs
# `haproxy -c` on every one of them.

CONFIGS: dict[str, Callable[[Path], str]] = {}


def _config(name: str) -> Callable[[Callable[[Path], str]], Callable[[Path], str]]:
    def register(make: Callable[[Path], str]) -> Callable[[Path], str]:
        assert name not in CONFIGS, name
        CONFIGS[name] = make
        return make

    return register


@_config("idle timeout 120")
def idle_timeout_120(_: Path) -> str:
    return render(balancer(idle_timeout=120))


@_config("two listeners")
def two_listeners(_: Path) -> str:
    return render(balancer(listener(), listener(key="Svc/Admin", port=8080)))


@_config("rules by priority")
def rules_by_priority(_: Path) -> str:
    redirect = Action("redirect", status_code=302)
    rules = (
        rule(5, forward((API, 1)), paths=("/api/*", "/v?/api")),
        rule(10, redirect, paths=("/*",), hosts=("*.example.com", "example.com")),
        rule(20, Action("fixed-response", status_code=404)),
    )
    return render(balancer(listener(*rules)))


@_config("redirect with placeholders")
def redirect_with_placeholders(_: Path) -> str:
    action = Action(
        "redirect",
        redirect_protocol="HTTPS",
        redirect_port="443",
        redirect_path="/v2/#{path}",
        status_code=301,
    )
    return render(balancer(listener(default=action)))


@_config("redirect with literals")
def redirect_with_literals(_: Path) -> str:
    action = Action(
        "redirect", redirect_host="www.example.com", redirect_query="a=100%", status_code=302
    )
    return render(balancer(listener(default=action, port=8080)))


@_config("fixed response with body")
def fixed_response_with_body(_: Path) -> str:
    action = Action(
        "fixed-response", status_code=503, content_type="application/json", body=FIXED_BODY
    )
    return render(balancer(listener(default=action)))


@_config("fixed response without body")
def fixed_response_without_body(_: Path) -> str:
    return render(balancer(listener(default=Action("fixed-response", status_code=204))))


@_config("weighted forward")
def weighted_forward(_: Path) -> str:
    return render(balancer(listener(rule(1, forward((WEB, 3), (API, 1)), paths=("/*",)))))


@_config("backends with health checks")
def backends_with_health_checks(_: Path) -> str:
    unused = TargetGroup("Svc/Unused", "unused", 80, "HTTP", CHECK, 0)
    odd = replace(CHECK, path="/health?deep=1", matcher="200,202", timeout=4)
    groups = {**GROUPS, API: replace(GROUPS[API], health_check=odd), unused.key: unused}
    lb = balancer(listener(rule(1, forward((API, 1)), paths=("/api/*",))))
    return render_haproxy_config(lb, groups, stats_socket=SOCKET)


PLACEHOLDER = "Svc/DummyTargetGroupPublic"


def placeholder_balancer(
    nodes: tuple[LoadBalancerNode, ...] = NODES, port: int = 80
) -> LoadBalancer:
    """The public VPC template's shape: the listener's default action forwards to a target
    group no service registers with (so it never has a server), a rule to the service's."""
    http = listener(
        rule(1, forward((WEB, 1)), paths=("/api/*",)), default=forward((PLACEHOLDER, 1)), port=port
    )
    return replace(balancer(http), nodes=nodes)


def placeholder_groups() -> dict[str, TargetGroup]:
    return {**GROUPS, PLACEHOLDER: TargetGroup(PLACEHOLDER, "drop-1", 80, "HTTP", CHECK, 300)}


@_config("placeholder target group without targets")
def placeholder_without_targets(_: Path) -> str:
    return render_haproxy_config(placeholder_balancer(), placeholder_groups(), stats_socket=SOCKET)


def certificate(scratch: Path) -> Path:
    """The self-signed certificate the HTTPS configuration names (made once per folder)."""
    existing = scratch / "certs" / "svc-alb.pem"
    return (
        existing
        if existing.is_file()
        else tls.self_signed_certificate(scratch / "certs", "svc-alb")
    )


@_config("https listener")
def https_listener(scratch: Path) -> str:
    https = listener(key="Svc/HttpsListener", port=443, protocol="HTTPS")
    return render(balancer(listener(), https), tls_cert=certificate(scratch))
