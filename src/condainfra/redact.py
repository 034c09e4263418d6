"""The one secret scrubber: compiled secret markers and Pulumi's secret values, replaced wherever they
sit in a structure, before a value is shown, compared or recorded."""

from __future__ import annotations

from typing import Any

from .compiler.resources import SECRET

# Pulumi's wire and state form of a secret: {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ...}
PULUMI_SIG_KEY = "4dabf18193072939515e22adb298388d"
PULUMI_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: dict) -> bool:
    return SECRET in value or value.get(PULUMI_SIG_KEY) == PULUMI_SECRET_SIG


def redact(value: Any, replacement: Any) -> Any:
    """``value`` with every secret replaced by ``replacement``."""
    if isinstance(value, dict):
        if is_secret(value):
            return replacement
        return {k: redact(v, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, replacement) for v in value]
    return value
