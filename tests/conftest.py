"""Shared pytest configuration: registers the fixtures of :mod:`validation.testing`."""

from validation.testing import isolated_registry, validation_run  # noqa: F401  (fixture registration)
