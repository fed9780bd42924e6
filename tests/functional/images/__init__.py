"""Functional tests of fargate_api.images: real podman builds, a real registry on loopback."""
