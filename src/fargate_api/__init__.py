"""fargate-api: a public API on AWS Fargate from one small config file."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fargate-api")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
