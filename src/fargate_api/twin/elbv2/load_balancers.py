"""The ALB at run time: node ENIs, one HAProxy per load balancer, target (de)registration.

An ALB has a node (an ENI; an internet-facing one's with a public IP mapped at the
internet gateway, an internal one's with none) in each of its subnets. Each node is a
namespace of its own, with the ALB's security groups on it; one HAProxy process runs in
the first node's namespace and binds the other nodes' addresses through HAProxy's
`namespace` bind option, so that a single runtime API sees every target's health, as
the ELB API does.

Forward weights (ModifyRule's ForwardConfig, which ECS changes during blue/green, canary
and linear deployments) are an HAProxy map beside the configuration, ``weights.map``;
`set_forward_weights` changes one forward's entry over the stats socket, so traffic
moves at once, without a reload that would drop the registered targets. `sample` reads
a target group's counters for the twin's CloudWatch metrics (twin/cloudwatch).

Each HTTPS listener gets a certificate from the twin's CA (elbv2/tls.py) for the names
the templates lead to its balancer (elbv2/names.py), in place of its ACM certificate.

HAProxy keeps its servers in memory only, so the registrations, drains and weights ECS
asked for are kept here too (`registry`, `weights`): `restart` (the daemon's supervisor,
after a crash; `set_az_down`, when HAProxy's node AZ fails) gives a new HAProxy all of
it, with each target's last known health. While HAProxy is down, changes are recorded
and replayed, reads give the last answer, and counters stay monotonic.

Fail-open (haproxy_config.py): `arm_fail_open` switches on the fail-open copy of each
registered, non-draining target that has left ``initial``; a thread calls it every
0.2 s (fail_open.py). The registry remembers which copies are armed, so `restart` arms
them again at once: a group whose targets are all unhealthy keeps failing open across a
restart instead of answering 503 until their first checks fail again.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from ipaddress import IPv4Address
from pathlib import Path
from typing import TypeVar

from fargate_api.twin.cloudwatch.metrics import MonotonicCounters, TargetGroupSample
from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.elbv2.fail_open import FailOpenArming
from fargate_api.twin.elbv2.haproxy_config import (
    MAX_WEIGHT,
    forward_map_key,
    parse_weights_value,
    render_haproxy_config,
    weighted_forwards,
    weights_map_text,
    weights_value,
)
from fargate_api.twin.elbv2.haproxy_runtime import (
    NO_SUCH_SERVER,
    BackendStats,
    HaproxyRuntime,
    HaproxyRuntimeError,
    TargetHealth,
    TargetState,
)
from fargate_api.twin.elbv2.names import certificate_names
from fargate_api.twin.elbv2.tls import CA_BUNDLE, TwinCa
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.processes import terminate
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import (
    HealthCheck,
    LoadBalancer,
    LoadBalancerNode,
    TargetGroup,
    TwinPlan,
)

START_TIMEOUT = 10.0
CA_FOLDER = "ca"  # the twin's CA in its state folder (elbv2/tls.py), removed on down
# A target in one of these states has left "initial": its fail-open copy may be armed.
LEFT_INITIAL: frozenset[TargetHealth] = frozenset({"healthy", "unhealthy"})

_T = TypeVar("_T")


def scaled_target_group(group: TargetGroup, scale: float) -> TargetGroup:
    """Health check timers divided by the twin's time scale (never below 1 s)."""
    if scale == 1.0:
        return group
    check = group.health_check

    def s(value: int) -> int:
        return max(1, round(value * scale))

    health: HealthCheck = replace(
        check, interval=s(check.interval), timeout=min(s(check.timeout), s(check.interval))
    )
    return replace(
        group, health_check=health, deregistration_delay=round(group.deregistration_delay * scale)
    )


@dataclass
class RunningBalancer:
    lb: LoadBalancer
    netns: list[str]  # the node namespaces, in the order of lb.nodes
    process: subprocess.Popen[bytes]
    runtime: HaproxyRuntime
    config: Path
    target_groups: frozenset[str]  # those its listeners forward to
    weights_map: Path
    # Rule (or listener) key -> the target groups of its weighted forward, in map order.
    forwards: Mapping[str, tuple[str, ...]]
    index: int = 0  # in plan.load_balancers: its files are in lb<index>/
    home: str = ""  # the namespace HAProxy runs in ("" = netns[0])

    @property
    def home_netns(self) -> str:
        return self.home or self.netns[0]

    def exited(self) -> bool:
        return self.process.poll() is not None


@dataclass
class RegisteredTarget:
    """A target as ECS registered it, kept so that a restarted HAProxy gets it back."""

    ip: IPv4Address
    port: int
    draining: bool = False
    # The balancers (lb keys) whose HAProxy has this target's fail-open copy armed.
    fail_open: set[str] = field(default_factory=set)


@dataclass
class _Seen:
    """The latest answers of a balancer's HAProxy, used while it is down or restarting."""

    health: dict[str, dict[str, TargetState]] = field(default_factory=dict)  # group -> id
    request_total: dict[str, int] = field(default_factory=dict)  # group -> raw counter


class LoadBalancers:
    def __init__(
        self,
        *,
        names: TwinNames,
        plan: TwinPlan,
        network: Network,
        groups: SecurityGroups,
        work_dir: Path,
        time_scale: float,
        region: str = "us-east-1",
    ) -> None:
        self.names = names
        self.plan = plan
        self.network = network
        self.groups = groups
        self.work_dir = work_dir
        self.time_scale = time_scale
        self.region = region
        self.running: list[RunningBalancer] = []
        self.ca = TwinCa(work_dir / CA_FOLDER, label=f"fargate-api twin {names.name}")
        self.target_groups = {g.key: scaled_target_group(g, time_scale) for g in plan.target_groups}
        # What ECS asked for, so that a restarted HAProxy is given it again: the targets
        # of each group (register/drain/deregister) and each forward's weights.
        self.registry: dict[str, dict[str, RegisteredTarget]] = {}
        self.weights: dict[str, str] = {}  # rule key -> map value ("90:10")
        self._seen: dict[str, _Seen] = {}  # lb key -> latest answers
        # HAProxy's counters start at 0 again when it restarts: monotonic for CloudWatch
        # and autoscaling, which would otherwise see negative traffic.
        self.counters = MonotonicCounters()
        self._down_nodes: dict[IPv4Address, LoadBalancerNode] = {}  # by private IP
        self._lock = threading.RLock()
        self._arming = FailOpenArming(self.arm_fail_open)

    @property
    def has_https(self) -> bool:
        return any(
            listener.protocol == "HTTPS"
            for lb in self.plan.load_balancers
            for listener in lb.listeners
        )

    @property
    def ca_bundle(self) -> Path:
        """The system's CAs plus the twin's: what the internet host's clients trust."""
        return self.ca.folder / CA_BUNDLE

    def start(self) -> None:
        if self.has_https:
            self.ca.ensure()
            self.ca.write_bundle(self.ca_bundle)
        for lb_index, lb in enumerate(self.plan.load_balancers):
            namespaces = []
            for node_index, node in enumerate(lb.nodes):
                netns = self.names.load_balancer_node(lb_index, node_index)
                self.network.attach_eni(netns, self.plan.subnet(node.subnet), node.private_ip)
                self.groups.add(netns, node.private_ip, lb.security_groups)
                if node.public_ip is not None:
                    self.network.map_public_ip(node.public_ip, node.private_ip)
                namespaces.append(netns)
            self.start_haproxy(lb_index, lb, namespaces)

    def start_haproxy(
        self, index: int, lb: LoadBalancer, namespaces: Sequence[str]
    ) -> RunningBalancer:
        """HAProxy for ``lb``, whose node namespaces exist (`start` makes them; the twin
        tier passes its own), with its configuration and weights map in ``lb<index>/``
        of the work folder; it runs in the first namespace and is added to `running`."""
        process, config, weights_map = self._launch(index, lb, namespaces, namespaces[0])
        forwards = {
            key: tuple(g.target_group for g in groups)
            for key, groups in weighted_forwards(lb).items()
        }
        running = RunningBalancer(
            lb,
            list(namespaces),
            process,
            HaproxyRuntime(self._directory(index) / "haproxy.sock"),
            config,
            _forwarded_to(lb),
            weights_map,
            forwards,
            index=index,
            home=namespaces[0],
        )
        self.running.append(running)
        self._seen[lb.key] = _Seen()
        self._arming.start()
        return running

    def _directory(self, index: int) -> Path:
        return self.work_dir / f"lb{index}"

    def _launch(
        self, index: int, lb: LoadBalancer, namespaces: Sequence[str], home: str
    ) -> tuple[subprocess.Popen[bytes], Path, Path]:
        """Writes the configuration (the nodes not in ``home`` bound through HAProxy's
        `namespace` option) and the weights map with the current weights, starts HAProxy
        in ``home`` and waits for its stats socket."""
        directory = self._directory(index)
        directory.mkdir(parents=True, exist_ok=True)
        socket_path = directory / "haproxy.sock"
        socket_path.unlink(missing_ok=True)
        certs = {
            listener.key: self.ca.issue(
                directory / f"listener-{listener.port}.pem",
                certificate_names(self.plan, lb, listener, tag=self.names.tag, region=self.region),
            )
            for listener in lb.listeners
            if listener.protocol == "HTTPS"
        }
        config = directory / "haproxy.cfg"
        weights_map = directory / "weights.map"
        weights_map.write_text(current_weights_map(weights_map_text(lb), self.weights))
        bind_namespaces = {
            node.private_ip: ns for node, ns in zip(lb.nodes, namespaces, strict=True)
        }
        config.write_text(
            render_haproxy_config(
                lb,
                self.target_groups,
                stats_socket=socket_path,
                listener_certs=certs,
                bind_namespaces={ip: ns for ip, ns in bind_namespaces.items() if ns != home},
                weights_map=weights_map,
            )
        )
        log = (directory / "haproxy.log").open("ab")
        process = subprocess.Popen(
            host.in_netns(home, ["haproxy", "-db", "-f", str(config)]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                output = (directory / "haproxy.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"haproxy for {lb.key} did not start: {output.strip()}")
            time.sleep(0.05)
        return process, config, weights_map

    def balancer(self, lb_key: str) -> RunningBalancer:
        for running in self.running:
            if running.lb.key == lb_key:
                return running
        raise KeyError(f"no running load balancer {lb_key}")

    def restart(self, lb_key: str, home: str | None = None) -> str:
        """HAProxy of ``lb_key`` again (after a crash, or in ``home``, another node's
        namespace, when its own AZ failed), from the same configuration, with the current
        forward weights, every registered target, the targets' last known health (a
        healthy one is forced up, so traffic resumes at once and checks keep judging it)
        and their drain states, with the fail-open copies that were armed armed again.
        Returns what it restored, for the twin's log."""
        with self._lock:
            running = self.balancer(lb_key)
            terminate(running.process)
            new_home = home or running.home_netns
            process, _, _ = self._launch(running.index, running.lb, running.netns, new_home)
            running.process, running.home = process, new_home
            seen = self._seen_of(running)
            restored = 0
            for group in sorted(running.target_groups):
                check = self.target_groups[group].health_check
                last = seen.health.get(group, {})
                for target_id, target in sorted(self.registry.get(group, {}).items()):
                    running.runtime.add_target(group, target_id, target.ip, target.port, check)
                    if target.draining:
                        running.runtime.drain_target(group, target_id)
                        restored += 1
                        continue
                    if target_id in last and last[target_id].health == "healthy":
                        running.runtime.force_health_up(group, target_id)
                    if lb_key in target.fail_open:
                        running.runtime.arm_fail_open(group, target_id)
                    restored += 1
            seen.request_total.clear()  # the new process counts from 0
        where = "" if home is None else f" in {new_home}"
        return f"with {restored} target{'s' if restored != 1 else ''}{where}"

    def arm_fail_open(self) -> int:
        """Arms the fail-open copy of every registered, non-draining target that has left
        ``initial`` on a running HAProxy; returns how many it armed (fail_open.py calls
        it every 0.2 s). Under the lock, so that a drain or a restart never runs between
        the check and the arming: a draining target's copy must stay drained."""
        armed = 0
        with self._lock:
            for running in self.running:
                for group in sorted(running.target_groups):
                    registered = self.registry.get(group, {})
                    pending = [
                        target_id
                        for target_id, target in sorted(registered.items())
                        if not target.draining and running.lb.key not in target.fail_open
                    ]
                    if not pending or running.exited():
                        continue  # a dead HAProxy: `restart` arms what was armed
                    states = running.runtime.target_states(group)
                    for target_id in pending:
                        state = states.get(target_id)
                        if state is None or state.health not in LEFT_INITIAL:
                            continue
                        try:
                            running.runtime.arm_fail_open(group, target_id)
                        except HaproxyRuntimeError as exc:
                            # `register` adds the servers outside the lock: next round.
                            if exc.answer != NO_SUCH_SERVER:
                                raise
                            continue
                        registered[target_id].fail_open.add(running.lb.key)
                        armed += 1
        return armed

    def _balancers_of(self, target_group: str) -> list[RunningBalancer]:
        return [running for running in self.running if target_group in running.target_groups]

    def register(self, target_group: str, target_id: str, ip: IPv4Address, port: int) -> None:
        with self._lock:
            self.registry.setdefault(target_group, {})[target_id] = RegisteredTarget(ip, port)
        for running in self._balancers_of(target_group):
            with _UnlessDown(running):
                running.runtime.add_target(
                    target_group, target_id, ip, port, self.target_groups[target_group].health_check
                )

    def drain(self, target_group: str, target_id: str) -> None:
        with self._lock:
            target = self.registry.get(target_group, {}).get(target_id)
            if target is not None:
                target.draining = True
        for running in self._balancers_of(target_group):
            with _UnlessDown(running):
                running.runtime.drain_target(target_group, target_id)

    def deregister(self, target_group: str, target_id: str) -> None:
        with self._lock:
            self.registry.get(target_group, {}).pop(target_id, None)
        for running in self._balancers_of(target_group):
            with _UnlessDown(running):
                running.runtime.remove_target(target_group, target_id)

    def request_total(self, target_group: str) -> int:
        """Requests the group's backends handled since the twin started: monotonic across
        HAProxy restarts (a dead HAProxy counts as its last answer)."""
        total = 0
        for running in self._balancers_of(target_group):
            seen = self._seen_of(running)
            raw = _live_or_last(
                running,
                partial(running.runtime.request_total, target_group),
                seen.request_total.get(target_group, 0),
            )
            seen.request_total[target_group] = raw
            total += self.counters.read(("requests", running.lb.key, target_group), raw)
        return total

    def states(self, target_group: str) -> dict[str, TargetState]:
        """Every target's health; while an HAProxy is down, its last answer (a failed
        load balancer node does not make the targets unhealthy)."""
        found: dict[str, TargetState] = {}
        for running in self._balancers_of(target_group):
            seen = self._seen_of(running)
            states = _live_or_last(
                running,
                partial(running.runtime.target_states, target_group),
                seen.health.get(target_group, {}),
            )
            seen.health[target_group] = states
            found.update(states)
        return found

    def _forward(self, rule_key: str) -> tuple[RunningBalancer, tuple[str, ...]]:
        for running in self.running:
            if rule_key in running.forwards:
                return running, running.forwards[rule_key]
        raise ValueError(
            f"{rule_key} is not a forward to two or more target groups on a running load "
            "balancer: only those have weights the twin can change"
        )

    def set_forward_weights(self, rule_key: str, weights: Mapping[str, int]) -> None:
        """ModifyRule on a forward's weights: ``rule_key`` is a ListenerRule's plan key,
        or a Listener's for its default action; ``weights`` has every target group of the
        forward, each 0..999 as in ELB. Requests arriving after the call use them."""
        running, groups = self._forward(rule_key)
        if set(weights) != set(groups):
            raise ValueError(
                f"{rule_key} forwards to {', '.join(groups)}: give a weight for each of "
                f"them, not for {', '.join(sorted(weights)) or 'none'}"
            )
        for group, weight in weights.items():
            if isinstance(weight, bool) or not isinstance(weight, int):
                raise ValueError(f"weight of {group}: an integer, not {weight!r}")
            if not 0 <= weight <= MAX_WEIGHT:
                raise ValueError(f"weight of {group}: 0..{MAX_WEIGHT} (ELB), not {weight}")
        value = weights_value([weights[group] for group in groups])
        self.weights[rule_key] = value  # a restarted HAProxy starts with it
        with _UnlessDown(running):
            running.runtime.set_map(running.weights_map, forward_map_key(rule_key), value)

    def forward_weights(self, rule_key: str) -> dict[str, int]:
        """The weights HAProxy uses now for the forward (read back from its map)."""
        running, groups = self._forward(rule_key)
        key = forward_map_key(rule_key)
        value = running.runtime.show_map(running.weights_map).get(key)
        if value is None:
            raise HaproxyRuntimeError(f"show map {running.weights_map}", f"no entry {key}")
        return dict(zip(groups, parse_weights_value(value, len(groups)), strict=True))

    def sample(self, target_group: str, at: float | None = None) -> TargetGroupSample:
        """The group's counters and target health now, for the twin's CloudWatch metrics
        (see HaproxyRuntime.backend_stats for what each counts). ``at`` is the time the
        sample is filed under (default: time.monotonic(), the daemon's clock)."""
        when = time.monotonic() if at is None else at
        stats = [self._backend_stats(r, target_group) for r in self._balancers_of(target_group)]
        targets: dict[str, TargetState] = {}
        for one in stats:
            targets.update(one.targets)
        healths = [state.health for state in targets.values()]
        # One balancer per group in practice; several: their averages weighted by requests.
        timed = [
            (one.response_time_ms, one.requests)
            for one in stats
            if one.requests and one.response_time_ms is not None
        ]
        served = sum(count for _, count in timed)
        response_time = sum(ms * count for ms, count in timed) / served if served else None
        return TargetGroupSample(
            at=when,
            requests=self._since_start("lbtot", target_group, [one.requests for one in stats]),
            http_5xx=self._since_start("5xx", target_group, [one.http_5xx for one in stats]),
            healthy=healths.count("healthy"),
            unhealthy=healths.count("unhealthy"),
            response_time_ms=response_time,
        )

    def _since_start(self, counter: str, target_group: str, raw: Sequence[int]) -> int:
        """The group's balancers' raw counters (one each, in `_balancers_of` order),
        summed as counts since the twin started: a restarted HAProxy starts from zero."""
        keys = [running.lb.key for running in self._balancers_of(target_group)]
        return sum(
            self.counters.read((counter, key, target_group), value)
            for key, value in zip(keys, raw, strict=True)
        )

    def _seen_of(self, running: RunningBalancer) -> _Seen:
        return self._seen.setdefault(running.lb.key, _Seen())

    def _backend_stats(self, running: RunningBalancer, target_group: str) -> BackendStats:
        """A balancer's counters for the group; while its HAProxy is down, nothing new
        (the counters stay where they were) and the targets' last known health."""
        seen = self._seen_of(running)
        stats = _live_or_last(
            running,
            partial(running.runtime.backend_stats, target_group),
            BackendStats(0, 0, None, seen.health.get(target_group, {})),
        )
        seen.health[target_group] = dict(stats.targets)
        return stats

    # ------------------------------------------------------------ AZ outages
    def set_az_down(self, az: str, down: bool) -> list[IPv4Address]:
        """An AZ's load balancer nodes fail (``down``) or come back. A failed node's
        public IP, if it has one (an internal balancer's nodes have none), is unmapped
        at the internet gateway; when HAProxy runs in that node's namespace it is
        restarted, with its state, in a node of another AZ (the ALB's other nodes keep
        serving). Coming back, the IPs are mapped again and HAProxy stays where it is.
        Returns every address by which a failed node is answered (`down_addresses`)."""
        with self._lock:
            for running in self.running:
                nodes = list(zip(running.lb.nodes, running.netns, strict=True))
                for node, _ in nodes:
                    if node.az != az:
                        continue
                    if down and node.private_ip not in self._down_nodes:
                        if node.public_ip is not None:
                            self.network.unmap_public_ip(node.public_ip, node.private_ip)
                        self._down_nodes[node.private_ip] = node
                    elif not down and node.private_ip in self._down_nodes:
                        if node.public_ip is not None:
                            self.network.map_public_ip(node.public_ip, node.private_ip)
                        del self._down_nodes[node.private_ip]
                if not down:
                    continue
                home_az = next(n.az for n, ns in nodes if ns == running.home_netns)
                if home_az != az:
                    continue
                others = [ns for n, ns in nodes if n.private_ip not in self._down_nodes]
                if others:
                    self.restart(running.lb.key, home=others[0])
            return sorted(self.down_addresses())

    def down_addresses(self) -> set[IPv4Address]:
        """The address each failed node is answered by, which the resolvers leave out:
        its public IP, or an internal balancer's node its private one."""
        return {n.public_ip or n.private_ip for n in self._down_nodes.values()}

    def stop(self) -> None:
        self._arming.stop()
        for running in self.running:
            terminate(running.process)
        self.running = []

    def dead(self) -> list[str]:
        return [r.lb.key for r in self.running if r.process.poll() is not None]


def current_weights_map(text: str, weights: Mapping[str, str]) -> str:
    """The weights map file with the entries of ``weights`` (rule key -> value) in place
    of the template's: what a restarted HAProxy must start with (pure)."""
    values = {forward_map_key(key): value for key, value in weights.items()}
    lines = []
    for line in text.splitlines():
        key, _, _ = line.partition(" ")
        lines.append(f"{key} {values[key]}" if key in values else line)
    return "\n".join(lines) + "\n"


def _live_or_last(running: RunningBalancer, ask: Callable[[], _T], last: _T) -> _T:
    """HAProxy's answer, or ``last`` while it is down: a failed load balancer node must
    not make the targets unhealthy nor the counters jump; any other error is real."""
    try:
        return ask()
    except HaproxyRuntimeError:
        if not running.exited():
            raise
        return last


class _UnlessDown:
    """Swallows a runtime error from a balancer whose HAProxy has exited: the registry
    already holds the change, and the restore replays it."""

    def __init__(self, running: RunningBalancer) -> None:
        self.running = running

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> bool:
        return isinstance(exc, HaproxyRuntimeError) and self.running.exited()


def _forwarded_to(lb: LoadBalancer) -> frozenset[str]:
    actions = [a for listener in lb.listeners for a in listener.default_actions]
    actions += [a for listener in lb.listeners for rule in listener.rules for a in rule.actions]
    return frozenset(w.target_group for action in actions for w in action.target_groups)
