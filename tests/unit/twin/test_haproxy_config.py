"""The ALB as HAProxy configuration: what the rendered text says.

The rendering is pure, so these checks read the text and need no haproxy. Every
configuration they read comes from haproxy_scenarios.CONFIGS, and the twin tier
(tests/twin/test_haproxy_syntax.py) feeds each of them to the real `haproxy -c`: text
that looks right but that haproxy rejects or reads differently fails there. What the
configuration does with real requests is proven in tests/twin/test_haproxy_lb.py.
"""

from __future__ import annotations

import re
import stat
import subprocess
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from fargate_api.twin.elbv2 import tls
from fargate_api.twin.elbv2.haproxy_config import (
    backend_name,
    elb_wildcard_regex,
    forward_map_key,
    frontend_name,
    host_regex,
    matcher_codes,
    matcher_regex,
    parse_weights_value,
    quote,
    render_haproxy_config,
    server_options,
    weighted_forwards,
    weights_map_text,
    weights_value,
)
from fargate_api.twin.plan.model import Action
from unit.twin.haproxy_scenarios import (
    API,
    CHECK,
    CONFIGS,
    FIXED_BODY,
    GROUPS,
    SOCKET,
    WEB,
    balancer,
    certificate,
    forward,
    listener,
    render,
    rule,
    section,
)

OTHER = "Svc/Other"


def unquote(word: str) -> str:
    """HAProxy's reading of one quoted word (configuration manual, 2.2), for round trips."""
    if word.startswith("'"):
        assert word.endswith("'") and "'" not in word[1:-1]
        return word[1:-1]
    assert word.startswith('"') and word.endswith('"'), word
    out, i, inner = [], 0, word[1:-1]
    simple = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$", "'": "'"}
    while i < len(inner):
        char = inner[i]
        if char == "\\":
            nxt = inner[i + 1]
            if nxt == "x":
                out.append(chr(int(inner[i + 2 : i + 4], 16)))
                i += 4
                continue
            out.append(simple[nxt])
            i += 2
            continue
        assert char not in '"$', f"unescaped {char!r} in {word}"
        out.append(char)
        i += 1
    return "".join(out)


# ------------------------------------------------------------------------------ names


def test_backend_names_are_haproxy_identifiers_and_never_collide() -> None:
    keys = ["ServiceStack/ServiceTargetGroup", "a/b_c", "a_b/c", "a/b.c", "a.b/c", "St-1/Tg"]
    names = [backend_name(key) for key in keys]
    assert names[0] == "tg.ServiceStack.ServiceTargetGroup"
    assert len(set(names)) == len(names), names
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_.:-]+", name), name
    assert frontend_name("Svc/HttpListener") == "ls.Svc.HttpListener"


# ------------------------------------------------------------------------------ quoting


@pytest.mark.parametrize(
    "value",
    ["plain", "^/api/.*$", "it's", 'say "hi" for $5', "a\\b", "two\nlines\r\tx", "\x01\x7f", "é ü"],
)
def test_quote_round_trips_through_haproxys_quoting_rules(value: str) -> None:
    assert unquote(quote(value)) == value


def test_quote_refuses_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote("a\0b")


# ------------------------------------------------------------------------------ patterns


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/api/*", "/api/v1/users", True),
        ("/api/*", "/api/", True),
        ("/api/*", "/API/v1", False),  # case-sensitive, like the ALB
        ("/api/*", "/apix", False),
        ("/v?/x", "/v1/x", True),
        ("/v?/x", "/v12/x", False),
        ("/a.b", "/aXb", False),  # '.' is literal, not a regex wildcard
        ("/p+q(1)", "/p+q(1)", True),
        ("*", "/anything", True),
    ],
)
def test_path_patterns_use_elb_wildcards(pattern: str, path: str, matches: bool) -> None:
    assert bool(re.search(elb_wildcard_regex(pattern), path)) is matches


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "API.Example.COM", True),  # case-insensitive (rendered with -i)
        ("*.example.com", "api.example.com:8080", True),
        ("*.example.com", "example.com", False),
        ("api-?.example.com", "api-1.example.com", True),
        ("api.example.com", "apiXexample.com", False),
        ("api.example.com", "api.example.com.evil", False),
    ],
)
def test_host_patterns_ignore_case_and_port(pattern: str, host: str, matches: bool) -> None:
    assert bool(re.search(host_regex(pattern), host, re.IGNORECASE)) is matches


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        ("200", {200}),
        ("200,202", {200, 202}),
        ("200-299", set(range(200, 300))),
        ("200-204, 301,404", {200, 201, 202, 203, 204, 301, 404}),
        ("200-499", set(range(200, 500))),
        ("215-233", set(range(215, 234))),
    ],
)
def test_matcher_regex_accepts_exactly_the_matcher_codes(matcher: str, expected: set[int]) -> None:
    assert matcher_codes(matcher) == expected
    regex = re.compile(matcher_regex(matcher))
    accepted = {code for code in range(100, 600) if regex.search(str(code))}
    assert accepted == expected
    assert len(matcher_regex("200-499")) < 40  # collapsed, not 300 alternatives


@pytest.mark.parametrize("matcher", ["", "abc", "299-200", "200-", "99", "200-700", "1-2-3"])
def test_bad_matchers_are_refused(matcher: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        matcher_codes(matcher)


# ------------------------------------------------------------------------------ global, defaults


def test_global_and_defaults_mirror_the_alb(tmp_path: Path) -> None:
    config = CONFIGS["idle timeout 120"](tmp_path)
    glob = section(config, "global")
    assert f"stats socket '{SOCKET}' mode 600 level admin expose-fd listeners" in glob
    assert any(line.startswith("maxconn ") for line in glob)
    assert "daemon" not in config
    defaults = section(config, "defaults")
    for line in (
        "mode http",
        "option forwardfor",
        "timeout connect 10s",
        "timeout client 120s",
        "timeout server 120s",
        "timeout http-keep-alive 120s",
        "load-server-state-from-file none",
    ):
        assert line in defaults


def test_each_listener_binds_every_node_and_sets_forwarded_headers(tmp_path: Path) -> None:
    config = CONFIGS["two listeners"](tmp_path)
    front = section(config, "frontend ls.Svc.HttpListener")
    assert front[:2] == ["bind 198.51.100.10:80", "bind 198.51.100.11:80"]
    assert "http-request set-header X-Forwarded-Proto http" in front
    assert "http-request set-header X-Forwarded-Port 80" in front
    admin = section(config, "frontend ls.Svc.Admin")
    assert admin[:2] == ["bind 198.51.100.10:8080", "bind 198.51.100.11:8080"]
    assert "http-request set-header X-Forwarded-Port 8080" in admin


def test_nodes_in_other_namespaces_bind_there() -> None:
    # `haproxy -c` opens the namespace, which needs root and a real namespace: the twin
    # tier (tests/twin/test_haproxy_lb.py) runs this configuration for real.
    config = render(balancer(), bind_namespaces={IPv4Address("198.51.100.11"): "fa-test-node1"})
    front = section(config, "frontend ls.Svc.HttpListener")
    assert front[:2] == ["bind 198.51.100.10:80", "bind 198.51.100.11:80 namespace 'fa-test-node1'"]


# ------------------------------------------------------------------------------ rules


def test_first_matching_rule_in_priority_order_decides(tmp_path: Path) -> None:
    # Rule 5 forwards /api/* and /v?/api to API, rule 10 redirects *.example.com and
    # example.com, rule 20 answers 404 to anything (haproxy_scenarios.rules_by_priority).
    front = section(CONFIGS["rules by priority"](tmp_path), "frontend ls.Svc.HttpListener")
    assert "acl r1_path path -m reg '^/api/.*$' '^/v./api$'" in front  # values ORed
    assert (
        "acl r2_host req.hdr(host) -m reg -i '^.*\\.example\\.com(:[0-9]+)?$' "
        "'^example\\.com(:[0-9]+)?$'" in front
    )
    sets = [line for line in front if line.startswith("http-request set-var(txn.fa_rule)")]
    unset = "!{ var(txn.fa_rule) -m found }"
    assert sets == [
        f"http-request set-var(txn.fa_rule) int(1) if {unset} r1_path",
        f"http-request set-var(txn.fa_rule) int(2) if {unset} r2_path r2_host",  # ANDed
        f"http-request set-var(txn.fa_rule) int(3) if {unset}",  # no condition: matches all
        f"http-request set-var(txn.fa_rule) int(0) if {unset}",  # the default actions
    ]
    # The lower-priority redirect and fixed response only answer when their rule won,
    # although HAProxy runs them before any use_backend.
    assert any(
        line.startswith("http-request redirect") and line.endswith("{ var(txn.fa_rule) -m int 2 }")
        for line in front
    )
    assert "http-request return status 404 if { var(txn.fa_rule) -m int 3 }" in front
    assert "use_backend tg.Svc.ApiTargetGroup if { var(txn.fa_rule) -m int 1 }" in front
    assert "use_backend tg.Svc.WebTargetGroup if { var(txn.fa_rule) -m int 0 }" in front
    # Every set-var comes before the first action that reads the variable.
    last_set = max(front.index(line) for line in sets)
    assert all(front.index(line) > last_set for line in front if "-m int" in line)


def test_redirect_translates_elb_placeholders(tmp_path: Path) -> None:
    # HTTPS, port 443, path /v2/#{path}, 301 (haproxy_scenarios.redirect_with_placeholders)
    config = CONFIGS["redirect with placeholders"](tmp_path)
    front = section(config, "frontend ls.Svc.HttpListener")
    redirects = [line for line in front if line.startswith("http-request redirect")]
    host, path = "%[req.hdr(host),field(1,:)]", "%[path,bytes(1)]"
    assert redirects == [
        f"http-request redirect location 'https://{host}:443/v2/{path}?%[query]' code 301 "
        "if { var(txn.fa_rule) -m int 0 } { query -m len gt 0 }",
        f"http-request redirect location 'https://{host}:443/v2/{path}' code 301 "
        "if { var(txn.fa_rule) -m int 0 }",
    ]


def test_redirect_keeps_listener_protocol_and_port_and_escapes_literals(tmp_path: Path) -> None:
    # host www.example.com, query a=100%, 302, on a port 8080 HTTP listener
    config = CONFIGS["redirect with literals"](tmp_path)
    redirects = [
        line for line in section(config, "frontend ls.Svc.HttpListener") if "redirect" in line
    ]
    assert redirects == [
        "http-request redirect location 'http://www.example.com:8080/%[path,bytes(1)]?a=100%%' "
        "code 302 if { var(txn.fa_rule) -m int 0 }"
    ]


def test_redirect_needs_301_or_302() -> None:
    with pytest.raises(ValueError, match="301 or 302"):
        render(balancer(listener(default=Action("redirect", status_code=307))))


def test_fixed_response_body_is_escaped(tmp_path: Path) -> None:
    config = CONFIGS["fixed response with body"](tmp_path)  # 503, application/json
    (line,) = [line for line in section(config, "frontend ls.Svc.HttpListener") if "return" in line]
    prefix = "http-request return status 503 content-type 'application/json' string "
    suffix = " if { var(txn.fa_rule) -m int 0 }"
    assert line.startswith(prefix) and line.endswith(suffix)
    assert unquote(line[len(prefix) : -len(suffix)]) == FIXED_BODY


def test_fixed_response_without_body_has_no_payload(tmp_path: Path) -> None:
    config = CONFIGS["fixed response without body"](tmp_path)
    assert "http-request return status 204 if { var(txn.fa_rule) -m int 0 }" in config


MAP = Path("/run/fa-test/weights.map")
RULE1 = "{ var(txn.fa_rule) -m int 1 }"


def test_weighted_forward_reads_its_weights_from_the_map(tmp_path: Path) -> None:
    # one rule for /*: WEB weight 3, API weight 1 (haproxy_scenarios.weighted_forward)
    lb = balancer(listener(rule(1, forward((WEB, 3), (API, 1)), paths=("/*",))))
    front = section(render(lb, weights_map=MAP), "frontend ls.Svc.HttpListener")
    start = front.index(
        "# forward of Svc/Rule1: weights of Svc/WebTargetGroup, Svc/ApiTargetGroup "
        "(map key fw.Svc.Rule1)"
    )
    assert front[start + 1 : start + 6] == [
        # the entry (the template's weights when the key is missing) ...
        f"http-request set-var(txn.fa_weights) str(fw.Svc.Rule1),map_str({MAP},3:1) if {RULE1}",
        # ... as cumulative bounds: 3, then 3 + 1 = the total ...
        f"http-request set-var(txn.fa_b1) var(txn.fa_weights),field(1,:) if {RULE1}",
        f"http-request set-var(txn.fa_b2) var(txn.fa_weights),field(2,:),add(txn.fa_b1) if {RULE1}",
        # ... all weights 0: no target group to send to ...
        f"http-request return status 503 if {RULE1} {{ var(txn.fa_b2) -m int eq 0 }}",
        # ... one draw in [0, total) per request.
        f"http-request set-var(txn.fa_pick) rand,mod(txn.fa_b2) if {RULE1}",
    ]
    uses = [line for line in front if line.startswith("use_backend")]
    assert uses[:2] == [
        f"use_backend tg.Svc.WebTargetGroup if {RULE1} {{ var(txn.fa_pick),sub(txn.fa_b1) "
        "-m int lt 0 }",
        f"use_backend tg.Svc.ApiTargetGroup if {RULE1}",  # the rest of the draws
    ]
    # The variables are set before anything reads them.
    last_set = max(i for i, line in enumerate(front) if "set-var(txn.fa_b" in line)
    assert all(i > last_set for i, line in enumerate(front) if "fa_pick)," in line)


def test_weighted_forward_without_a_map_uses_the_template_weights() -> None:
    """The same draw, the weights a constant: for `haproxy -c` and one-off runs."""
    front = section(CONFIGS["weighted forward"](Path()), "frontend ls.Svc.HttpListener")
    assert f"http-request set-var(txn.fa_weights) str(3:1) if {RULE1}" in front
    assert not any("map_str" in line for line in front)
    assert f"http-request set-var(txn.fa_pick) rand,mod(txn.fa_b2) if {RULE1}" in front


def test_zero_weights_stay_in_the_map_and_single_groups_stay_plain() -> None:
    """ECS starts blue/green at 100/0 and moves weights later: a weight of 0 is still a
    group of the forward. A forward to one group keeps its plain form."""
    front = section(
        render(balancer(listener(default=forward((WEB, 0), (API, 2)))), weights_map=MAP),
        "frontend ls.Svc.HttpListener",
    )
    default = "{ var(txn.fa_rule) -m int 0 }"
    assert f"str(fw.Svc.HttpListener),map_str({MAP},0:2)" in " ".join(front)
    assert [line for line in front if line.startswith("use_backend")] == [
        f"use_backend tg.Svc.WebTargetGroup if {default} "
        "{ var(txn.fa_pick),sub(txn.fa_b1) -m int lt 0 }",
        f"use_backend tg.Svc.ApiTargetGroup if {default}",
    ]
    single = section(
        render(balancer(listener(default=forward((API, 7))))), "frontend ls.Svc.HttpListener"
    )
    assert [line for line in single if "use_backend" in line or "fa_pick" in line] == [
        f"use_backend tg.Svc.ApiTargetGroup if {default}"
    ]
    config = render(balancer(listener(default=forward((WEB, 0)))))
    assert f"http-request return status 503 if {default}" in config
    assert "fa_weights" not in config


def test_three_groups_chain_their_bounds() -> None:
    lb = balancer(listener(default=forward((WEB, 1), (API, 2), (OTHER, 3))))
    groups = {**GROUPS, OTHER: replace(GROUPS[WEB], key=OTHER)}
    front = section(
        render_haproxy_config(lb, groups, stats_socket=SOCKET, weights_map=MAP),
        "frontend ls.Svc.HttpListener",
    )
    default = "{ var(txn.fa_rule) -m int 0 }"
    assert (
        "http-request set-var(txn.fa_b3) var(txn.fa_weights),field(3,:),add(txn.fa_b2) "
        f"if {default}" in front
    )
    assert f"http-request set-var(txn.fa_pick) rand,mod(txn.fa_b3) if {default}" in front
    uses = [line for line in front if line.startswith("use_backend")]
    assert uses == [
        f"use_backend tg.Svc.WebTargetGroup if {default} "
        "{ var(txn.fa_pick),sub(txn.fa_b1) -m int lt 0 }",
        f"use_backend tg.Svc.ApiTargetGroup if {default} "
        "{ var(txn.fa_pick),sub(txn.fa_b2) -m int lt 0 }",
        f"use_backend tg.Svc.Other if {default}",
    ]


def test_the_weights_map_holds_every_weighted_forward() -> None:
    lb = balancer(
        listener(
            rule(1, forward((WEB, 100), (API, 0)), paths=("/*",)),
            rule(2, forward((API, 1)), paths=("/api/*",)),  # one group: not in the map
            default=forward((WEB, 5), (API, 995)),
        ),
        listener(
            key="Svc/TestListener", port=8080, default=Action("fixed-response", status_code=404)
        ),
    )
    assert {
        key: [(g.target_group, g.weight) for g in groups]
        for key, groups in weighted_forwards(lb).items()
    } == {
        "Svc/HttpListener": [(WEB, 5), (API, 995)],
        "Svc/Rule1": [(WEB, 100), (API, 0)],
    }
    entries = [line for line in weights_map_text(lb).splitlines() if not line.startswith("#")]
    assert entries == ["fw.Svc.HttpListener 5:995", "fw.Svc.Rule1 100:0"]
    assert "# Svc/Rule1: Svc/WebTargetGroup Svc/ApiTargetGroup" in weights_map_text(lb)
    assert weights_map_text(balancer()).count("\nfw.") == 0


def test_weights_values_round_trip_and_are_checked() -> None:
    assert weights_value([10, 90]) == "10:90"
    assert parse_weights_value("10:90", 2) == (10, 90)
    assert forward_map_key("Svc/Production Rule") == "fw.Svc.Production_20Rule"
    for bad, count in (("10:90", 3), ("10:-1", 2), ("a:b", 2), ("", 1)):
        with pytest.raises(ValueError, match="integers separated"):
            parse_weights_value(bad, count)
    with pytest.raises(ValueError, match="non-negative"):
        weights_value([1, -1])


def test_the_map_path_must_be_a_plain_word() -> None:
    with pytest.raises(ValueError, match="only letters, digits"):
        render(balancer(), weights_map=Path("/tmp/with space/weights.map"))
    with pytest.raises(ValueError, match="only letters, digits"):
        render(balancer(), weights_map=Path("/tmp/a,b)/weights.map"))


def test_a_forward_to_the_same_group_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="same target group twice"):
        render(balancer(listener(default=forward((WEB, 1), (WEB, 2)))))


def test_unknown_target_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="Svc/Missing"):
        render(balancer(listener(default=forward(("Svc/Missing", 1)))))


def test_listener_without_default_action_is_an_error() -> None:
    lb = balancer(replace(listener(), default_actions=()))
    with pytest.raises(ValueError, match="no action"):
        render(lb)


# ------------------------------------------------------------------------------ backends


def test_one_backend_per_referenced_target_group_with_health_check(tmp_path: Path) -> None:
    # API checks /health?deep=1 for 200,202 in 4 s; WEB keeps CHECK; Svc/Unused is
    # referenced by no listener (haproxy_scenarios.backends_with_health_checks).
    config = CONFIGS["backends with health checks"](tmp_path)
    assert "backend tg.Svc.Unused" not in config
    api = section(config, "backend tg.Svc.ApiTargetGroup")
    for line in (
        "balance roundrobin",
        "option httpchk",
        "http-check send meth GET uri '/health?deep=1' ver HTTP/1.1 hdr Host %[srv_name]",
        "http-check expect rstatus '^(20[02])$'",
        "timeout check 4s",
    ):
        assert line in api
    assert not any(line.startswith(("server ", "default-server")) for line in api)
    web = section(config, "backend tg.Svc.WebTargetGroup")
    assert "http-check expect rstatus '^(2[0-9][0-9])$'" in web
    assert "timeout check 5s" in web


def test_every_backend_fails_open_over_all_its_backup_copies(tmp_path: Path) -> None:
    # Each target's unchecked fail-open copy is a `backup` server (haproxy_runtime.py):
    # HAProxy uses backups only while no checked server is usable, and without
    # `option allbackups` it would send everything to the first one alone.
    for name, make in CONFIGS.items():
        config = make(tmp_path)
        backends = [line for line in config.splitlines() if line.startswith("backend ")]
        for backend in backends:
            lines = section(config, backend)
            assert "option allbackups" in lines, (name, backend)
            assert not any("backup" in line for line in lines if line != "option allbackups")


def test_a_placeholder_group_no_service_registers_with_is_a_backend_without_servers(
    tmp_path: Path,
) -> None:
    # The listener's default action forwards to it (haproxy_scenarios.placeholder_balancer);
    # no task ever joins it, so HAProxy answers 503 there, as the ALB does.
    config = CONFIGS["placeholder target group without targets"](tmp_path)
    front = section(config, "frontend ls.Svc.HttpListener")
    assert "use_backend tg.Svc.DummyTargetGroupPublic if { var(txn.fa_rule) -m int 0 }" in front
    placeholder = section(config, "backend tg.Svc.DummyTargetGroupPublic")
    assert "balance roundrobin" in placeholder
    assert not any(line.startswith(("server ", "default-server")) for line in placeholder)


def test_server_options_carry_the_per_server_check_settings() -> None:
    assert server_options(CHECK) == ["check", "inter", "15s", "rise", "3", "fall", "2"]
    tls_check = replace(CHECK, port=8443, protocol="HTTPS")
    assert server_options(tls_check) == [
        *("check", "inter", "15s", "rise", "3", "fall", "2"),
        *("port", "8443", "check-ssl", "verify", "none"),
    ]


# ------------------------------------------------------------------------------ HTTPS


def test_https_listener_without_certificate_is_a_clear_error() -> None:
    https = listener(key="Svc/HttpsListener", port=443, protocol="HTTPS")
    with pytest.raises(ValueError, match=r"Svc/HttpsListener is HTTPS.*tls_cert"):
        render(balancer(listener(), https))


def test_https_listener_binds_with_the_certificate(tmp_path: Path) -> None:
    config = CONFIGS["https listener"](tmp_path)
    cert = certificate(tmp_path)
    front = section(config, "frontend ls.Svc.HttpsListener")
    assert front[:2] == [
        f"bind {ip}:443 ssl crt '{cert}' alpn h2,http/1.1"
        for ip in ("198.51.100.10", "198.51.100.11")
    ]
    assert "http-request set-header X-Forwarded-Proto https" in front


# ------------------------------------------------------------------------------ tls.py


def test_self_signed_certificate_is_key_plus_cert_for_the_owner_only(tmp_path: Path) -> None:
    pem = tls.self_signed_certificate(tmp_path, "alb.example.test")
    text = pem.read_text()
    assert text.index("PRIVATE KEY-----") < text.index("BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    subject = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", str(pem)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CN = alb.example.test" in subject and "DNS:alb.example.test" in subject
    assert list(tmp_path.iterdir()) == [pem]  # no key material left beside it


def test_certificate_without_openssl_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fargate_api.twin.elbv2.tls.shutil.which", lambda _name: None)
    with pytest.raises(tls.CertificateError, match="Debian package openssl"):
        tls.self_signed_certificate(tmp_path, "alb")


def test_certificate_name_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="certificate name"):
        tls.self_signed_certificate(tmp_path, "a/b=c")
