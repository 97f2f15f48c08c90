"""Secrets come from systemd credentials or the environment, never from the YAML or the logs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from outreachd.errors import ConfigError


def secret(credential: str, env_var: str, env: Mapping[str, str] | None = None) -> str:
    """$CREDENTIALS_DIRECTORY/<credential> (systemd LoadCredential=) if present, else the
    environment variable `env_var`; ConfigError naming both places (never the value) if
    neither holds one."""
    env = os.environ if env is None else env
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / credential
        if path.is_file():
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
            if value:
                return value
    value = env.get(env_var, "")
    if value:
        return value
    raise ConfigError(
        f"secret not found: no systemd credential {credential!r} "
        f"($CREDENTIALS_DIRECTORY/{credential}) and ${env_var} is unset or empty"
    )
