"""The ALB at run time: node ENIs, one HAProxy per load balancer, target (de)registration.

An ALB has a node (an ENI with a public IP) in each of its subnets. Each node is a
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
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from pathlib import Path

from fargate_api.twin.cloudwatch.metrics import TargetGroupSample
from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.elbv2.haproxy_config import (
    MAX_WEIGHT,
    forward_map_key,
    parse_weights_value,
    render_haproxy_config,
    weighted_forwards,
    weights_map_text,
    weights_value,
)
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntime, HaproxyRuntimeError, TargetState
from fargate_api.twin.elbv2.names import certificate_names
from fargate_api.twin.elbv2.tls import CA_BUNDLE, TwinCa
from fargate_api.twin.host import kernel as host
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import HealthCheck, LoadBalancer, TargetGroup, TwinPlan

START_TIMEOUT = 10.0
CA_FOLDER = "ca"  # the twin's CA in its state folder (elbv2/tls.py), removed on down


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
    netns: list[str]
    process: subprocess.Popen[bytes]
    runtime: HaproxyRuntime
    config: Path
    target_groups: frozenset[str]  # those its listeners forward to
    weights_map: Path
    # Rule (or listener) key -> the target groups of its weighted forward, in map order.
    forwards: Mapping[str, tuple[str, ...]]


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
                self.network.map_public_ip(node.public_ip, node.private_ip)
                namespaces.append(netns)
            self.start_haproxy(lb_index, lb, namespaces)

    def start_haproxy(
        self, index: int, lb: LoadBalancer, namespaces: Sequence[str]
    ) -> RunningBalancer:
        """HAProxy for ``lb``, whose node namespaces exist (`start` makes them; the twin
        tier passes its own), with its configuration and weights map in ``lb<index>/``
        of the work folder; it runs in the first namespace and is added to `running`."""
        directory = self.work_dir / f"lb{index}"
        directory.mkdir(parents=True, exist_ok=True)
        socket_path = directory / "haproxy.sock"
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
        weights_map.write_text(weights_map_text(lb))
        bind_namespaces = {
            node.private_ip: ns for node, ns in zip(lb.nodes, namespaces, strict=True)
        }
        config.write_text(
            render_haproxy_config(
                lb,
                self.target_groups,
                stats_socket=socket_path,
                listener_certs=certs,
                bind_namespaces={
                    ip: ns for ip, ns in bind_namespaces.items() if ns != namespaces[0]
                },
                weights_map=weights_map,
            )
        )
        log = (directory / "haproxy.log").open("ab")
        process = subprocess.Popen(
            host.in_netns(namespaces[0], ["haproxy", "-db", "-f", str(config)]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        runtime = HaproxyRuntime(socket_path)
        deadline = time.monotonic() + START_TIMEOUT
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                output = (directory / "haproxy.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"haproxy for {lb.key} did not start: {output.strip()}")
            time.sleep(0.05)
        forwards = {
            key: tuple(g.target_group for g in groups)
            for key, groups in weighted_forwards(lb).items()
        }
        running = RunningBalancer(
            lb, list(namespaces), process, runtime, config, _forwarded_to(lb), weights_map, forwards
        )
        self.running.append(running)
        return running

    def _balancers_of(self, target_group: str) -> list[RunningBalancer]:
        return [running for running in self.running if target_group in running.target_groups]

    def register(self, target_group: str, target_id: str, ip: IPv4Address, port: int) -> None:
        for running in self._balancers_of(target_group):
            running.runtime.add_target(
                target_group, target_id, ip, port, self.target_groups[target_group].health_check
            )

    def drain(self, target_group: str, target_id: str) -> None:
        for running in self._balancers_of(target_group):
            running.runtime.drain_target(target_group, target_id)

    def deregister(self, target_group: str, target_id: str) -> None:
        for running in self._balancers_of(target_group):
            running.runtime.remove_target(target_group, target_id)

    def request_total(self, target_group: str) -> int:
        return sum(r.runtime.request_total(target_group) for r in self._balancers_of(target_group))

    def states(self, target_group: str) -> dict[str, TargetState]:
        found: dict[str, TargetState] = {}
        for running in self._balancers_of(target_group):
            found.update(running.runtime.target_states(target_group))
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
        stats = [r.runtime.backend_stats(target_group) for r in self._balancers_of(target_group)]
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
            requests=sum(one.requests for one in stats),
            http_5xx=sum(one.http_5xx for one in stats),
            healthy=healths.count("healthy"),
            unhealthy=healths.count("unhealthy"),
            response_time_ms=response_time,
        )

    def stop(self) -> None:
        for running in self.running:
            if running.process.poll() is None:
                running.process.terminate()
                try:
                    running.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    running.process.kill()
                    running.process.wait()
        self.running = []

    def dead(self) -> list[str]:
        return [r.lb.key for r in self.running if r.process.poll() is not None]


def _forwarded_to(lb: LoadBalancer) -> frozenset[str]:
    actions = [a for listener in lb.listeners for a in listener.default_actions]
    actions += [a for listener in lb.listeners for rule in listener.rules for a in rule.actions]
    return frozenset(w.target_group for action in actions for w in action.target_groups)
