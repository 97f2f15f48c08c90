"""One error hierarchy, split by what the caller must do."""

from __future__ import annotations


class OutreachError(Exception):
    """Root of every error outreachd raises on purpose."""


class ConfigError(OutreachError):
    """The configuration, a rule pack or a scenario file is invalid; fix the file."""
