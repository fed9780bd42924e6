"""Can this machine build for a platform: its own CPU, or another one through QEMU's
user-mode emulation registered with the kernel (binfmt_misc).

Building linux/arm64 on an amd64 machine runs every RUN step's arm64 binaries; without a
binfmt handler they fail with a bare "exec format error" halfway through the build.
Reading /proc/sys/fs/binfmt_misc first names the missing package instead. Handlers are
matched by the ELF machine field in their magic, not by their file name, so any
registration (Debian's qemu-user-static, tonistiigi/binfmt, ...) counts.
"""

from __future__ import annotations

import platform as host_platform
from pathlib import Path

from fargate_api.errors import UserError

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# platform.machine() spellings -> image architectures.
_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The ELF header's e_machine, as it ends a binfmt magic string (little-endian hex).
_ELF_MACHINE = {"amd64": "3e00", "arm64": "b700"}
_ELF64_PREFIX = "7f454c4602"
# Debian's qemu-user-static names its handlers after QEMU's CPU names.
QEMU_HANDLER = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}
PACKAGES = "qemu-user-static binfmt-support"


def host_architecture(machine: str | None = None) -> str:
    """This machine's CPU as an image architecture ("amd64", "arm64"), or the raw name."""
    raw = (machine or host_platform.machine()).lower()
    return _MACHINES.get(raw, raw)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def binfmt_mounted(binfmt_dir: Path = BINFMT_DIR) -> bool:
    return (binfmt_dir / "status").is_file()


def emulated(architecture: str, binfmt_dir: Path = BINFMT_DIR) -> bool:
    """Whether an enabled binfmt_misc handler runs 64-bit ELF binaries of `architecture`."""
    machine = _ELF_MACHINE.get(architecture)
    if machine is None or _read(binfmt_dir / "status").strip() != "enabled":
        return False
    try:
        entries = sorted(binfmt_dir.iterdir())
    except OSError:
        return False
    for entry in entries:
        if entry.name in ("status", "register"):
            continue
        lines = _read(entry).splitlines()
        if not lines or lines[0].strip() != "enabled":
            continue
        for line in lines:
            key, _, value = line.partition(" ")
            magic = value.strip().lower()
            if key == "magic" and magic.startswith(_ELF64_PREFIX) and magic.endswith(machine):
                return True
    return False


def emulation_problem(
    platform: str, *, machine: str | None = None, binfmt_dir: Path = BINFMT_DIR
) -> UserError | None:
    """Why this machine cannot build for `platform` ("linux/arm64"), or None when it can."""
    wanted = platform.rpartition("/")[2]
    if wanted == host_architecture(machine) or emulated(wanted, binfmt_dir):
        return None
    handler = QEMU_HANDLER.get(wanted, f"qemu-{wanted}")
    steps = [f"apt-get install {PACKAGES}", f"update-binfmts --enable {handler}"]
    if not binfmt_mounted(binfmt_dir):
        steps.insert(1, f"mount -t binfmt_misc binfmt_misc {binfmt_dir}")
    return UserError(
        f"this machine ({host_architecture(machine)}) cannot run {wanted} binaries, so it "
        f"cannot build for {platform}: no QEMU emulation is registered in {binfmt_dir}",
        where=f"platform {platform}",
        fix="as root: " + "; ".join(steps) + " (Debian/Ubuntu). Or build for this "
        "machine's CPU with `platform` in [service.build]",
    )
