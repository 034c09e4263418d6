"""A sync spread over N jobs: `mirror sync --shard K/N --run ID` pushes one shard of the package names
and records what it put in place; `mirror publish --run ID` publishes a subdir only when every shard of
that run recorded its part.

A shard's record is the tag ``shard-K-of-N`` of the subdir's repodata repository: annotations name the
run, its one layer lists the files the shard put in place (file name -> sha256, msgpack + zstd). A shard
killed part way writes no record, so publish finds a gap and publishes nothing for that subdir; its
builds already pushed are found by the next run (tags only ever follow their blobs).

Before a run pushes the first build of a subdir the mirror has never published, it tags
``started-K-of-N`` there (``started-1-of-1`` unsharded). So when that repository holds no tag, or only
tags of the other shards of the same count (their names are not ours), no earlier run can have pushed
any of this run's builds, and no package's tags need listing to find them.
"""

from __future__ import annotations

import re

import msgpack
import orjson

from . import layout, shards
from .publish import read_layer
from .push import push_config
from .registry import RegistryError
from .run import Run

RUN = "org.condainfra.run"
RECORD_MEDIA_TYPE = "application/vnd.condainfra.shard-record.v1+msgpack+zst"
_RECORD_TAG = re.compile(r"shard-(\d{1,4})-of-(\d{1,4})")
_STARTED_TAG = re.compile(r"started-(\d{1,4})-of-(\d{1,4})")
STARTED_MEDIA_TYPE = "application/vnd.condainfra.run-started.v1+json"
MAX_RECORD_BYTES = 512 << 20  # a first sync of conda-forge's linux-64 in one shard: ~60 MB


def record_tag(k: int, n: int) -> str:
    return f"shard-{k}-of-{n}"


def started_tag(k: int, n: int) -> str:
    return f"started-{k}-of-{n}"


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N <= 1000."""
    match = re.fullmatch(r"(\d{1,4})/(\d{1,4})", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]) <= 1000:
        raise ValueError(f"--shard {layout.shown(text)}: expected K/N with 1 <= K <= N <= 1000, like 2/8")
    return int(match[1]), int(match[2])


async def write_record(run: Run, subdir: str, placed: dict[str, str]) -> None:
    """This shard's part of the run, for publish: file name -> sha256 (hex) of every file put in place."""
    k, n = run.options.shard
    repo = layout.repodata_repository(run.prefix, run.channel, subdir)
    data = shards.compress(msgpack.packb({fn: bytes.fromhex(sha) for fn, sha in sorted(placed.items())}, use_bin_type=True))
    blob = layout.Blob(layout.sha256_digest(data), len(data), RECORD_MEDIA_TYPE, {layout.TITLE: f"{record_tag(k, n)}.msgpack.zst"})
    await run.registry.push_blob(repo, blob.digest, blob.size, data=data)
    await push_config(run.registry, repo)
    await run.registry.put_manifest(repo, record_tag(k, n), layout.manifest([blob], {RUN: run.options.run_id}))


async def first_pushes(run: Run, subdir: str) -> bool:
    """Whether no earlier run can have pushed a build of this run's names in a subdir never published
    (one tag listing); this run's start is tagged before it pushes any."""
    k, n = run.options.shard or (1, 1)
    repo = layout.repodata_repository(run.prefix, run.channel, subdir)
    tags = await run.registry.tags(repo)
    if started_tag(k, n) not in tags:
        await push_config(run.registry, repo, new_repository=not tags)
        config = layout.config_blob()
        marker = layout.Blob(config.digest, config.size, STARTED_MEDIA_TYPE, {})
        await run.registry.put_manifest(repo, started_tag(k, n), layout.manifest([marker], {RUN: run.options.run_id}))
    return all(_another_shard(tag, k, n) for tag in tags)


def _another_shard(tag: str, k: int, n: int) -> bool:
    match = _RECORD_TAG.fullmatch(tag) or _STARTED_TAG.fullmatch(tag)
    return bool(match) and int(match[2]) == n and int(match[1]) != k


async def read_records(run: Run, subdir: str) -> tuple[dict[str, bytes] | None, str]:
    """(file name -> sha256 of everything the run's shards put in place, "") when every shard of the run
    recorded its part; (None, why) otherwise."""
    registry, run_id = run.registry, run.options.run_id
    repo = layout.repodata_repository(run.prefix, run.channel, subdir)
    found: dict[int, set[int]] = {}
    placed: dict[str, bytes] = {}
    for tag in await registry.tags(repo):
        match = _RECORD_TAG.fullmatch(tag)
        if not match:
            continue
        raw = await registry.get_manifest(repo, tag)
        try:
            manifest = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            continue
        if not isinstance(manifest, dict) or (manifest.get("annotations") or {}).get(RUN) != run_id:
            continue  # another run's record
        data = await read_layer(registry, repo, manifest, RECORD_MEDIA_TYPE)
        try:
            part = msgpack.unpackb(shards.decompress(data or b"", MAX_RECORD_BYTES), raw=False)
        except (shards.ShardError, ValueError, msgpack.ExtraData) as exc:
            raise RegistryError(f"{repo}:{tag}: unreadable shard record ({exc})") from None
        if isinstance(part, dict):
            placed.update({fn: sha for fn, sha in part.items() if isinstance(fn, str) and isinstance(sha, bytes)})
        found.setdefault(int(match[2]), set()).add(int(match[1]))
    if not found:
        return None, f"no shard of run {layout.shown(run_id)} recorded its part"
    if len(found) > 1:
        return None, f"run {layout.shown(run_id)} has records of different shard counts ({', '.join(map(str, sorted(found)))})"
    (n, ks), = found.items()
    gaps = sorted(set(range(1, n + 1)) - ks)
    if gaps:
        return None, f"shard(s) {', '.join(f'{k}/{n}' for k in gaps)} of run {layout.shown(run_id)} did not finish"
    return placed, ""
