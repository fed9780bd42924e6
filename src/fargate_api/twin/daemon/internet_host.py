"""What the twin runs on its internet host, besides the internet's resolver: the
what-is-my-IP echo service (how a task sees its egress IP) and one forwarder per
listener port from 127.0.0.1 on this machine to the load balancer's public IPs.
Internal load balancers get none: they have no public IP, and the internet (this
machine's 127.0.0.1 included) must not reach them; a task reaches them inside the VPC.

Both are plain child processes of the daemon; the supervisor (daemon/supervisor.py)
starts them again when they exit, so starting and restarting are one code path here. A
restarted forwarder listens on the same host port, so the URL `local up` printed keeps
working.
"""

from __future__ import annotations

import subprocess
import sys
from functools import partial

from fargate_api.twin.daemon.parts import ProcessPart
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ec2.addresses import CLIENT_HOST, ECHO_HOST, ECHO_PORT
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.processes import terminate
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import TwinPlan
from fargate_api.twin.servers.forwarder import forwarder_command, open_listener


class InternetHost:
    def __init__(self, names: TwinNames, plan: TwinPlan, state: StateDir) -> None:
        self.names = names
        self.plan = plan
        self.state = state
        self.echo: subprocess.Popen[bytes] | None = None
        self.forwarders: dict[int, subprocess.Popen[bytes]] = {}  # listener port -> process
        self.ports: dict[int, int] = {}  # listener port -> host port

    def start(self, first_port: int) -> None:
        """The echo service, then a forwarder per listener port; the first listener gets
        `first_port` on this machine (0: a free one), the others free ones."""
        if not self.plan.internet_gateway:
            return
        self.start_echo()
        for lb in self.plan.load_balancers:
            if not lb.internet_facing:
                continue
            for listener in lb.listeners:
                if listener.port in self.ports:
                    continue
                self.ports[listener.port] = first_port if not self.ports else 0
                self.start_forwarder(listener.port)

    def start_echo(self) -> str | None:
        """The internet's what-is-my-IP service (again, after a crash)."""
        command = [
            sys.executable,
            "-m",
            "fargate_api.twin.servers.echo_server",
            "--bind",
            str(ECHO_HOST),
            "--port",
            str(ECHO_PORT),
            "--label",
            f"{self.names.prefix}echo",
        ]
        with self.state.file("echo.log").open("ab") as log:
            process = subprocess.Popen(
                host.in_netns(self.names.internet, command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _reap(self.echo)
        self.echo = process
        return None

    def start_forwarder(self, port: int) -> str:
        """The forwarder of listener ``port`` to the nodes' public IPs; a restarted one
        listens on the same host port."""
        lb = next(
            b
            for b in self.plan.load_balancers
            if b.internet_facing and any(x.port == port for x in b.listeners)
        )
        listening = open_listener("127.0.0.1", self.ports[port])
        self.ports[port] = listening.getsockname()[1]
        targets = [(str(node.public_ip), port) for node in lb.nodes if node.public_ip]
        command = forwarder_command(
            sys.executable,
            listening.fileno(),
            targets,
            str(CLIENT_HOST),
            label=f"{self.names.prefix}fwd",
        )
        try:
            with self.state.file(f"forwarder-{port}.log").open("ab") as log:
                process = subprocess.Popen(
                    host.in_netns(self.names.internet, command),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listening.fileno(),),
                    start_new_session=True,
                )
        finally:
            listening.close()
        _reap(self.forwarders.get(port))
        self.forwarders[port] = process
        return f"on 127.0.0.1:{self.ports[port]}"

    def parts(self) -> list[ProcessPart]:
        """The supervised parts: the echo service and each forwarder."""
        found = []
        if self.echo is not None:
            found.append(ProcessPart("echo", "echo", lambda: self.echo, self.start_echo))
        for port in self.forwarders:
            found.append(
                ProcessPart(
                    f"forwarder :{port}",
                    "forwarder",
                    partial(self.forwarders.get, port),
                    partial(self.start_forwarder, port),
                )
            )
        return found

    def stop(self) -> None:
        for process in [self.echo, *self.forwarders.values()]:
            if process is not None:
                terminate(process)


def _reap(old: subprocess.Popen[bytes] | None) -> None:
    """The process a restart replaces: exited already, or killed now; reaped either way."""
    if old is not None:
        if old.poll() is None:
            old.kill()
        old.wait()
