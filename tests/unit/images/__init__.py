"""Unit tests of fargate_api.images: everything but running a real container CLI."""
