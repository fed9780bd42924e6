"""fargate-api: a public API on AWS Fargate from one small config file."""

from __future__ import annotations

# Looked up on first use (module __getattr__, PEP 562), not at import: importlib.metadata
# reads the installed distribution's metadata, which only `--version` and a few back-ends
# need, and every command (`fargate-api synth` first) would pay for it at start-up.
__version__: str


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        found = version("fargate-api")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0"
    globals()["__version__"] = found
    return found
