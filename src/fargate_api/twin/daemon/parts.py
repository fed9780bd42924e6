"""The twin's supervised parts (daemon/supervisor.py): thin adapters over the owners'
own probes and restores, so that what "restored" means stays with the code that built
the part (elbv2/load_balancers.py, ec2/vpc.py, daemon/vpc_services.py, daemon/twin.py).

What each one restores:

* HAProxy: started again from the same configuration in its home namespace, with the
  current forward weights, every registered target, their last health and drain states.
* A NAT gateway: rebuilt with the same addresses (so the same egress IP).
* The internet gateway: rebuilt with every public IP mapped now.
* The resolvers (dnsmasq), the task endpoint server, the echo service, the forwarders:
  started again; the forwarders listen on the same host port.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from fargate_api.twin.daemon.vpc_services import VpcServices
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntimeError
from fargate_api.twin.elbv2.load_balancers import LoadBalancers


@dataclass
class HaproxyPart:
    """One load balancer's HAProxy: dead when its process exited or its stats socket
    refuses (a hung HAProxy is as useless as a dead one)."""

    balancers: LoadBalancers
    lb_key: str
    kind: str = "haproxy"
    slow: bool = False

    @property
    def name(self) -> str:
        return f"haproxy {self.lb_key}"

    def problem(self) -> str | None:
        running = self.balancers.balancer(self.lb_key)
        code = running.process.poll()
        if code is not None:
            return f"crashed (exit {code})"
        try:
            running.runtime.command("show info")
        except HaproxyRuntimeError as exc:
            return f"does not answer on its stats socket ({exc.answer})"
        return None

    def restore(self) -> str | None:
        return self.balancers.restart(self.lb_key)


@dataclass
class ProcessPart:
    """A helper process the twin started (echo, forwarder, resolver, task endpoints):
    restored by starting it again."""

    name: str
    kind: str
    process: Callable[[], subprocess.Popen[bytes] | None]
    start: Callable[[], str | None]
    slow: bool = False

    def problem(self) -> str | None:
        process = self.process()
        if process is None:
            return None
        code = process.poll()
        return None if code is None else f"crashed (exit {code})"

    def restore(self) -> str | None:
        return self.start()


@dataclass
class CheckedPart:
    """A part whose owner has its own probe (a resolver's pid, kernel state)."""

    name: str
    kind: str
    probe: Callable[[], str | None]
    rebuild: Callable[[], str | None]
    slow: bool = False

    def problem(self) -> str | None:
        return self.probe()

    def restore(self) -> str | None:
        return self.rebuild()


def nat_gateway_part(network: Network, index: int) -> CheckedPart:
    nat = network.plan.nat_gateways[index]
    az = network.plan.subnet(nat.subnet).az

    def rebuild() -> str:
        network.build_nat(index)
        return f"with egress IP {nat.public_ip}"

    return CheckedPart(
        name=f"nat-gateway {az}",
        kind="nat-gateway",
        probe=lambda: network.nat_problem(index),
        rebuild=rebuild,
        slow=True,
    )


def internet_gateway_part(network: Network) -> CheckedPart:
    def rebuild() -> str:
        count = network.rebuild_internet_gateway()
        return f"with {count} public IP{'s' if count != 1 else ''}"

    return CheckedPart(
        name="internet-gateway",
        kind="internet-gateway",
        probe=network.igw_problem,
        rebuild=rebuild,
        slow=True,
    )


def vpc_service_parts(services: VpcServices) -> list[CheckedPart | ProcessPart]:
    """The VPC's resolver, the internet's (when there is an internet gateway) and the
    task endpoint server."""
    found: list[CheckedPart | ProcessPart] = [
        CheckedPart(
            "vpc-resolver", "resolver", services.resolver_problem, services.restart_resolver
        )
    ]
    if services.internet_resolver is not None:
        found.append(
            CheckedPart(
                "internet-resolver",
                "resolver",
                services.internet_resolver_problem,
                services.restart_internet_resolver,
            )
        )
    found.append(
        ProcessPart(
            "task-endpoints", "endpoints", lambda: services.server, services.start_endpoints
        )
    )
    return found
