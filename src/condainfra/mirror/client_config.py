"""The client-side configuration that routes channels to the OCI mirror (pixi and rattler read `[mirrors]`)."""

from __future__ import annotations

from ..config.mirror import MirrorConfig
from .registry import OciTarget


def read_paths(cfg: MirrorConfig) -> list[str]:
    """Every read path the mirror stack declares, in its priority order."""
    urls = {}
    if cfg.read.ghcr is not None:
        urls["ghcr"] = f"oci://ghcr.io/{cfg.read.ghcr.org.lower()}/{cfg.registry_prefix}"
    if cfg.read.registry is not None:
        urls["registry"] = f"oci://{cfg.read.registry.domain}/{cfg.registry_prefix}"
    return [urls[name] for name in cfg.read.order]


def mirrors_toml(targets: OciTarget | list[OciTarget], channels: list[str], upstream: str) -> str:
    targets = targets if isinstance(targets, list) else [targets]
    lines = [
        "# pixi: ~/.pixi/config.toml or the project's .pixi/config.toml; rattler: the same [mirrors] table.",
        "# Requests for each channel go to the mirrors in this order, then upstream.",
        "[mirrors]",
    ]
    base = upstream.rstrip("/")
    for channel in channels:
        listed = [f'"oci://{t.host}/{t.prefix}/{channel}"' for t in targets]
        lines.append(f'"{base}/{channel}" = [{", ".join(listed)}, "{base}/{channel}"]')
    return "\n".join(lines) + "\n"
