"""The client-side configuration that routes channels to the OCI mirror (pixi and rattler read `[mirrors]`)."""

from __future__ import annotations

from .registry import OciTarget


def mirrors_toml(target: OciTarget, channels: list[str], upstream: str) -> str:
    lines = [
        "# pixi: ~/.pixi/config.toml or the project's .pixi/config.toml; rattler: the same [mirrors] table.",
        "# Requests for each channel go to the OCI mirror first, then upstream.",
        "[mirrors]",
    ]
    for channel in channels:
        oci = f"oci://{target.host}/{target.prefix}/{channel}"
        lines.append(f'"{upstream.rstrip("/")}/{channel}" = ["{oci}", "{upstream.rstrip("/")}/{channel}"]')
    return "\n".join(lines) + "\n"
