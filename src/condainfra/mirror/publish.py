"""Publishing a subdir: its repodata (json and zst) and its CEP-16 shards, listing only what is in place.

Written last, and in this order: the changed shards (shards.py says where),
then one ``repodata.json:latest`` manifest whose layers are the document, its zst, the shard index and
the map that says which shards changed. The document is streamed to disk as it is written, upstream's
records byte for byte, so publishing holds no second copy of it in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import zstandard

from . import layout, shards
from .records import PACKAGE_KEYS, Repodata, name_of
from .registry import Registry, RegistryError
from .run import Run
from .push import push_config

SOURCES_FILE = "shard-sources.msgpack.zst"


def annotations(manifest: dict[str, Any] | None) -> dict[str, str]:
    return (manifest or {}).get("annotations") or {}


def layer(manifest: dict[str, Any] | None, media_type: str) -> dict | None:
    for entry in (manifest or {}).get("layers") or []:
        if isinstance(entry, dict) and entry.get("mediaType") == media_type:
            return entry
    return None


async def read_layer(registry: Registry, repo: str, manifest: dict[str, Any], media_type: str) -> bytes | None:
    entry = layer(manifest, media_type)
    if entry is None:
        return None
    blob = await registry.get_blob(repo, entry["digest"])
    if blob is None:
        raise RegistryError(f"{repo}:latest points at a missing blob {entry['digest']}")
    return blob


class _Writer:
    """A file written and hashed as it goes."""

    def __init__(self, out: BinaryIO):
        self.out, self.hash, self.size = out, hashlib.sha256(), 0

    def write(self, data) -> None:
        self.out.write(data)
        self.hash.update(data)
        self.size += len(data)


def write_repodata(out: _Writer, upstream: Repodata, done: set[str]) -> shards.SourceDigests:
    """Upstream's document restricted to ``done``: keys sorted, records as upstream wrote them."""
    digests = shards.SourceDigests()
    out.write(b"{")
    for i, key in enumerate(sorted(set(upstream.top) | set(PACKAGE_KEYS))):
        out.write(b"," if i else b"")
        out.write(orjson.dumps(key) + b":")
        if key not in PACKAGE_KEYS:
            out.write(upstream.top[key])
            continue
        out.write(b"{")
        first = True
        records = upstream.records[key]
        for filename in sorted(records):
            if filename not in done:
                continue
            raw = records[filename]
            out.write(orjson.dumps(filename) + b":" if first else b"," + orjson.dumps(filename) + b":")
            out.write(raw)
            digests.add(name_of(filename), filename, raw)
            first = False
        out.write(b"}")
    out.write(b"}")
    return digests


async def publish(run: Run, subdir: str, upstream: Repodata, done: set[str], manifest: dict | None, provenance: dict[str, str]) -> None:
    """Repodata last, and only what is in place: upstream's own entries, restricted to mirrored files."""
    registry, repo = run.registry, layout.repodata_repository(run.prefix, run.channel, subdir)
    previous = annotations(manifest)
    with tempfile.TemporaryDirectory(dir=run.workdir) as tmp:
        json_path, zst_path = Path(tmp) / "repodata.json", Path(tmp) / "repodata.json.zst"
        with open(json_path, "wb") as handle:
            writer = _Writer(handle)
            digests = (await asyncio.to_thread(write_repodata, writer, upstream, done)).result()
        json_blob = layout.Blob("sha256:" + writer.hash.hexdigest(), writer.size, layout.REPODATA_JSON, {layout.TITLE: "repodata.json"})
        old_json = layer(manifest, layout.REPODATA_JSON)
        old_sources = await _old_sources(registry, repo, manifest)
        if old_json and old_json.get("digest") == json_blob.digest and old_sources == digests and layer(manifest, shards.INDEX_MEDIA_TYPE):
            if any(previous.get(k) != v for k, v in provenance.items()):
                # same content, new provenance: re-tag `latest` with the same layers, one request
                body = layout.manifest_from(manifest, {**previous, **provenance})
                await registry.put_manifest(repo, "latest", body)
            return
        index = await _write_shards(run, subdir, upstream, done, digests, old_sources, manifest, repo)
        await asyncio.to_thread(_compress_file, json_path, zst_path)
        zst_blob = layout.Blob(_file_digest(zst_path), zst_path.stat().st_size, layout.REPODATA_ZST, {layout.TITLE: "repodata.json.zst"})
        await registry.push_blob(repo, json_blob.digest, json_blob.size, path=json_path)
        await registry.push_blob(repo, zst_blob.digest, zst_blob.size, path=zst_path)
    extra = []
    for data, media_type, title in ((index, shards.INDEX_MEDIA_TYPE, shards.INDEX_FILE), (shards.sources(digests), shards.SOURCES_MEDIA_TYPE, SOURCES_FILE)):
        blob = layout.Blob(layout.sha256_digest(data), len(data), media_type, {layout.TITLE: title})
        await registry.push_blob(repo, blob.digest, blob.size, data=data)
        extra.append(blob)
    await push_config(registry, repo)
    stamp = time.strftime("%Y.%m.%d.%H.%M.%S", time.gmtime())
    created = {"org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    body = layout.manifest([json_blob, zst_blob, *extra], {**created, **provenance})
    await registry.put_manifest(repo, stamp, body)
    await registry.put_manifest(repo, "latest", body)
    run.report.repodata_pushed.append(subdir)


def _compress_file(source: Path, dest: Path) -> None:
    # level 16 on all cores: conda-forge's linux-64 repodata (~250 MB) compresses in seconds
    with open(source, "rb") as src, open(dest, "wb") as out:
        zstandard.ZstdCompressor(level=16, threads=-1).copy_stream(src, out)


def _file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


async def _old_sources(registry: Registry, repo: str, manifest: dict | None) -> dict[str, bytes]:
    if manifest is None:
        return {}
    try:
        data = await read_layer(registry, repo, manifest, shards.SOURCES_MEDIA_TYPE)
        return shards.read_sources(data) if data else {}
    except (RegistryError, shards.ShardError, ValueError):
        return {}  # written again in full


async def _old_index(registry: Registry, repo: str, manifest: dict | None) -> dict[str, bytes]:
    if manifest is None:
        return {}
    try:
        data = await read_layer(registry, repo, manifest, shards.INDEX_MEDIA_TYPE)
        return shards.read_index(data) if data else {}
    except (RegistryError, shards.ShardError, ValueError):
        return {}


async def _write_shards(run: Run, subdir: str, upstream: Repodata, done: set[str], digests: dict[str, bytes], old_sources: dict[str, bytes], manifest, repo: str) -> bytes:
    """The shard index; the shards of names whose records changed are written first."""
    old_index = await _old_index(run.registry, repo, manifest)
    kept = {name: old_index[name] for name, d in digests.items() if old_sources.get(name) == d and name in old_index}
    changed = {name for name in digests if name not in kept}
    files: dict[str, list[tuple[str, bytes]]] = {name: [] for name in changed}
    for _, filename, raw in upstream.items():
        if filename in done:
            name = name_of(filename)
            if name in files:
                files[name].append((filename, bytes(raw)))
    gate = asyncio.Semaphore(max(1, run.options.jobs))
    written: dict[str, bytes] = {}
    where = f"{run.source.shown.rstrip('/')}/{subdir}"

    async def one(name: str) -> None:
        try:
            data = shards.shard(files[name], where)
        except shards.ShardError as exc:
            run.report.rejected.append((f"{subdir}/shards/{layout.shown(name)}", str(exc)))
            return
        async with gate:
            blob = layout.Blob(layout.sha256_digest(data), len(data), shards.SHARD_MEDIA_TYPE, {layout.TITLE: f"{name}.msgpack.zst"})
            # a changed shard is new content (its digest names it): no existence check, one upload
            await run.registry.push_blob(shards_repo, blob.digest, blob.size, data=data, new_repository=True)
            await run.registry.put_manifest(shards_repo, layout.shard_tag(name), layout.manifest([blob]))
        written[name] = shards.digest(data)

    shards_repo = layout.shards_repository(run.prefix, run.channel, subdir)
    if changed:
        # once, before the shards: the registry's filesystem storage rewrites a blob's link in a repository
        # on every upload or mount of it, and a manifest checked meanwhile reads an empty link
        await push_config(run.registry, shards_repo)
    await asyncio.gather(*(one(name) for name in sorted(changed)))
    run.report.shards_written += len(written)
    return shards.index(subdir, {**kept, **written})
