"""Once a second, each running task asks the twin internet's what-is-my-IP service
which address its traffic leaves from: the egress IP a customer's firewall whitelists.

The probe runs in the CLI process, from the task's own network namespace (a socket made
there with netns_socket.inside keeps its namespace), so it sees exactly the route the
task's containers see: through its AZ's NAT gateway, or through whichever NAT a single
NAT config shares. A task whose namespace is gone was stopped between two readings of
the state: no probe, not a failure.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from fargate_api.twin.ec2.addresses import ECHO_HOST, ECHO_PORT
from fargate_api.twin.fis.experiment_contracts import EgressSample
from fargate_api.twin.fis.load_generator import Endpoint, describe_error, http_get
from fargate_api.twin.host.netns_socket import inside
from fargate_api.twin.naming import TwinNames

PROBE_TIMEOUT = 0.8
INTERVAL = 1.0

# (task id, AZ) of the tasks to probe now.
TaskList = Callable[[], Sequence[tuple[str, str]]]


class TaskGoneError(Exception):
    """The task's namespace no longer exists."""


def egress_ip(netns: str, timeout: float = PROBE_TIMEOUT) -> str:
    """The address the echo service sees this namespace's traffic come from."""
    try:
        with inside(netns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EINVAL):
            raise TaskGoneError(netns) from None
        raise
    status, body = http_get(
        sock, str(ECHO_HOST), Endpoint(port=ECHO_PORT, host=str(ECHO_HOST)), "/", timeout
    )
    if status != 200:
        raise ValueError(f"echo service answered HTTP {status}")
    return body.decode(errors="replace").strip()


class EgressProbe:
    """Probes every task of `tasks()` each second until stopped."""

    def __init__(
        self, names: TwinNames, tasks: TaskList, *, timeout: float = PROBE_TIMEOUT
    ) -> None:
        self.names = names
        self.tasks = tasks
        self.timeout = timeout
        self._samples: list[EgressSample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="egress")
        self._thread = threading.Thread(target=self._loop, name="egress-probe", daemon=True)
        self._start = 0.0

    def start(self, start: float) -> None:
        self._start = start
        self._thread.start()

    def _loop(self) -> None:
        tick = 0
        while not self._stop.is_set():
            for task, az in self.tasks():
                self._pool.submit(self._probe, task, az)
            tick += 1
            delay = self._start + tick * INTERVAL - time.monotonic()
            if self._stop.wait(max(0.0, delay)):
                return

    def _probe(self, task: str, az: str) -> None:
        t = round(time.monotonic() - self._start, 3)
        try:
            sample = EgressSample(
                t=t, task=task, az=az, ip=egress_ip(self.names.task(task), self.timeout)
            )
        except TaskGoneError:
            return
        except (OSError, ValueError) as exc:
            sample = EgressSample(t=t, task=task, az=az, error=describe_error(exc))
        with self._lock:
            self._samples.append(sample)

    def samples(self) -> list[EgressSample]:
        with self._lock:
            return sorted(self._samples, key=lambda s: s.t)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(INTERVAL + self.timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
