"""The thread that switches on fail-open copies of targets as they leave ``initial``.

An ALB routes to every unhealthy target when none is healthy, but never to a target
still in its initial health checks. HAProxy does the first on its own, through each
target's unchecked ``backup`` copy (haproxy_config.py); it cannot tell a target that
has not finished its first checks from one that failed them, so the copy starts in
maintenance and is armed from outside once its target has been healthy or failed a
check. This thread is that outside: every ``INTERVAL`` it asks LoadBalancers to arm
what is due (`LoadBalancers.arm_fail_open`, which does nothing, not even a socket
round trip, once every registered target is armed). A target's first failed check
therefore takes up to ``INTERVAL`` to open its copy; a target armed once stays armed
until it drains or is deregistered, so a group whose targets all fail later (the usual
fail-open case) fails open at HAProxy's next request, without waiting for this thread.

It runs in the daemon beside the 0.5 s tick and keeps its own pace, so that the twin
tier's LoadBalancers (without the daemon) fails open too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

INTERVAL = 0.2  # seconds; health check intervals are at least 1 s, even scaled


class FailOpenArming:
    """Calls ``arm`` every ``interval`` seconds on a daemon thread, between `start` and
    `stop`. An error is kept in `last_error` and the next round runs anyway: a failed
    round must not end fail-open for the rest of the twin's life."""

    def __init__(self, arm: Callable[[], object], interval: float = INTERVAL) -> None:
        self.arm = arm
        self.interval = interval
        self.last_error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts the thread unless it runs already."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="fail-open-arming", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.arm()
            except Exception as exc:  # kept for whoever looks; the next round tries again
                self.last_error = exc

    def stop(self) -> None:
        """Stops the thread and waits for a round in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
