"""Image tests need root's podman (CI runs this tier as root), docker-registry, skopeo and
busybox-static; a missing one FAILS the test with the package to install. Every image
and container they make is named `fa13-test-<run>-...` and removed at session end
(support/base_images.py); registries are stopped at each test's end."""

from __future__ import annotations

from support.base_images import busybox_arm64_base, busybox_base, image_run
from support.registry import auth_registry, loopback_registry

__all__ = [
    "auth_registry",
    "busybox_arm64_base",
    "busybox_base",
    "image_run",
    "loopback_registry",
]
