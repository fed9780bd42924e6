"""The one place that runs `ip` and `nft`: every change the twin makes to the kernel.

Driving the iproute2 and nftables command line tools (rather than netlink from Python)
keeps what the twin does readable and reproducible by hand: a failure message quotes
the exact command, which a user can paste into a shell. Nothing here uses a shell.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence

COMMAND_TIMEOUT = 15.0


class HostCommandError(Exception):
    """A kernel-facing command failed; carries the command line and its stderr."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        self.args_list = list(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"`{' '.join(args)}` failed ({returncode}): {self.stderr}")


def run(
    args: Sequence[str],
    *,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = COMMAND_TIMEOUT,
) -> str:
    """Runs a command and returns its stdout; raises HostCommandError when it fails."""
    try:
        proc = subprocess.run(
            list(args),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HostCommandError(args, 124, f"timed out after {timeout:.0f} s") from None
    except OSError as exc:
        raise HostCommandError(args, 127, str(exc)) from None
    if check and proc.returncode != 0:
        raise HostCommandError(args, proc.returncode, proc.stderr or proc.stdout)
    return proc.stdout


def in_netns(netns: str | None, args: Sequence[str]) -> list[str]:
    """The command line that runs `args` inside a network namespace (or here, if None)."""
    return ["ip", "netns", "exec", netns, *args] if netns else list(args)


def ip(netns: str | None, *args: str, check: bool = True) -> str:
    """`ip -n NETNS ...`: iproute2 enters the namespace itself, no exec needed."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return run([*prefix, *args], check=check)


def ip_batch(netns: str | None, commands: Sequence[str]) -> None:
    """Many `ip` commands in one process (`ip -batch -`): building a twin runs hundreds."""
    if not commands:
        return
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    run([*prefix, "-batch", "-"], input_text="\n".join(commands) + "\n")


def nft(netns: str | None, script: str) -> None:
    """Loads an nftables script atomically (`nft -f -`): all of it applies, or none."""
    run(in_netns(netns, ["nft", "-f", "-"]), input_text=script)


def nft_list(netns: str | None, *what: str) -> str:
    return run(in_netns(netns, ["nft", *what]))


def tc(netns: str | None, *args: str, check: bool = True) -> str:
    """`tc -n NETNS ...`: traffic control (qdiscs), like `ip`, entering the namespace itself."""
    prefix = ["tc", "-n", netns] if netns else ["tc"]
    return run([*prefix, *args], check=check)


@functools.cache
def netem_available(prefix: str) -> bool:
    """Whether this kernel has the netem qdisc (some kernels ship only tbf, htb, pfifo:
    `tc qdisc add ... netem` then fails "Specified qdisc kind is unknown").

    Tried once per process on the loopback of a scratch namespace named with the
    caller's prefix (so a leak check or `local down` can find it), which is deleted again.
    """
    scratch = f"{prefix}netem-probe"
    netns_delete(scratch)  # a probe a crashed process left behind
    try:
        netns_add(scratch)
    except HostCommandError:
        return False
    try:
        tc(scratch, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms")
    except HostCommandError:
        return False
    else:
        return True
    finally:
        netns_delete(scratch)


def sysctl(netns: str | None, settings: dict[str, str]) -> None:
    args = [f"{key}={value}" for key, value in settings.items()]
    run(in_netns(netns, ["sysctl", "-q", "-w", *args]))


def netns_add(name: str) -> None:
    run(["ip", "netns", "add", name])


def netns_delete(name: str) -> None:
    run(["ip", "netns", "del", name], check=False)


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(name: str) -> list[int]:
    out = run(["ip", "netns", "pids", name], check=False)
    return [int(pid) for pid in out.split() if pid.isdigit()]


def missing_commands(commands: Sequence[str]) -> list[str]:
    return [command for command in commands if shutil.which(command) is None]


def loopback_address_add(netns: str, addresses: Sequence[str]) -> None:
    """Host addresses (/32) on the namespace's loopback: services the namespace answers.

    ``replace`` rather than ``add``: adding an address twice is then no error.
    """
    ip_batch(netns, [f"addr replace {address}/32 dev lo" for address in addresses])
