"""Per-task and per-container cgroups, limited the way ECS on Fargate limits them.

Layout: `/sys/fs/cgroup/<controller>/<prefix>/<task_id>/<container>` on cgroup v1 (one
tree per controller) and `/sys/fs/cgroup/<prefix>/<task_id>/<container>` on v2. The
task's cgroup carries the task-level limits (memory = the task's memory; CPU = a CFS
quota of `cpu_units / 1024` CPUs per 100 ms period; pids not limited), each container's
its own hard memory limit (the container definition's `memory`). The container's path is
podman's `--cgroup-parent`: podman (runc, cgroupfs manager) puts `libpod-<id>` and
`conmon` under it, so that cgroup outlives the container and still says, after it
exited, whether its memory limit was hit (podman's OOMKilled is unreliable here).

Nothing here writes outside `/sys/fs/cgroup/[<controller>/]<prefix>/`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
CPU_UNITS_PER_CPU = 1024
MIB = 1024 * 1024
REMOVE_WAIT = 5.0
# v1 reports "no limit" as PAGE_COUNTER_MAX pages, about 2**63: anything above this.
UNLIMITED_V1 = 1 << 60
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class CgroupError(Exception):
    """A cgroup could not be created or limited; says which file and why."""


def is_cgroup_v2(root: Path = CGROUP_ROOT) -> bool:
    """True on a pure cgroup v2 (unified) host; hybrid and v1 hosts are v1 for us."""
    return (root / "cgroup.controllers").exists()


def _check_name(kind: str, value: str) -> str:
    if not _SAFE_NAME.match(value) or value in {".", ".."}:
        raise CgroupError(f"{kind} {value!r} cannot be a cgroup name")
    return value


def _hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """Every cgroup tree: the root itself on v2; each controller mount on v1 (once,
    although `cpu` and `cpuacct` may be links to `cpu,cpuacct`)."""
    if is_cgroup_v2(root):
        return [root]
    seen: set[Path] = set()
    found: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            real = entry.resolve()
        except OSError:
            continue
        if real in seen or not real.is_dir() or not (real / "cgroup.procs").exists():
            continue
        seen.add(real)
        found.append(entry)
    return found


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise CgroupError(f"cannot write {value!r} to {path}: {exc.strerror}") from None


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _read_keyed(path: Path, key: str) -> int:
    """A value from a `key value` per line file (memory.events, memory.oom_control)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
            return int(parts[1])
    return 0


def _v1_limit_hit(path: Path) -> bool:
    for kind in ("memory", "memory.memsw"):
        if _read_int(path / f"{kind}.failcnt") > 0:
            return True
        limit = _read_int(path / f"{kind}.limit_in_bytes")
        # An unlimited cgroup reports a huge page-aligned number, never reached.
        if 0 < limit < UNLIMITED_V1 and _read_int(path / f"{kind}.max_usage_in_bytes") >= limit:
            return True
    return False


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CgroupError(f"cannot create cgroup {path}: {exc.strerror}") from None


def _dirs_bottom_up(top: Path) -> Iterator[Path]:
    for folder, _subdirs, _files in os.walk(top, topdown=False):
        yield Path(folder)


def _rmdir_tree(top: Path, *, wait: float = REMOVE_WAIT) -> list[Path]:
    """rmdir every cgroup under top (deepest first), then top; retries while busy
    (podman's libpod-* cgroups empty out as their processes exit). Returns what is
    left."""
    deadline = time.monotonic() + wait
    while True:
        if not top.exists():
            return []
        busy: list[Path] = []
        for folder in _dirs_bottom_up(top):
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY, errno.EAGAIN):
                    raise
                busy.append(folder)
        if not busy:
            return []
        if time.monotonic() > deadline:
            return busy
        time.sleep(0.05)


def _enable_v2_controllers(path: Path) -> None:
    """Lets the cgroups under path use memory, cpu and pids (v2's subtree_control)."""
    available = set((path / "cgroup.controllers").read_text().split())
    wanted = [c for c in ("memory", "cpu", "pids") if c in available]
    if wanted:
        _write(path / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))


class TaskCgroups:
    """The cgroups of one task: `<prefix>/<task_id>` and one per container below it."""

    def __init__(self, prefix: str, task_id: str, *, root: Path = CGROUP_ROOT) -> None:
        self.prefix = _check_name("cgroup prefix", prefix)
        self.task_id = _check_name("task id", task_id)
        self.root = root
        self.v2 = is_cgroup_v2(root)

    # ---- paths ------------------------------------------------------------------------

    @property
    def relative(self) -> str:
        """The task's cgroup path relative to every hierarchy: `/<prefix>/<task_id>`."""
        return f"/{self.prefix}/{self.task_id}"

    def _path(self, controller: str, *parts: str) -> Path:
        base = self.root if self.v2 else self.root / controller
        return base.joinpath(self.prefix, self.task_id, *parts)

    # ---- lifecycle ----------------------------------------------------------------------

    def create(self, cpu_units: int | None, memory_mib: int | None) -> None:
        """Creates the task's cgroup with the task-level limits (None: no limit)."""
        if self.v2:
            self._create_v2(cpu_units, memory_mib)
            return
        memory = self._path("memory")
        prefix_dir = memory.parent
        if not prefix_dir.exists():
            _mkdir(prefix_dir)
            # Needed before children exist; already 1 (and read-only) on recent kernels.
            with contextlib.suppress(CgroupError, OSError):
                if _read_int(prefix_dir / "memory.use_hierarchy") != 1:
                    _write(prefix_dir / "memory.use_hierarchy", "1")
        _mkdir(memory)
        if memory_mib is not None:
            self._limit_memory_v1(memory, memory_mib)
        cpu = self._path("cpu")
        _mkdir(cpu)
        if cpu_units is not None:
            quota = max(1000, cpu_units * CPU_PERIOD_US // CPU_UNITS_PER_CPU)
            _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(quota))

    def _create_v2(self, cpu_units: int | None, memory_mib: int | None) -> None:
        prefix_dir = self.root / self.prefix
        _mkdir(prefix_dir)
        _enable_v2_controllers(prefix_dir)
        task = self._path("")
        _mkdir(task)
        _enable_v2_controllers(task)
        if memory_mib is not None:
            self._limit_memory_v2(task, memory_mib)
        if cpu_units is not None:
            quota = max(1000, cpu_units * CPU_PERIOD_US // CPU_UNITS_PER_CPU)
            _write(task / "cpu.max", f"{quota} {CPU_PERIOD_US}")

    @staticmethod
    def _limit_memory_v2(path: Path, memory_mib: int) -> None:
        """memory.max, and no swap beyond it (where swap is accounted at all)."""
        _write(path / "memory.max", str(memory_mib * MIB))
        with contextlib.suppress(CgroupError):
            _write(path / "memory.swap.max", "0")

    @staticmethod
    def _limit_memory_v1(path: Path, memory_mib: int) -> None:
        """memory.limit_in_bytes, and memory+swap the same (no swap) where swap is
        accounted. memsw may never be below the memory limit: lower memory first when
        shrinking, raise memsw first when growing."""
        limit = memory_mib * MIB
        memory = path / "memory.limit_in_bytes"
        memsw = path / "memory.memsw.limit_in_bytes"
        files = [memory, memsw] if limit <= _read_int(memory) else [memsw, memory]
        for file in files:
            if file.exists():
                _write(file, str(limit))

    def container_parent(self, container: str, memory_mib: int | None) -> str:
        """Creates the container's own cgroup (with its hard memory limit, if any; no
        swap beyond it) and returns the path to pass as podman's `--cgroup-parent`."""
        _check_name("container name", container)
        if self.v2:
            path = self._path(container)
            _mkdir(path)
            _enable_v2_controllers(path)
            if memory_mib is not None:
                self._limit_memory_v2(path, memory_mib)
        else:
            memory = self._path("memory", container)
            _mkdir(memory)
            if memory_mib is not None:
                self._limit_memory_v1(memory, memory_mib)
        return f"{self.relative}/{container}"

    def memory_limit_hit(self, container: str) -> bool:
        """Whether the container's cgroup ever hit its memory limit: together with exit
        code 137 this means the memory limit killed the container. On v2, memory.events'
        oom_kill (hierarchical) > 0. On v1, the cgroup's failcnt (memory or memory+swap)
        > 0, or its peak usage reached the limit: with memsw limited too, some kernels
        (measured: 6.18) count no failure at all, but the peak still says it."""
        if self.v2:
            return _read_keyed(self._path(container) / "memory.events", "oom_kill") > 0
        return _v1_limit_hit(self._path("memory", container))

    def task_memory_limit_hit(self) -> bool:
        """The same for the task-level limit (all containers together)."""
        if self.v2:
            return _read_keyed(self._path("") / "memory.events", "oom_kill") > 0
        return _v1_limit_hit(self._path("memory"))

    def remove(self, *, wait: float = REMOVE_WAIT) -> None:
        """Removes the task's cgroups in every hierarchy (missing ones are fine),
        retrying briefly while podman's cgroups empty; raises CgroupError if some
        stay busy (a process still runs in them)."""
        left: list[Path] = []
        for hierarchy in _hierarchies(self.root):
            left += _rmdir_tree(hierarchy / self.prefix / self.task_id, wait=wait)
        if left:
            raise CgroupError("cgroups still in use: " + ", ".join(str(p) for p in left[:5]))


def remove_all(prefix: str, *, root: Path = CGROUP_ROOT, wait: float = REMOVE_WAIT) -> list[str]:
    """Removes every cgroup under `<prefix>` in every hierarchy (the twin's `down`
    sweep); returns the paths that stayed busy (empty when all went)."""
    _check_name("cgroup prefix", prefix)
    left: list[Path] = []
    for hierarchy in _hierarchies(root):
        left += _rmdir_tree(hierarchy / prefix, wait=wait)
    return [str(p) for p in left]
