"""What the twin needs from this machine, checked before anything is built."""

from __future__ import annotations

import os

from fargate_api.errors import UserError
from fargate_api.twin.host.kernel import missing_commands

# command -> Debian package
REQUIRED = {
    "ip": "iproute2",
    "nft": "nftables",
    "haproxy": "haproxy",
    "sysctl": "procps",
    "dnsmasq": "dnsmasq-base",  # the VPC's DNS resolver
}


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise UserError(
            "the local twin needs root: it creates network namespaces, links and nftables rules",
            fix="run it as root, e.g. `sudo fargate-api local up` (or `sudo make demo`)",
        )
    missing = missing_commands(list(REQUIRED))
    if missing:
        packages = " ".join(sorted({REQUIRED[c] for c in missing}))
        raise UserError(
            f"the local twin needs {', '.join(f'`{c}`' for c in missing)}, not found on PATH",
            fix=f"install them: `apt-get install -y {packages}` "
            "(`make install` and `make demo` do it)",
        )
