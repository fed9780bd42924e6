"""Twin tier: tests that build real network plumbing on this Linux machine.

The tier needs root, iproute2 with working ``ip netns``, nftables (``nft``) that can
talk to the kernel's nf_tables, ``haproxy``, ``ping`` and ``curl``.

Every test that needs one of these lives here, including the syntax checks of rendered
configurations by the real tools (``test_nft_syntax.py``, ``test_haproxy_syntax.py``):
``tests/unit`` must pass with no capabilities and neither ``nft`` nor ``haproxy`` on the
PATH (``make unit-unprivileged``). A test that needs none of them belongs in
``tests/unit`` instead, out of this tier's gate.

* Prerequisites are checked once per process. When something is missing:
  - with ``CI=true`` every twin test FAILS (CI must never pass silently without it);
  - otherwise every twin test is skipped with a reason naming what is missing and how
    to fix it.
  Either way the reason starts with ``NOT_RUN_TAG``; ``tests/conftest.py`` turns such
  reports into a loud banner in the terminal summary (it lives there so that it also
  works in the xdist controller, which never loads this file when it is not named on
  the command line).
* ``netns_prefix`` yields a unique prefix ``fa-<6 hex>-`` per test. Name everything the
  test creates with it: namespaces ``<prefix>a``, nft tables ``<prefix>drop``, and
  files whose path appears on a process command line. Interface names are limited to
  15 characters, so use the compact form ``<prefix>`` without dashes (``fa<6 hex>``,
  8 characters) plus a short suffix.
* After each test, and again at session end, anything still carrying a prefix
  (namespace, link or nft table in the root namespace, process whose command line
  mentions it, such as the twin's dnsmasq and task endpoint server; podman container
  whose name starts with it, in any state; cgroup ``<prefix without trailing dash>``
  in any hierarchy; ``/etc/netns/<prefix>...`` folder; twin state folder
  ``/run/fargate-api/<prefix>twin``) is removed and reported as a
  failure: tests must clean up themselves.
* Container-mode tests (marked ``twin_container``) also need podman and the test images
  (``make test-images``). When either is missing they are skipped at collection with a
  reason naming the fix (with ``CI=true`` they fail), while the process-mode tests run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fargate_api.twin.host import cgroups as host_cgroups
from fargate_api.twin.host.containers_conf import write_containers_conf

TWIN_DIR = Path(__file__).resolve().parent
CMD_TIMEOUT = 10.0
FIX_INSTALL = (
    "run `make install` as root "
    "(it installs haproxy nftables iproute2 iputils-ping curl openssl wrk)"
)
# Debian package that provides each command the tier uses.
REQUIRED_COMMANDS: dict[str, str] = {
    "ip": "iproute2",
    "nft": "nftables",
    "haproxy": "haproxy",
    "ping": "iputils-ping",
    "curl": "curl",
    "openssl": "openssl",
    "wrk": "wrk",
    "sysctl": "procps",
}

# The images the container-mode tests run, built by `make test-images`
# (tests/images/build_test_images.py); the nginx alias is what the templates name.
TEST_IMAGES = (
    "localhost/fa-test-busybox:latest",
    "localhost/fa-test-nginx:latest",
    "public.ecr.aws/docker/library/nginx:latest",
    "localhost/fa-test-python:3.11",
    "localhost/fa-test-example-api:latest",
)
CONTAINER_MARKER = "twin_container"
CGROUP_ROOT = Path("/sys/fs/cgroup")
NETNS_ETC = Path("/etc/netns")
TWIN_STATE_ROOT = Path("/run/fargate-api")  # `<prefix>twin`: a twin's state folder

# tests/conftest.py looks for this text in skip/error reports to print its banner.
NOT_RUN_TAG = "twin tier did not run"

# Every prefix handed out in this process, checked again at session end.
_PREFIXES: list[str] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _run(
    args: list[str], *, timeout: float = CMD_TIMEOUT, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command (never through a shell); a timeout becomes returncode 124."""
    try:
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {timeout}s")
    except OSError as exc:
        return subprocess.CompletedProcess(args, 127, "", str(exc))


def _compact(prefix: str) -> str:
    return prefix.replace("-", "")


def _new_prefix() -> str:
    return f"fa-{secrets.token_hex(3)}-"


# --------------------------------------------------------------------------------------
# Prerequisites
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prerequisites:
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str:
        return "; ".join(self.problems)


def _probe_kernel() -> str | None:
    """Create a throw-away namespace and talk to nf_tables inside it."""
    prefix = _new_prefix()
    _PREFIXES.append(prefix)
    ns = f"{prefix}probe"
    added = _run(["ip", "netns", "add", ns])
    if added.returncode != 0:
        return (
            f"`ip netns add` does not work here ({added.stderr.strip()}): network "
            "namespaces need root with CAP_SYS_ADMIN and a kernel/container that allows them"
        )
    try:
        exec_ok = _run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])
        if exec_ok.returncode != 0:
            return f"`ip netns exec` does not work here ({exec_ok.stderr.strip()})"
        nft_ok = _run(["ip", "netns", "exec", ns, "nft", "list", "tables"])
        if nft_ok.returncode != 0:
            return (
                f"`nft` cannot use the kernel's nf_tables ({nft_ok.stderr.strip()}): "
                "load it with `modprobe nf_tables` or use a kernel with nf_tables"
            )
    finally:
        _run(["ip", "netns", "del", ns])
    return None


@functools.cache
def twin_prerequisites() -> Prerequisites:
    problems: list[str] = []
    euid = os.geteuid()
    if euid != 0:
        problems.append(
            f"not running as root (euid={euid}): run the twin tier as root, e.g. `sudo make twin`"
        )
    absent = [
        f"`{cmd}` (Debian package {pkg})"
        for cmd, pkg in REQUIRED_COMMANDS.items()
        if shutil.which(cmd) is None
    ]
    if absent:
        problems.append(f"missing commands: {', '.join(absent)}: {FIX_INSTALL}")
    if not problems:
        haproxy = _run(["haproxy", "-v"])
        if haproxy.returncode != 0:
            problems.append(f"`haproxy -v` failed ({haproxy.stderr.strip()}): {FIX_INSTALL}")
        kernel_problem = _probe_kernel()
        if kernel_problem:
            problems.append(kernel_problem)
    return Prerequisites(tuple(problems))


@functools.cache
def container_prerequisites() -> Prerequisites:
    """What the container-mode tests need beyond the tier's own prerequisites."""
    if shutil.which("podman") is None:
        return Prerequisites(
            (
                "`podman` is not installed: container-mode tests need it "
                "(as root: apt-get install -y podman runc catatonit, then `make test-images`)",
            )
        )
    missing = [image for image in TEST_IMAGES if _podman("image", "exists", image).returncode != 0]
    if missing:
        return Prerequisites(
            (
                f"test images missing from podman's store: {', '.join(missing)}: "
                "build them with `make test-images` (as root)",
            )
        )
    return Prerequisites(())


# --------------------------------------------------------------------------------------
# Leak detection and cleanup
# --------------------------------------------------------------------------------------


def _namespaces_with(prefix: str) -> list[str]:
    out = _run(["ip", "netns", "list"]).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [name for name in names if name.startswith(prefix)]


def _links_with(prefix: str) -> list[str]:
    out = _run(["ip", "-o", "link", "show"]).stdout
    found: list[str] = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@", 1)[0]
        if name.startswith((prefix, _compact(prefix))):
            found.append(name)
    return found


def _tables_with(prefix: str) -> list[tuple[str, str]]:
    out = _run(["nft", "list", "tables"]).stdout
    found: list[tuple[str, str]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "table" and parts[2].startswith(prefix):
            found.append((parts[1], parts[2]))
    return found


def _pids_with(prefix: str) -> list[int]:
    """Processes whose command line mentions the prefix (e.g. a haproxy config path)."""
    needles = (prefix.encode(), _compact(prefix).encode())
    me = os.getpid()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(needle in cmdline for needle in needles):
            pids.append(int(entry.name))
    return pids


@functools.cache
def _podman_conf() -> Path | None:
    """The twin's containers.conf for the leak checks' podman calls (None: no podman)."""
    if shutil.which("podman") is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="twin-tests-podman-"))
    return write_containers_conf(folder / "containers.conf")


def _podman(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    conf = _podman_conf()
    if conf is None:
        return subprocess.CompletedProcess(["podman", *args], 127, "", "podman is not installed")
    try:
        return subprocess.run(
            ["podman", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "CONTAINERS_CONF": str(conf)},
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {timeout}s")


def _containers_with(prefix: str) -> list[str]:
    """Podman containers (any state) whose name starts with the prefix."""
    if _podman_conf() is None:
        return []
    out = _podman("ps", "--all", "--format", "{{.Names}}").stdout
    return sorted({n.strip() for n in out.splitlines() if n.strip().startswith(prefix)})


def _cgroups_with(prefix: str) -> list[Path]:
    """`<prefix without trailing dash>` (or anything starting with the prefix) at the top
    of every cgroup hierarchy: the root on v2, each controller's mount on v1."""
    roots = [CGROUP_ROOT]
    if not (CGROUP_ROOT / "cgroup.controllers").exists():
        try:
            roots = sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return []
    found: list[Path] = []
    for root in roots:
        try:
            entries = list(root.iterdir())
        except OSError:
            continue
        found += sorted(
            e
            for e in entries
            if e.is_dir() and (e.name == prefix.rstrip("-") or e.name.startswith(prefix))
        )
    return found


def _netns_etc_with(prefix: str) -> list[Path]:
    return _folders_with(NETNS_ETC, prefix)


def _folders_with(root: Path, prefix: str) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it if it is our own zombie child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _kill(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3.0
        while alive and time.monotonic() < deadline:
            alive = [pid for pid in alive if _alive(pid)]
            time.sleep(0.05)
        pids = alive
        if not pids:
            return


def leftovers(prefix: str) -> list[str]:
    """Describe everything still carrying ``prefix``."""
    found: list[str] = []
    for ns in _namespaces_with(prefix):
        found.append(f"netns {ns}")
        pids = _run(["ip", "netns", "pids", ns]).stdout.split()
        found += [f"process {pid} in netns {ns}" for pid in pids]
    found += [f"link {link}" for link in _links_with(prefix)]
    found += [f"nft table {fam} {name}" for fam, name in _tables_with(prefix)]
    found += [f"process {pid}" for pid in _pids_with(prefix)]
    found += [f"podman container {name}" for name in _containers_with(prefix)]
    found += [f"cgroup {path}" for path in _cgroups_with(prefix)]
    found += [f"folder {path}" for path in _netns_etc_with(prefix)]
    found += [f"twin state {path}" for path in _folders_with(TWIN_STATE_ROOT, prefix)]
    return found


def cleanup(prefix: str) -> list[str]:
    """Remove everything carrying ``prefix``; return what had been left over."""
    found = leftovers(prefix)
    if not found:
        return found
    containers = _containers_with(prefix)
    if containers:
        _podman("rm", "--force", "--ignore", "--volumes", "-t", "0", *containers)
    _kill(_pids_with(prefix))
    for ns in _namespaces_with(prefix):
        pids = _run(["ip", "netns", "pids", ns]).stdout.split()
        _kill([int(pid) for pid in pids if pid.isdigit()])
        _run(["ip", "netns", "del", ns])
    for link in _links_with(prefix):
        _run(["ip", "link", "del", link])
    for family, name in _tables_with(prefix):
        _run(["nft", "delete", "table", family, name])
    names = {path.name for path in _cgroups_with(prefix)}
    for name in sorted(names):
        with contextlib.suppress(host_cgroups.CgroupError, OSError):
            host_cgroups.remove_all(name, root=CGROUP_ROOT)
    for folder in [*_netns_etc_with(prefix), *_folders_with(TWIN_STATE_ROOT, prefix)]:
        shutil.rmtree(folder, ignore_errors=True)
    still = leftovers(prefix)
    if still:
        found.append(f"COULD NOT REMOVE: {', '.join(still)}")
    return found


# --------------------------------------------------------------------------------------
# Hooks and fixtures
# --------------------------------------------------------------------------------------


def _is_twin_path(path: Path) -> bool:
    return path.resolve().is_relative_to(TWIN_DIR)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{CONTAINER_MARKER}: runs the twin in container mode (podman and the test images)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_twin_path(item.path):
            item.add_marker(pytest.mark.twin)
    container_items = [
        item
        for item in items
        if _is_twin_path(item.path) and item.get_closest_marker(CONTAINER_MARKER) is not None
    ]
    # Only when the tier itself can run: otherwise its own banner says why.
    if not container_items or not twin_prerequisites().ok or in_ci():
        return
    prereq = container_prerequisites()
    if not prereq.ok:
        skip = pytest.mark.skip(reason=f"{NOT_RUN_TAG} in container mode: {prereq.reason}")
        for item in container_items:
            item.add_marker(skip)


def require_container_mode() -> None:
    """Skips (fails with CI=true) unless podman and the test images are here; for the
    fixtures of container-mode tests, which may run before the autouse gate below."""
    prereq = container_prerequisites()
    if prereq.ok:
        return
    if in_ci():
        pytest.fail(
            f"{NOT_RUN_TAG} in container mode (CI=true, so this FAILS): {prereq.reason}",
            pytrace=False,
        )
    pytest.skip(f"{NOT_RUN_TAG} in container mode: {prereq.reason}")


@pytest.fixture(autouse=True)
def _container_mode_gate(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker(CONTAINER_MARKER) is not None:
        require_container_mode()


@pytest.fixture(scope="session", autouse=True)
def _twin_tier() -> Iterator[None]:
    """Gate the whole tier on its prerequisites; check for leaks at session end."""
    prereq = twin_prerequisites()
    if not prereq.ok:
        if in_ci():
            pytest.fail(f"{NOT_RUN_TAG} (CI=true, so this FAILS): {prereq.reason}", pytrace=False)
        pytest.skip(f"{NOT_RUN_TAG}: {prereq.reason}")
    yield
    leaked: list[str] = []
    for prefix in _PREFIXES:
        leaked += cleanup(prefix)
    if leaked:
        pytest.fail("twin tier leaked resources (now removed): " + "; ".join(leaked), pytrace=False)


def registered_prefix() -> str:
    """A fresh prefix, checked for leaks at session end: for module-scoped fixtures."""
    prefix = _new_prefix()
    while leftovers(prefix):
        prefix = _new_prefix()
    _PREFIXES.append(prefix)
    return prefix


@pytest.fixture
def netns_prefix() -> Iterator[str]:
    """A unique ``fa-<6 hex>-`` prefix; anything left carrying it after the test fails it."""
    prefix = _new_prefix()
    while leftovers(prefix):  # astronomically unlikely, but never share a prefix
        prefix = _new_prefix()
    _PREFIXES.append(prefix)
    yield prefix
    _let_exiting_processes_go(prefix)
    leaked = cleanup(prefix)
    if leaked:
        pytest.fail(
            f"test leaked resources with prefix {prefix!r} (now removed): " + "; ".join(leaked),
            pytrace=False,
        )


EXIT_GRACE = 3.0


def _let_exiting_processes_go(prefix: str) -> None:
    """Gives processes of the test a moment to finish exiting (a container's conmon
    outlives `podman rm` by a few milliseconds, more on a loaded machine): one still
    there after EXIT_GRACE seconds is a leak, reported by the caller."""
    deadline = time.monotonic() + EXIT_GRACE
    while _pids_with(prefix) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def twin_name() -> Iterator[tuple[str, str]]:
    """A twin name of this test's own prefix, and the prefix; the twin is brought down and
    everything with the prefix is checked gone afterwards, pass or fail."""
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    try:
        yield name, prefix
    finally:
        subprocess.run(
            [sys.executable, "-m", "fargate_api", "local", "down", "--name", name],
            capture_output=True,
            timeout=300,
            check=False,
        )
        left = cleanup(prefix)
        assert not left, left
