"""The Amazon-provided DNS resolver of the twin's VPC, at the VPC's base address + 2.

On AWS every VPC has a resolver at its network address + 2 (10.0.0.2 for 10.0.0.0/16):
it answers the VPC's private DNS names (``ip-10-0-1-23.ec2.internal`` in us-east-1,
``ip-10-0-1-23.<region>.compute.internal`` elsewhere, with reverse PTR records), the
load balancers' names, and forwards everything else to the internet. Security groups
never filter it.

The twin runs one ``dnsmasq`` inside the VPC router namespace, listening on base + 2,
an address on the router's loopback (the router answers ARP for any of its addresses on
every bridge, so a task whose subnet contains base + 2 reaches it on-link, and any other
task through its default route). It answers from a hosts file the twin rewrites as
tasks and load balancers come and go (dnsmasq re-reads ``--addn-hosts`` on SIGHUP), and
answers every other name NXDOMAIN at once (``--local=/#/``): the twin's internet has no
DNS, and a resolver that forwards nowhere would make every lookup time out.

Processes run through ``ip netns exec`` see ``/etc/netns/<netns>/resolv.conf`` as their
``/etc/resolv.conf``; ``write_netns_resolv_conf`` puts the resolver there for a task.

The twin's internet gets a resolver of its own the same way (``InternetResolver``, a
second dnsmasq on the internet host at 203.0.113.53): it answers the twin's public names
only, the load balancers' and the custom domains' Route 53 records leading to them, so
that ``local exec --internet -- curl https://api.example.com/`` resolves as a client on
the internet would. Which names each one answers is elbv2/names.py's (pure) business.

Everything this module creates carries the twin's prefix: the hosts and pid files live
in the twin's state folder, whose path (with the prefix) is on dnsmasq's command line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from fargate_api.twin.ec2.addresses import INTERNET_DNS
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.processes import kill_all
from fargate_api.twin.naming import TwinNames

DNS_PORT = 53
TASK_ENDPOINT_ADDRESS = IPv4Address("169.254.170.2")  # ECS metadata and credentials
TASK_ENDPOINT_PORT = 80
NETNS_ETC = Path("/etc/netns")
START_TIMEOUT = 10.0
VPC_STEM = "vpc-dns"  # the VPC resolver's files in the state folder: .hosts, .pid, .log
INTERNET_STEM = "internet-dns"
# A record's names must be DNS labels (no whitespace, '#' would start a comment).
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

Records = Mapping[str, Sequence[IPv4Address]]


class ResolverError(Exception):
    """dnsmasq could not start (the message carries its own words)."""


def resolver_address(vpc_cidr: IPv4Network) -> IPv4Address:
    """AWS's resolver: the VPC's network address + 2."""
    return vpc_cidr.network_address + 2


def region_of_az(az: str) -> str:
    """The region an AZ name belongs to (us-east-1a -> us-east-1); us-east-1 if unknown."""
    return az.rstrip("abcdefghijklmnopqrstuvwxyz") or "us-east-1"


def internal_domain(region: str) -> str:
    """``ec2.internal`` in us-east-1, ``<region>.compute.internal`` everywhere else."""
    return "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"


def private_dns_name(ip: IPv4Address | str, region: str) -> str:
    """``ip-10-0-1-23.ec2.internal``: the name AWS gives an ENI's private address."""
    return f"ip-{str(ip).replace('.', '-')}.{internal_domain(region)}"


def task_records(ips: Iterable[IPv4Address], region: str) -> dict[str, list[IPv4Address]]:
    """The private DNS name of every ENI address."""
    return {private_dns_name(ip, region): [ip] for ip in ips}


def render_hosts(records: Records) -> str:
    """The ``--addn-hosts`` file: one ``IP NAME`` line per address, sorted.

    dnsmasq answers A records from it and PTR records for the first name of an address,
    so one address's names keep the order given: put an ENI's private DNS name before other
    names of the same address. Raises ValueError for a name that is not a DNS name.
    """
    lines: list[str] = []
    for name, ips in records.items():
        _check_name(name)
        lines += [f"{ip} {name}" for ip in sorted(set(ips))]
    return "# the twin's VPC DNS records (rewritten by the twin; dnsmasq reads it on SIGHUP)\n" + (
        "".join(f"{line}\n" for line in sorted(lines, key=_line_order))
    )


def dnsmasq_args(
    listen: IPv4Address, hosts_file: Path, pid_file: Path, *, port: int = DNS_PORT
) -> list[str]:
    """dnsmasq's command line: only the hosts file answers, everything else is NXDOMAIN."""
    return [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",  # nothing from /etc/dnsmasq.conf
        "--no-resolv",  # no upstream from /etc/resolv.conf
        "--no-hosts",  # not the host's /etc/hosts
        "--no-poll",
        "--bind-interfaces",
        f"--listen-address={listen}",
        f"--port={port}",
        f"--addn-hosts={hosts_file}",
        "--local=/#/",  # every other name: NXDOMAIN at once, never forwarded
        "--domain-needed",
        f"--pid-file={pid_file}",
        "--log-facility=-",  # stderr, into the log file
        "--user=root",  # the state folder is root's
        "--group=root",
    ]


def netns_resolv_conf(nameserver: IPv4Address, search: Sequence[str] = ()) -> str:
    lines = [f"nameserver {nameserver}"]
    if search:
        lines.append("search " + " ".join(search))
    lines.append("options timeout:1 attempts:2")
    return "\n".join(lines) + "\n"


def write_netns_resolv_conf(
    netns: str, nameserver: IPv4Address, search: Sequence[str] = (), *, root: Path = NETNS_ETC
) -> Path:
    """``/etc/netns/<netns>/resolv.conf``: ``ip netns exec`` mounts it over /etc/resolv.conf."""
    folder = root / netns
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "resolv.conf"
    tmp = folder / ".resolv.conf.tmp"
    tmp.write_text(netns_resolv_conf(nameserver, search), encoding="utf-8")
    tmp.replace(path)
    return path


def remove_netns_etc(netns: str, *, root: Path = NETNS_ETC) -> None:
    """Removes ``/etc/netns/<netns>``; a no-op when it is not there."""
    if not netns or "/" in netns or netns in (".", ".."):
        raise ValueError(f"not a namespace name: {netns!r}")
    shutil.rmtree(root / netns, ignore_errors=True)


def netns_etc_folders(prefix: str, *, root: Path = NETNS_ETC) -> list[str]:
    """The namespaces under ``/etc/netns`` whose name starts with ``prefix``."""
    try:
        return sorted(p.name for p in root.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


class HostsResolver:
    """One dnsmasq in one of the twin's namespaces, answering only from its hosts file:
    start, update the records, stop. Its files are ``<stem>.hosts``, ``.pid``, ``.log``
    in the state folder (whose path, with the twin's prefix, is on its command line)."""

    def __init__(
        self,
        address: IPv4Address,
        netns: str,
        state_dir: Path,
        *,
        stem: str,
        port: int = DNS_PORT,
    ) -> None:
        self.address = address
        self.netns = netns
        self.state_dir = state_dir
        self.stem = stem
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def hosts_file(self) -> Path:
        return self.state_dir / f"{self.stem}.hosts"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.stem}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.stem}.log"

    def command(self) -> list[str]:
        args = dnsmasq_args(self.address, self.hosts_file, self.pid_file, port=self.port)
        return host.in_netns(self.netns, args)

    def start(self, records: Records) -> int:
        """Writes the records and starts dnsmasq; returns its pid once it answers."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_hosts(records)
        self.pid_file.unlink(missing_ok=True)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ResolverError(
                    f"dnsmasq exited ({self._process.returncode}) in {self.netns}: "
                    f"{self._log_tail()}"
                )
            if _pid_from(self.pid_file) is not None:
                return self._process.pid
            time.sleep(0.02)
        self.stop()
        raise ResolverError(f"dnsmasq did not start in {START_TIMEOUT:.0f} s: {self._log_tail()}")

    def update(self, records: Records) -> None:
        """Rewrites the hosts file and makes dnsmasq re-read it (SIGHUP)."""
        self._write_hosts(records)
        pid = self.pid()
        if pid is None:
            raise ResolverError(f"the resolver in {self.netns} is not running")
        os.kill(pid, signal.SIGHUP)

    def pid(self) -> int | None:
        """dnsmasq's pid while it runs. Our own child tells (its pid file outlives a
        SIGKILL); the pid file only speaks for one started by another process."""
        if self._process is not None:
            return self._process.pid if self._process.poll() is None else None
        return _pid_from(self.pid_file)

    def restart(self, records: Records) -> int:
        """dnsmasq again with ``records`` (after a crash): whatever is left of the old one
        is stopped first; its log is kept."""
        pid = self.pid()
        if pid is not None:
            kill_all([pid])
        self._process = None
        return self.start(records)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; removes its files. Idempotent."""
        pid = self.pid()
        if pid is not None:
            kill_all([pid])  # reaps our own child too
        self._process = None
        for path in (self.pid_file, self.hosts_file, self.log_file):
            path.unlink(missing_ok=True)

    def _write_hosts(self, records: Records) -> None:
        text = render_hosts(records)
        tmp = self.hosts_file.with_name(f".{self.hosts_file.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.hosts_file)

    def _log_tail(self) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return "(no log)"
        return " | ".join(text.splitlines()[-5:]) or "(no output)"


class VpcResolver(HostsResolver):
    """Amazon-provided DNS: the VPC's base + 2, in the VPC router's namespace."""

    def __init__(
        self,
        names: TwinNames,
        vpc_cidr: IPv4Network,
        *,
        netns: str | None = None,
        state_dir: Path | None = None,
        port: int = DNS_PORT,
    ) -> None:
        super().__init__(
            resolver_address(vpc_cidr),
            netns if netns is not None else names.router,
            state_dir if state_dir is not None else names.state_dir,
            stem=VPC_STEM,
            port=port,
        )
        self.names = names


class InternetResolver(HostsResolver):
    """The internet's DNS, as the twin plays it: a resolver on the internet host that
    knows the public names of the twin (the load balancers', the Route 53 records leading
    to them, the echo service) and nothing else, so `curl https://api.example.com/` from
    the internet host resolves as it would from a laptop. ``/etc/netns/<inet>/resolv.conf``
    names it (vpc.py)."""

    def __init__(self, names: TwinNames, *, state_dir: Path | None = None) -> None:
        super().__init__(
            INTERNET_DNS,
            names.internet,
            state_dir if state_dir is not None else names.state_dir,
            stem=INTERNET_STEM,
        )
        self.names = names


def _pid_from(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _check_name(name: str) -> None:
    if not name or len(name) > 253 or not set(name) <= _LABEL_CHARS or name.startswith("."):
        raise ValueError(f"not a DNS name: {name!r}")


def _line_order(line: str) -> int:
    """By address; a stable sort keeps the given order of one address's names."""
    return int(IPv4Address(line.partition(" ")[0]))
