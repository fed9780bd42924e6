"""The twin's own containers.conf: podman configured for this machine, not the host's.

Podman reads it through `CONTAINERS_CONF=PATH` (twin/host/podman.py always sets it), so
the host's podman configuration is neither needed nor changed; images stay in the host's
default store. What it sets, and why:

* `runtime = "runc"`: crun refuses cgroup v1/hybrid hosts ("cgroups in hybrid mode not
  supported"); runc works on both.
* `cgroup_manager = "cgroupfs"`: the twin creates its own cgroups under
  /sys/fs/cgroup (twin/host/cgroups.py) and systemd need not be PID 1.
* `events_logger = "file"`: no journald needed.
* `default_ulimits`: podman's defaults fail here (a hard nofile above the process's own
  hard limit; an nproc above what the runtime may set: "error setting rlimit type 6").
  Fargate's default is nofile 65535:65535 and no nproc limit; the twin uses nofile
  min(65535, this process's hard RLIMIT_NOFILE) and nproc min(this process's hard
  RLIMIT_NPROC, kernel.pid_max), so a container may see fewer open files than on Fargate
  when the machine's hard limit is lower, and a finite nproc where Fargate has none
  (root in a container is not bound by nproc anyway).
"""

from __future__ import annotations

import resource
from pathlib import Path

FARGATE_NOFILE = 65535
# The highest value RLIMIT_NPROC may get when neither the process nor the kernel says.
NPROC_CEILING = 4_194_304
PID_MAX_FILE = Path("/proc/sys/kernel/pid_max")


def _finite(value: int, ceiling: int) -> int:
    """A hard limit as a number podman accepts: RLIM_INFINITY (-1) becomes the ceiling."""
    if value < 0 or value == resource.RLIM_INFINITY:
        return ceiling
    return min(value, ceiling)


def containers_conf_text(nofile_hard: int, nproc_hard: int) -> str:
    """The file's text for a process whose hard limits are these (RLIM_INFINITY allowed)."""
    nofile = _finite(nofile_hard, FARGATE_NOFILE)
    nproc = _finite(nproc_hard, NPROC_CEILING)
    return (
        "# Written by fargate-api for the local twin (podman reads it via CONTAINERS_CONF).\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "\n"
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )


def _pid_max() -> int:
    try:
        return int(PID_MAX_FILE.read_text().strip())
    except (OSError, ValueError):
        return NPROC_CEILING


def write_containers_conf(path: Path) -> Path:
    """Writes the file for this machine's real limits (creating its folder); returns path."""
    nofile_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc_hard = _finite(resource.getrlimit(resource.RLIMIT_NPROC)[1], NPROC_CEILING)
    text = containers_conf_text(nofile_hard, min(nproc_hard, _pid_max()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
