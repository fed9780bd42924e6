"""Fixtures shared across test tiers that start real things (a registry, base images).

Imported as `support.<module>` (pytest puts tests/ on sys.path, as it does for
`unit.support` and `functional.support`); a tier's conftest imports the fixtures it
wants, which registers them there.
"""
