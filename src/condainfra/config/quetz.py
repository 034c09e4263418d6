"""Quetz's ``config.toml``, one renderer for the local deployment and the cloud one.
Pure: it imports nothing of Quetz, so the offline plan can render the cloud config. It sits in config/,
below both the compiler (the cloud deployment's config) and the dashboard plugin (the local one)."""

from __future__ import annotations

from typing import Any

import tomli_w

PLUGIN_SECTION = "condainfra_dashboard"

# The deployed container's secrets, as ECS passes them from Secrets Manager: environment variable ->
# (section, key) of config.toml, where the container's start writes them. None is named QUETZ_...:
# Quetz reads a QUETZ_<SECTION>_<KEY> variable as the WHOLE [section], dropping the file's other keys
# of that section (QUETZ_GITHUB_CLIENT_SECRET alone loses github.client_id).
SESSION_SECRET_ENV, GITHUB_CLIENT_SECRET_ENV = "SESSION_SECRET", "GITHUB_CLIENT_SECRET"
SECRET_ENV = {SESSION_SECRET_ENV: ("session", "secret"), GITHUB_CLIENT_SECRET_ENV: ("github", "client_secret")}
# the optional GitHub API token: passed on to Quetz's processes as it is (the refresh and sync-users read it)
GITHUB_TOKEN_ENV = "GITHUB_TOKEN"
# the database's address and credentials; the start builds sqlalchemy.database_url from them
DATABASE_ENV = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER")
DATABASE_PASSWORD_ENV = "DB_PASSWORD"
# the rendered config.toml (no secrets), a plain environment variable of the task
CONFIG_ENV = "CONDAINFRA_QUETZ_CONFIG"


def render(sections: dict[str, dict[str, Any]], header: str = "") -> str:
    """``sections`` as TOML (values escaped by tomli-w); empty values are left out."""
    clean = {name: {k: v for k, v in values.items() if v not in ("", None)} for name, values in sections.items()}
    text = tomli_w.dumps({name: values for name, values in clean.items() if values})
    return (f"# {header}\n" if header else "") + text
