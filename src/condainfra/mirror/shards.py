"""CEP-16 sharded repodata, in the formats rattler and pixi read (checked against py-rattler's own index).

* the index, ``<subdir>/repodata_shards.msgpack.zst``: zstd of msgpack ``{"info": {"subdir", "base_url",
  "shards_base_url", "created_at"}, "shards": {name: sha256 (32 bytes)}}``;
* one shard per package name, ``<subdir>/shards/<sha256 hex>.msgpack.zst``: zstd of msgpack
  ``{"packages": {...}, "packages.conda": {...}, "removed": []}``, the records as in repodata.json except
  that ``sha256`` and ``md5`` are raw bytes; its name is the sha256 of the compressed file.

In the mirror the index is a layer of the subdir's ``repodata.json:latest`` manifest (media type
INDEX_MEDIA_TYPE), and each shard a blob of the repository ``<subdir>/repodata.json/shards``, the one layer
of the tag named after its package: the layout py-rattler's oci:// client reads (it asks that repository
for ``blobs/sha256:<shard>``). Beside the index a small map name -> digest of the name's raw records
says which shards changed since the last publication: only those are written again.
"""

from __future__ import annotations

import hashlib
import time
from typing import Iterable

import msgpack
import zstandard

from ..jsondoc import JsonDocumentError, loads
from .records import SHA256, key_of

INDEX_FILE = "repodata_shards.msgpack.zst"
INDEX_MEDIA_TYPE = "application/vnd.conda.repodata.shards.v1+msgpack+zst"
SHARD_MEDIA_TYPE = "application/vnd.conda.repodata.shard.v1+msgpack+zst"
SOURCES_MEDIA_TYPE = "application/vnd.condainfra.shard-sources.v1+msgpack+zst"
SHARDS_BASE_URL = "./shards/"
MAX_INDEX_BYTES = 64 << 20  # conda-forge's largest index is ~2 MB
LEVEL = 19


class ShardError(Exception):
    """A record that cannot go into a shard (nested too deep, a number msgpack cannot hold)."""


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL).compress(data)


def decompress(data: bytes, limit: int = MAX_INDEX_BYTES) -> bytes:
    """zstd, at most ``limit`` bytes out (the frames we read need not state their size)."""
    out = zstandard.ZstdDecompressor().stream_reader(data).read(limit + 1)
    if len(out) > limit:
        raise ShardError(f"more than {limit} bytes once decompressed")
    return out


def shard(records: Iterable[tuple[str, bytes]], where: str) -> bytes:
    """The compressed shard of one package name from its (filename, raw JSON record) pairs."""
    doc: dict = {"packages": {}, "packages.conda": {}, "removed": []}
    for filename, raw in sorted(records):
        try:
            record = loads(bytes(raw), f"{where}/{filename}")
        except JsonDocumentError as exc:
            raise ShardError(str(exc)) from None
        for key in ("sha256", "md5"):
            value = record.get(key)
            if isinstance(value, str) and (SHA256.fullmatch(value) if key == "sha256" else len(value) == 32):
                try:
                    record[key] = bytes.fromhex(value)
                except ValueError:
                    pass
        doc[key_of(filename)][filename] = record
    try:
        return compress(msgpack.packb(doc, use_bin_type=True))
    except (OverflowError, ValueError, TypeError) as exc:
        raise ShardError(f"{where}: a record msgpack cannot hold ({exc})") from None


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def index(subdir: str, shards: dict[str, bytes]) -> bytes:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    doc = {
        "info": {"subdir": subdir, "base_url": "", "shards_base_url": SHARDS_BASE_URL, "created_at": created},
        "shards": dict(sorted(shards.items())),
    }
    return compress(msgpack.packb(doc, use_bin_type=True))


def read_index(data: bytes) -> dict[str, bytes]:
    """name -> sha256 of a shard index; entries that are not a name and 32 bytes are left out."""
    doc = msgpack.unpackb(decompress(data), raw=False, strict_map_key=False)
    shards = doc.get("shards") if isinstance(doc, dict) else None
    if not isinstance(shards, dict):
        raise ShardError("a shard index without 'shards'")
    return {k: v for k, v in shards.items() if isinstance(k, str) and isinstance(v, bytes) and len(v) == 32}


def sources(digests: dict[str, bytes]) -> bytes:
    return compress(msgpack.packb(dict(sorted(digests.items())), use_bin_type=True))


def read_sources(data: bytes) -> dict[str, bytes]:
    doc = msgpack.unpackb(decompress(data), raw=False, strict_map_key=False)
    return {k: v for k, v in doc.items() if isinstance(k, str) and isinstance(v, bytes)} if isinstance(doc, dict) else {}


class SourceDigests:
    """name -> digest of its records as published (file names and raw bytes, in order)."""

    def __init__(self):
        self._hashes: dict[str, object] = {}

    def add(self, name: str, filename: str, raw: bytes) -> None:
        h = self._hashes.get(name)
        if h is None:
            h = self._hashes[name] = hashlib.blake2b(digest_size=16)
        h.update(filename.encode())
        h.update(b"\0")
        h.update(raw)
        h.update(b"\0")

    def result(self) -> dict[str, bytes]:
        return {name: h.digest() for name, h in self._hashes.items()}
