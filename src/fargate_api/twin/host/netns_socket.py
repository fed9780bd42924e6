"""A listening socket inside a network namespace, held by a process that stays outside.

The task endpoint server must answer at 169.254.170.2 inside the twin's VPC, yet reach
AWS (STS for `--assume-task-role`) from this machine's own network, which the twin's
namespaces never route to. A socket belongs to the namespace it was created in, so the
server's main thread enters the VPC namespace just long enough to create and bind its
socket (setns(2); Python 3.11 has no os.setns, hence ctypes), then returns.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


class NamespaceSwitchError(OSError):
    """setns(2) failed: the namespace is gone, or this process lacks CAP_SYS_ADMIN."""


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NamespaceSwitchError(errno, os.strerror(errno))


@contextmanager
def inside(netns: str) -> Iterator[None]:
    """Runs the block in network namespace `netns` (a name under /run/netns), on this
    thread only, and always comes back to the namespace the thread was in."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)
