"""The ALB of a plan as an HAProxy 2.6 configuration (pure: text in, text out).

Run the result with ``haproxy -db -f <cfg>`` (one process in the foreground, no daemon:
the caller keeps it as its child and stops it with SIGTERM; ``-W -db`` works as well).
Targets are not in the file: haproxy_runtime.py adds them over the stats socket, so a
restart or reload forgets them and the caller must add them again.

How the ALB's behaviour is mirrored, and where it is not:

* Listener rules become one ``txn.fa_rule`` variable set by the first rule (in priority
  order) whose conditions match, and every action is keyed on that variable. HAProxy runs
  all ``http-request`` rules (redirect, fixed response) before any ``use_backend``, so
  translating rules one by one would let a low-priority redirect beat a high-priority
  forward; the variable keeps ALB's "first match wins" order.
* Path patterns match ``path`` (no query string), case-sensitively; host patterns match
  the Host header case-insensitively, with or without a ``:port`` suffix.
* A forward to two or more target groups is weighted through an HAProxy *map*: one entry
  per forward (key ``fw.<rule or listener key>``, value the weights in the action's
  order, ``"90:10"``), looked up per request. ECS moves traffic between the blue and
  green target groups by changing these weights (ModifyRule) while the ALB serves, and
  the twin must do the same without a reload, which would forget the targets added at
  run time (see haproxy_runtime.py). A map entry changes over the stats socket (``set
  map``) in one step, so a request sees either the old or the new weights, never a mix
  (a map is also the runtime-writable store HAProxy 2.6 offers: its CLI ``set var``
  needs ``experimental-mode``). Each request reads the entry, turns it into
  cumulative bounds, draws ``rand`` modulo the total and picks the first group whose
  bound it is below; all weights 0 answer 503, as the ALB does with no target group to
  send to. Without a map file (``weights_map=None``: ``haproxy -c``, one-off runs) the
  same lines read the template's weights as a constant. Stickiness between the target
  groups of a weighted forward is not modelled.
* Health checks are HTTP/1.1 ``GET`` requests whose Host header is the target's id (the
  server name); the ALB sends the target's address. HAProxy's check connect phase may
  take up to ``min(timeout connect, interval)`` before the ``timeout check`` read timeout
  starts, so a target that silently drops packets is declared failed a little later than
  by an ALB, whose timeout covers the whole check.
* Fail-open: "If a target group contains only unhealthy registered targets, the load
  balancer routes requests to all those targets, regardless of their health status"
  (ELB user guide, "Health checks for Application Load Balancer target groups"); with
  one healthy target, only the healthy ones get requests. Each target is two servers of
  its backend (haproxy_runtime.py adds both at run time): the checked one, and an
  unchecked ``backup`` copy at the same address. HAProxy sends requests to backups only
  while no normal server is usable (up and not draining), and ``option allbackups``
  balances them over every backup instead of the first one: HAProxy itself decides,
  per request, between "the healthy targets" and "all of them", with no reload. A
  group without targets has no server at all and still answers 503, as the ALB does.
  The copy of a target still in its initial checks stays in maintenance (the ALB gives
  such a target no request); load_balancers.py switches it on once the target left
  ``initial``, which HAProxy cannot tell on its own. A draining target's copy drains
  with it. Requests served by a copy count in the backend's counters like any other.
* Known differences: a connection refused by a target is answered 503 after HAProxy's
  retries (ALB: 502). No ``X-Amzn-Trace-Id`` header is added, and TLS policies,
  authentication actions and access logs are not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from fargate_api.twin.plan.model import (
    Action,
    HealthCheck,
    Listener,
    LoadBalancer,
    TargetGroup,
    WeightedTargetGroup,
)

CONNECT_TIMEOUT = 10  # seconds: the ALB's connect timeout towards targets
MAXCONN = 4096
RULE_VAR = "txn.fa_rule"
PICK_VAR = "txn.fa_pick"
WEIGHTS_VAR = "txn.fa_weights"  # the forward's map value, "w1:w2:..."
BOUND_VAR = "txn.fa_b"  # + position: the cumulative weight up to that target group
WEIGHT_SEPARATOR = ":"
MAX_WEIGHT = 999  # ELB's limit for a target group's weight in a forward action
_MAP_PATH = re.compile(r"[A-Za-z0-9._/+-]+")
DEFAULT_RULE = 0  # the value of RULE_VAR when no listener rule matched
ALPN = "h2,http/1.1"  # the ALB speaks HTTP/2 to clients on HTTPS listeners by default
_PLAIN = re.compile(r"[A-Za-z0-9-]")
_PLACEHOLDER = re.compile(r"#\{(protocol|host|port|path|query)\}")
_STATUS_RANGE = (100, 599)


def _identifier(prefix: str, key: str) -> str:
    """An injective mapping of a key onto HAProxy's name alphabet.

    Letters, digits and '-' stay, '/' becomes '.', anything else (including '_') becomes
    '_XX': two different keys never share a name, and the name stays readable.
    """
    out: list[str] = [prefix]
    for char in key:
        if _PLAIN.fullmatch(char):
            out.append(char)
        elif char == "/":
            out.append(".")
        else:
            out.extend(f"_{byte:02x}" for byte in char.encode())
    return "".join(out)


def backend_name(target_group_key: str) -> str:
    """The HAProxy backend that stands for a target group (also used by the runtime API)."""
    return _identifier("tg.", target_group_key)


def frontend_name(listener_key: str) -> str:
    return _identifier("ls.", listener_key)


def quote(value: str) -> str:
    """A configuration word that HAProxy reads back as exactly ``value``.

    Strong quotes (nothing inside is interpreted, so regexes stay readable) unless the
    value holds a single quote or a control character, which only weak quotes can carry
    as escapes; there '$' is escaped too, since weak quotes expand environment variables.
    """
    if "\0" in value:
        raise ValueError(f"HAProxy configuration values cannot contain NUL: {value!r}")
    if "'" not in value and all(0x20 <= ord(c) != 0x7F for c in value):
        return f"'{value}'"
    out: list[str] = []
    for char in value:
        if char in '\\"$':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    """A '#' comment line: a key from a template must not end the line early."""
    return "# " + " ".join(text.split())


def _log_format_literal(text: str) -> str:
    """Literal text inside a log-format string: only '%' is special there."""
    return text.replace("%", "%%")


def elb_wildcard_regex(pattern: str) -> str:
    """ELB wildcards ('*' any run of characters, '?' exactly one) as an anchored regex."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "^" + "".join(parts) + "$"


def host_regex(pattern: str) -> str:
    """A host pattern that also matches a Host header carrying an explicit ':port'."""
    return elb_wildcard_regex(pattern)[:-1] + "(:[0-9]+)?$"


def matcher_codes(matcher: str) -> frozenset[int]:
    """The status codes an ELB matcher ("200", "200,202", "200-299") accepts."""
    codes: set[int] = set()
    for raw in matcher.split(","):
        part = raw.strip()
        bounds = part.split("-")
        if not part or len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise ValueError(f"health check matcher {matcher!r}: {part!r} is not a code or range")
        low, high = int(bounds[0]), int(bounds[-1])
        if low > high or low < _STATUS_RANGE[0] or high > _STATUS_RANGE[1]:
            raise ValueError(f"health check matcher {matcher!r}: bad range {part!r}")
        codes.update(range(low, high + 1))
    return frozenset(codes)


def matcher_regex(matcher: str) -> str:
    """An anchored regex for ``http-check expect rstatus`` equal to the ELB matcher.

    Codes sharing their first two digits collapse into a character class, and a complete
    hundred into ``N[0-9][0-9]``, so "200-499" stays short.
    """
    codes = matcher_codes(matcher)
    alternatives: list[str] = []
    for hundred in sorted({code // 100 for code in codes}):
        if all(hundred * 100 + n in codes for n in range(100)):
            alternatives.append(f"{hundred}[0-9][0-9]")
            continue
        for ten in range(hundred * 10, hundred * 10 + 10):
            digits = [d for d in range(10) if ten * 10 + d in codes]
            if len(digits) == 10:
                alternatives.append(f"{ten}[0-9]")
            elif len(digits) == 1:
                alternatives.append(f"{ten}{digits[0]}")
            elif digits:
                alternatives.append(f"{ten}[{''.join(str(d) for d in digits)}]")
    return "^(" + "|".join(alternatives) + ")$"


def server_options(health_check: HealthCheck) -> list[str]:
    """The per-server check settings of a target group.

    HAProxy 2.6 applies no ``default-server`` line to servers added with ``add server``
    (management.txt, "add server"), so the runtime passes these on every ``add server``
    instead; the config file deliberately has no ``default-server`` that would suggest
    otherwise. The backend carries the rest (request, expected status, check timeout).
    """
    options = [
        "check",
        "inter",
        f"{health_check.interval}s",
        "rise",
        str(health_check.healthy_threshold),
        "fall",
        str(health_check.unhealthy_threshold),
    ]
    if health_check.port is not None:
        options += ["port", str(health_check.port)]
    if health_check.protocol == "HTTPS":
        options += ["check-ssl", "verify", "none"]  # the ALB does not verify targets' certs
    return options


@dataclass(frozen=True)
class _Frontend:
    """Rendered lines of one listener, kept apart because HAProxy wants them grouped."""

    acls: list[str]
    requests: list[str]
    backends: list[str]


def _rule_is(index: int) -> str:
    return f"{{ var({RULE_VAR}) -m int {index} }}"


def _terminal_action(actions: tuple[Action, ...], where: str) -> Action:
    """The action that answers the request: the last one, as the ALB orders them."""
    if not actions:
        raise ValueError(f"{where} has no action")
    return actions[-1]


def _substitute(template: str, values: Mapping[str, str]) -> str:
    """ELB #{...} placeholders replaced; the text between them becomes log-format literal."""
    out: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        out.append(_log_format_literal(template[last : match.start()]))
        out.append(values[match.group(1)])
        last = match.end()
    out.append(_log_format_literal(template[last:]))
    return "".join(out)


def _redirect_lines(action: Action, listener: Listener, condition: str) -> list[str]:
    """One redirect, or two when the query is copied: without a query, no '?' at all."""
    if action.status_code not in (301, 302):
        raise ValueError(f"redirect on {listener.key}: status must be 301 or 302")
    protocol = action.redirect_protocol.replace("#{protocol}", listener.protocol).lower()
    variants: list[tuple[str, str]] = []
    copies_query = "#{query}" in action.redirect_query
    for has_query in (True, False) if copies_query else (False,):
        values = {
            "protocol": protocol,
            "host": "%[req.hdr(host),field(1,:)]",
            "port": str(listener.port),
            "path": "%[path,bytes(1)]",
            "query": "%[query]" if has_query else "",
        }
        host = _substitute(action.redirect_host, values)
        port = _substitute(action.redirect_port, values)
        path = _substitute(action.redirect_path, values)
        if not path.startswith("/"):
            path = "/" + path
        query = _substitute(action.redirect_query, values)
        location = f"{_log_format_literal(protocol)}://{host}:{port}{path}"
        if query:
            location += "?" + query
        extra = " { query -m len gt 0 }" if has_query else ""
        variants.append((location, extra))
    return [
        f"http-request redirect location {quote(location)} code {action.status_code} "
        f"if {condition}{extra}"
        for location, extra in variants
    ]


def forward_map_key(rule_key: str) -> str:
    """The weights map key of the forward of a listener rule, or of a listener's default
    action (``rule_key`` is then the listener's key)."""
    return _identifier("fw.", rule_key)


def weights_value(weights: Sequence[int]) -> str:
    """A forward's weights as its map value: "90:10", in the action's group order."""
    if not weights or any(w < 0 for w in weights):
        raise ValueError(f"weights must be one non-negative integer per group, not {weights}")
    return WEIGHT_SEPARATOR.join(str(w) for w in weights)


def parse_weights_value(value: str, count: int) -> tuple[int, ...]:
    """The weights in a map value, checked against the number of target groups."""
    parts = value.split(WEIGHT_SEPARATOR)
    if len(parts) != count or not all(p.isdigit() for p in parts):
        raise ValueError(f"weights {value!r}: expected {count} integers separated by ':'")
    return tuple(int(p) for p in parts)


def weighted_forwards(lb: LoadBalancer) -> dict[str, tuple[WeightedTargetGroup, ...]]:
    """Every forward of ``lb`` to two or more target groups, by rule key (a listener's key
    for its default action): those whose weights live in the map, in map order."""
    found: dict[str, tuple[WeightedTargetGroup, ...]] = {}
    for listener in lb.listeners:
        owners = [(listener.key, listener.default_actions)]
        owners += [(rule.key, rule.actions) for rule in listener.rules]
        for key, actions in owners:
            action = _terminal_action(actions, key)
            if action.kind == "forward" and len(action.target_groups) > 1:
                found[key] = action.target_groups
    return found


def weights_map_text(lb: LoadBalancer) -> str:
    """The weights map file as the template sets it: written beside the configuration
    before HAProxy starts, changed later only through the stats socket."""
    lines = [
        _comment(f"Forward weights of {lb.key} ({lb.name}), read by HAProxy per request;"),
        _comment("changed at run time with `set map` (LoadBalancers.set_forward_weights)."),
        _comment("<key> <weight of each target group, in the order listed above it, ':'>"),
    ]
    for key, groups in weighted_forwards(lb).items():
        lines.append(_comment(f"{key}: {' '.join(g.target_group for g in groups)}"))
        lines.append(f"{forward_map_key(key)} {weights_value([g.weight for g in groups])}")
    return "\n".join(lines) + "\n"


def _weighted_forward_lines(
    action: Action, rule_key: str, condition: str, weights_map: Path | None, out: _Frontend
) -> None:
    """The map-driven draw (module docstring): the entry, its cumulative bounds, the
    503 when all are 0, the draw, then one ``use_backend`` per group."""
    groups = action.target_groups
    initial = weights_value([w.weight for w in groups])
    key = forward_map_key(rule_key)
    if weights_map is None:
        source = f"str({initial})"
    else:
        source = f"str({key}),map_str({weights_map},{initial})"
    names = ", ".join(g.target_group for g in groups)
    where = f"map key {key}" if weights_map else "fixed"
    out.requests.append(_comment(f"forward of {rule_key}: weights of {names} ({where})"))
    out.requests.append(f"http-request set-var({WEIGHTS_VAR}) {source} if {condition}")
    for position in range(1, len(groups) + 1):
        bound = f"var({WEIGHTS_VAR}),field({position},{WEIGHT_SEPARATOR})"
        if position > 1:
            bound += f",add({BOUND_VAR}{position - 1})"
        out.requests.append(f"http-request set-var({BOUND_VAR}{position}) {bound} if {condition}")
    total = f"{BOUND_VAR}{len(groups)}"
    out.requests.append(
        f"http-request return status 503 if {condition} {{ var({total}) -m int eq 0 }}"
    )
    out.requests.append(f"http-request set-var({PICK_VAR}) rand,mod({total}) if {condition}")
    for position, weighted in enumerate(groups, start=1):
        pick = (
            ""
            if position == len(groups)
            else f" {{ var({PICK_VAR}),sub({BOUND_VAR}{position}) -m int lt 0 }}"
        )
        out.backends.append(
            f"use_backend {backend_name(weighted.target_group)} if {condition}{pick}"
        )


def _action_lines(
    action: Action,
    index: int,
    listener: Listener,
    target_groups: Mapping[str, TargetGroup],
    out: _Frontend,
    *,
    rule_key: str,
    weights_map: Path | None,
) -> None:
    condition = _rule_is(index)
    if action.kind == "fixed-response":
        if not _STATUS_RANGE[0] <= action.status_code <= _STATUS_RANGE[1]:
            raise ValueError(f"fixed response on {listener.key}: bad status {action.status_code}")
        line = f"http-request return status {action.status_code}"
        if action.body:
            line += f" content-type {quote(action.content_type)} string {quote(action.body)}"
        out.requests.append(f"{line} if {condition}")
    elif action.kind == "redirect":
        out.requests.extend(_redirect_lines(action, listener, condition))
    else:
        keys = [w.target_group for w in action.target_groups]
        for key in keys:
            if key not in target_groups:
                raise ValueError(f"{listener.key} forwards to unknown target group {key!r}")
        if len(set(keys)) != len(keys):
            raise ValueError(f"{rule_key} forwards to the same target group twice: {keys}")
        if len(keys) > 1:
            _weighted_forward_lines(action, rule_key, condition, weights_map, out)
        elif keys and action.target_groups[0].weight > 0:
            out.backends.append(f"use_backend {backend_name(keys[0])} if {condition}")
        else:  # the ALB has no target group to send the request to
            out.requests.append(f"http-request return status 503 if {condition}")


def _frontend(
    listener: Listener,
    lb: LoadBalancer,
    target_groups: Mapping[str, TargetGroup],
    tls_cert: Path | None,
    bind_namespaces: Mapping[IPv4Address, str],
    *,
    weights_map: Path | None,
) -> list[str]:
    lines = [f"frontend {frontend_name(listener.key)}"]
    if listener.protocol == "HTTPS" and listener.certificate_names:
        lines.append(
            "    " + _comment(f"certificate names: {', '.join(listener.certificate_names)}")
        )
    for node in lb.nodes:
        bind = f"    bind {node.private_ip}:{listener.port}"
        if node.private_ip in bind_namespaces:
            bind += f" namespace {quote(bind_namespaces[node.private_ip])}"
        if listener.protocol == "HTTPS":
            if tls_cert is None:
                raise ValueError(
                    f"listener {listener.key} is HTTPS but no TLS certificate was given: "
                    "pass tls_cert or listener_certs (see fargate_api.twin.elbv2.tls)"
                )
            bind += f" ssl crt {quote(str(tls_cert))} alpn {ALPN}"
        lines.append(bind)
    proto = listener.protocol.lower()
    lines += [
        f"    http-request set-header X-Forwarded-Proto {proto}",
        f"    http-request set-header X-Forwarded-Port {listener.port}",
    ]
    out = _Frontend([], [], [])
    for index, rule in enumerate(listener.rules, start=1):
        names: list[str] = []
        if rule.path_patterns:
            patterns = " ".join(quote(elb_wildcard_regex(p)) for p in rule.path_patterns)
            out.acls.append(f"acl r{index}_path path -m reg {patterns}")
            names.append(f"r{index}_path")
        if rule.host_patterns:
            patterns = " ".join(quote(host_regex(p)) for p in rule.host_patterns)
            out.acls.append(f"acl r{index}_host req.hdr(host) -m reg -i {patterns}")
            names.append(f"r{index}_host")
        unset = f"!{{ var({RULE_VAR}) -m found }}"
        out.requests.append(_comment(f"rule {index}: {rule.key} (priority {rule.priority})"))
        out.requests.append(
            f"http-request set-var({RULE_VAR}) int({index}) if {' '.join([unset, *names])}"
        )
    out.requests.append(
        f"http-request set-var({RULE_VAR}) int({DEFAULT_RULE}) if !{{ var({RULE_VAR}) -m found }}"
    )
    for index, rule in enumerate(listener.rules, start=1):
        action = _terminal_action(rule.actions, rule.key)
        _action_lines(
            action,
            index,
            listener,
            target_groups,
            out,
            rule_key=rule.key,
            weights_map=weights_map,
        )
    default = _terminal_action(listener.default_actions, f"listener {listener.key}")
    _action_lines(
        default,
        DEFAULT_RULE,
        listener,
        target_groups,
        out,
        rule_key=listener.key,
        weights_map=weights_map,
    )
    lines += [f"    {line}" for line in (*out.acls, *out.requests, *out.backends)]
    return lines


def _referenced(lb: LoadBalancer) -> list[str]:
    """Target group keys the LB forwards to, in order of first appearance."""
    seen: dict[str, None] = {}
    for listener in lb.listeners:
        actions: Iterable[Action] = (
            *listener.default_actions,
            *(a for rule in listener.rules for a in rule.actions),
        )
        for action in actions:
            if action.kind == "forward":
                for weighted in action.target_groups:
                    seen.setdefault(weighted.target_group, None)
    return list(seen)


def _backend(target_group: TargetGroup) -> list[str]:
    check = target_group.health_check
    send = f"http-check send meth GET uri {quote(check.path)} ver HTTP/1.1 hdr Host %[srv_name]"
    return [
        f"backend {backend_name(target_group.key)}",
        "    " + _comment(f"{target_group.key} ({target_group.name}): targets come at run time"),
        "    balance roundrobin",
        "    option allbackups",  # fail-open: every armed copy, not just the first
        "    option httpchk",
        f"    {send}",
        f"    http-check expect rstatus {quote(matcher_regex(check.matcher))}",
        f"    timeout check {check.timeout}s",
    ]


def render_haproxy_config(
    lb: LoadBalancer,
    target_groups: Mapping[str, TargetGroup],
    *,
    stats_socket: Path,
    tls_cert: Path | None = None,
    bind_namespaces: Mapping[IPv4Address, str] | None = None,
    weights_map: Path | None = None,
    listener_certs: Mapping[str, Path] | None = None,
) -> str:
    """The configuration of the HAProxy that plays ``lb``; see the module docstring.

    ``listener_certs`` gives an HTTPS listener (by key) its own certificate file, as the
    twin's CA issued it for the names leading to the balancer; ``tls_cert`` is the one
    for the HTTPS listeners without an entry there.

    ``bind_namespaces`` names the network namespace of node addresses that are not in
    HAProxy's own namespace (HAProxy opens those listening sockets there, which needs
    root); addresses not in it are bound in HAProxy's namespace.

    ``weights_map`` is the file weighted forwards read their weights from; the caller
    writes it (`weights_map_text`) before HAProxy starts, since HAProxy 2.6 refuses to
    start without it. The path is an argument inside a sample expression, which a
    comma, a parenthesis or a space would end: letters, digits and ``. _ / + -`` only.
    None: the template's weights, fixed.
    """
    if weights_map is not None and not _MAP_PATH.fullmatch(str(weights_map)):
        raise ValueError(
            f"weights map {str(weights_map)!r}: HAProxy reads the path inside a sample "
            "expression, so only letters, digits and . _ / + - are allowed"
        )
    idle = f"{lb.idle_timeout}s"
    lines = [
        _comment(f"{lb.key} ({lb.name}): generated by fargate_api.twin.elbv2.haproxy_config"),
        "global",
        f"    maxconn {MAXCONN}",
        f"    stats socket {quote(str(stats_socket))} mode 600 level admin expose-fd listeners",
        "    log stderr format short local0 notice",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option forwardfor",
        f"    timeout connect {CONNECT_TIMEOUT}s",
        f"    timeout client {idle}",
        f"    timeout server {idle}",
        f"    timeout http-keep-alive {idle}",
        "    load-server-state-from-file none",
    ]
    if not lb.nodes:
        raise ValueError(f"load balancer {lb.key} has no nodes to listen on")
    for listener in lb.listeners:
        lines += [
            "",
            *_frontend(
                listener,
                lb,
                target_groups,
                (listener_certs or {}).get(listener.key, tls_cert),
                bind_namespaces or {},
                weights_map=weights_map,
            ),
        ]
    for key in _referenced(lb):
        lines += ["", *_backend(target_groups[key])]
    return "\n".join(lines) + "\n"
