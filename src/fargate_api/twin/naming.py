"""Names of everything a twin creates, all derived from the twin's name.

Every namespace, link, nftables table, file and process of a twin carries its prefix
(`fa-<name>-`), so that `local down` (and a test's leak check) can find all of it even
when the state file is gone. Interface names are limited to 15 characters by the
kernel, so links use a short tag (`fa` + 4 hex digits of the name's hash) instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from fargate_api.errors import UserError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
ROLE_PATTERN = re.compile(r"^(vpc|igw|inet|nat\d+|lb\d+n\d+|t-[0-9a-f]{32})$")
STATE_ROOT = Path("/run/fargate-api")
DEFAULT_NAME = "default"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"twin name {name!r} is not allowed",
            fix="use 1-20 characters: lower-case letters, digits and dashes, starting "
            "with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class TwinNames:
    name: str
    state_root: Path = STATE_ROOT

    @classmethod
    def from_state_dir(cls, path: Path) -> TwinNames:
        name = path.name.removeprefix("fa-").removesuffix("-twin")
        return cls(check_name(name), state_root=path.parent)

    @property
    def prefix(self) -> str:
        return f"fa-{self.name}-"

    @property
    def tag(self) -> str:
        return "fa" + hashlib.sha1(self.name.encode()).hexdigest()[:4]

    def netns(self, role: str) -> str:
        return f"{self.prefix}{role}"

    @property
    def router(self) -> str:
        return self.netns("vpc")

    @property
    def internet_gateway(self) -> str:
        return self.netns("igw")

    @property
    def internet(self) -> str:
        return self.netns("inet")

    def nat_gateway(self, index: int) -> str:
        return self.netns(f"nat{index}")

    def load_balancer_node(self, lb_index: int, node_index: int) -> str:
        return self.netns(f"lb{lb_index}n{node_index}")

    def task(self, task_id: str) -> str:
        return self.netns(f"t-{task_id}")

    def link(self, role: str) -> str:
        name = f"{self.tag}{role}"
        if len(name) > 15:
            raise ValueError(f"interface name {name!r} is longer than 15 characters")
        return name

    def bridge(self, subnet_index: int) -> str:
        return self.link(f"b{subnet_index}")

    @property
    def eni(self) -> str:
        """The ENI's interface inside its own namespace (one per namespace)."""
        return self.link("eni")

    def table(self, role: str) -> str:
        return f"{self.prefix}{role}"

    @property
    def state_dir(self) -> Path:
        return self.state_root / f"{self.prefix}twin"

    def owns_netns(self, netns: str) -> bool:
        """Exact roles only: twin "a" must never claim twin "a-b"'s namespaces."""
        role = netns.removeprefix(self.prefix)
        return role != netns and ROLE_PATTERN.match(role) is not None
