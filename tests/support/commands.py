"""Finding the external programs a test needs, or failing (never skipping) with the
Debian package that provides them: scripts/install-system-deps.sh installs them all."""

from __future__ import annotations

import shutil

import pytest

PACKAGE_OF = {
    "podman": "podman",
    "docker-registry": "docker-registry",
    "skopeo": "skopeo",
    "mmdebstrap": "mmdebstrap",
    "busybox": "busybox-static",
    "git": "git",
}


def require_commands(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        packages = " ".join(PACKAGE_OF.get(name, name) for name in missing)
        pytest.fail(
            f"missing command(s): {', '.join(missing)}; run `make install` as root "
            f"(it installs the Debian packages: {packages})",
            pytrace=False,
        )
