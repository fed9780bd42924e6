"""The ALB at run time: node ENIs, one HAProxy per load balancer, target (de)registration.

An ALB has a node (an ENI with a public IP) in each of its subnets. Each node is a
namespace of its own, with the ALB's security groups on it; one HAProxy process runs in
the first node's namespace and binds the other nodes' addresses through HAProxy's
`namespace` bind option, so that a single runtime API sees every target's health, as
the ELB API does.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from pathlib import Path

from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.elbv2.haproxy_config import render_haproxy_config
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntime, TargetState
from fargate_api.twin.elbv2.tls import self_signed_certificate
from fargate_api.twin.host import kernel as host
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import HealthCheck, LoadBalancer, TargetGroup, TwinPlan

START_TIMEOUT = 10.0


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
    ) -> None:
        self.names = names
        self.plan = plan
        self.network = network
        self.groups = groups
        self.work_dir = work_dir
        self.time_scale = time_scale
        self.running: list[RunningBalancer] = []
        self.target_groups = {g.key: scaled_target_group(g, time_scale) for g in plan.target_groups}

    def start(self) -> None:
        for lb_index, lb in enumerate(self.plan.load_balancers):
            namespaces = []
            for node_index, node in enumerate(lb.nodes):
                netns = self.names.load_balancer_node(lb_index, node_index)
                self.network.attach_eni(netns, self.plan.subnet(node.subnet), node.private_ip)
                self.groups.add(netns, node.private_ip, lb.security_groups)
                self.network.map_public_ip(node.public_ip, node.private_ip)
                namespaces.append(netns)
            self.running.append(self._start_haproxy(lb_index, lb, namespaces))

    def _start_haproxy(
        self, index: int, lb: LoadBalancer, namespaces: list[str]
    ) -> RunningBalancer:
        directory = self.work_dir / f"lb{index}"
        directory.mkdir(parents=True, exist_ok=True)
        socket_path = directory / "haproxy.sock"
        cert = None
        if any(listener.protocol == "HTTPS" for listener in lb.listeners):
            cert = self_signed_certificate(directory, lb.name)
        config = directory / "haproxy.cfg"
        bind_namespaces = {
            node.private_ip: ns for node, ns in zip(lb.nodes, namespaces, strict=True)
        }
        config.write_text(
            render_haproxy_config(
                lb,
                self.target_groups,
                stats_socket=socket_path,
                tls_cert=cert,
                bind_namespaces={
                    ip: ns for ip, ns in bind_namespaces.items() if ns != namespaces[0]
                },
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
        return RunningBalancer(lb, namespaces, process, runtime, config, _forwarded_to(lb))

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
