"""Errors shared by the app's edges (configuration and registry)."""

from __future__ import annotations


class FairReplyError(Exception):
    """Base class for configuration errors an operator must fix."""


class ConfigError(FairReplyError):
    """An environment variable holds a value the app cannot use."""


class RegistryError(FairReplyError):
    """``companies.toml`` is missing or invalid; the message names the file, the company and the field."""
