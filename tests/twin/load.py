"""Steady load from the twin's internet host with wrk, and its failure counts."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    non_2xx: int
    socket_errors: int
    output: str

    @property
    def failed(self) -> int:
        return self.non_2xx + self.socket_errors


class Load:
    """wrk in the internet namespace, bounded in time, started before and read after."""

    def __init__(self, internet_netns: str, url: str, seconds: int, connections: int = 8) -> None:
        self.process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                internet_netns,
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "5s",
                url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.seconds = seconds

    def result(self) -> LoadResult:
        out, _ = self.process.communicate(timeout=self.seconds + 30)
        return parse_wrk(out)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def parse_wrk(out: str) -> LoadResult:
    total = re.search(r"(\d+) requests in", out)
    if total is None:
        raise AssertionError(f"wrk printed no summary:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return LoadResult(
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        output=out,
    )
