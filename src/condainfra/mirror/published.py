"""What the mirror has published for a subdir: its ``repodata.json:latest`` manifest and document."""

from __future__ import annotations

from typing import Any

import orjson
import zstandard

from . import layout
from .publish import layer
from .records import Lean, RepodataError, lean_entries, mirror_files
from .registry import Registry, RegistryError

MAX_REPODATA_BYTES = 2 << 30  # the mirror's own copy of upstream's largest (~250 MB), with room to grow


async def mirror_manifest(registry: Registry, prefix: str, channel: str, subdir: str) -> dict[str, Any] | None:
    repo = layout.repodata_repository(prefix, channel, subdir)
    raw = await registry.get_manifest(repo, "latest")
    if raw is None:
        return None
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RegistryError(f"{repo}:latest: the manifest is not JSON") from None
    if not isinstance(manifest, dict):
        raise RegistryError(f"{repo}:latest: the manifest is not an object")
    return manifest


async def read_document(registry: Registry, prefix: str, channel: str, subdir: str, manifest: dict[str, Any] | None = None) -> bytes | None:
    """The subdir's repodata as last published: one manifest and one blob (the .zst one, a tenth the size)."""
    repo = layout.repodata_repository(prefix, channel, subdir)
    if manifest is None:
        manifest = await mirror_manifest(registry, prefix, channel, subdir)
        if manifest is None:
            return None
    entry = layer(manifest, layout.REPODATA_ZST) or layer(manifest, layout.REPODATA_JSON)
    if entry is None:
        raise RegistryError(f"{repo}:latest has no repodata layer")
    blob = await registry.get_blob(repo, entry["digest"])
    if blob is None:
        raise RegistryError(f"{repo}:latest points at a missing blob {entry['digest']}")
    if entry["mediaType"] == layout.REPODATA_ZST:
        try:
            blob = zstandard.ZstdDecompressor().stream_reader(blob).read(MAX_REPODATA_BYTES + 1)
        except zstandard.ZstdError as exc:
            raise RegistryError(f"{repo}:latest: the repodata is not valid zstd ({exc})") from None
    if len(blob) > MAX_REPODATA_BYTES:
        raise RegistryError(f"{repo}:latest: the repodata is larger than {MAX_REPODATA_BYTES >> 20} MiB")
    return blob


async def mirror_have(registry: Registry, prefix: str, channel: str, subdir: str, manifest: dict[str, Any] | None) -> dict[str, bytes]:
    """file name -> sha256 of every file the mirror lists (empty before the first publication)."""
    if manifest is None:
        return {}
    document = await read_document(registry, prefix, channel, subdir, manifest)
    try:
        return mirror_files(document, f"{layout.repodata_repository(prefix, channel, subdir)}:latest") if document else {}
    except RepodataError as exc:
        raise RegistryError(str(exc)) from None


async def mirror_entries(registry: Registry, prefix: str, channel: str, subdir: str, manifest: dict[str, Any] | None = None) -> dict[str, Lean | None] | None:
    """file name -> lean record (None when the entry has none) of the published repodata; None without one."""
    document = await read_document(registry, prefix, channel, subdir, manifest)
    if document is None:
        return None
    try:
        return lean_entries(document, f"{layout.repodata_repository(prefix, channel, subdir)}:latest")
    except RepodataError as exc:
        raise RegistryError(str(exc)) from None
