"""Quetz's ``config.toml``, one renderer for the local deployment and the cloud one.
Pure: it imports nothing of Quetz, so the offline plan can render the cloud config."""

from __future__ import annotations

from typing import Any

import tomli_w

PLUGIN_SECTION = "condainfra_dashboard"


def render(sections: dict[str, dict[str, Any]], header: str = "") -> str:
    """``sections`` as TOML (values escaped by tomli-w); empty values are left out."""
    clean = {name: {k: v for k, v in values.items() if v not in ("", None)} for name, values in sections.items()}
    text = tomli_w.dumps({name: values for name, values in clean.items() if values})
    return (f"# {header}\n" if header else "") + text
