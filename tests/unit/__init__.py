"""Unit tier: pure, fast tests of the config model, the loader and the synthesized dicts."""
