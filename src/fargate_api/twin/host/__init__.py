"""This machine: the one place that runs `ip`, `nft` and `sysctl`, and the twin's processes."""
