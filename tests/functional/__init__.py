"""Functional tier: the CLI and its templates, tested from the outside."""
