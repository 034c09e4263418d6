"""Pushing builds: every file of a build downloaded and checked against its sha256, then its blobs, then
its tag. One build's failure, whatever it is, is that build's alone: reported, and the run goes on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from ..errors import CondainfraError
from . import layout
from .layers import PackageError, info_layers
from .records import Lean, key_of
from .registry import Registry
from .run import Run
from .source import ChecksumError

# a build that cannot be pushed fails alone; anything else is a bug and stops the run
BUILD_ERRORS = (ChecksumError, PackageError, CondainfraError, OSError, httpx.HTTPError, ValueError)


async def push_builds(run: Run, subdir: str, missing: dict[tuple[str, str], list[str]], wanted: dict[str, Lean], have: dict[str, bytes], listed: bool = True) -> set[str]:
    """Push the missing builds, --jobs at once; the files now in place. ``listed``: whether an earlier run
    may have pushed some (each package's tags are listed first), else every repository is new."""
    done: set[str] = set()
    if not missing:
        return done
    run.reporter.start(subdir, len(missing))
    gate = asyncio.Semaphore(max(1, run.options.jobs))

    async def one(key: tuple[str, str], files: list[str]) -> None:
        async with gate:
            ok = await push_build(run, subdir, key, files, wanted, have, listed)
        if ok:
            done.update(files)
        run.reporter.advance(subdir, f"{key[0]}:{key[1]}", ok)

    await asyncio.gather(*(one(key, files) for key, files in sorted(missing.items())))
    return done


async def push_build(run: Run, subdir: str, key: tuple[str, str], files: list[str], wanted: dict[str, Lean], have: dict[str, bytes], listed: bool = True) -> bool:
    registry, report = run.registry, run.report
    name, tag = key
    local: dict[str, Path] = {}
    try:
        repo = layout.repository(run.prefix, run.channel, subdir, name)
        existing, known_repository = await registry.find_manifest(repo, tag) if listed else (None, False)
        if _already_tagged(existing, files, wanted):
            # an interrupted run pushed this tag (tags only ever follow their blobs): nothing to fetch
            report.resumed += len(files)
            return True
        for filename in files:
            record = wanted[filename]
            if have.get(filename) == bytes.fromhex(record.sha256):
                continue  # already a blob of this repository: no need to fetch it again
            # a name of ours, never upstream's
            local[filename] = run.workdir / f"{next(run.counter)}{layout.SUFFIX_OF_KEY[key_of(filename)]}"
            await run.source.download(subdir, filename, local[filename], record.sha256, record.size)
        # info layers come from one downloaded file, the .conda when there is one (faster to read)
        info_source = sorted(local, key=lambda fn: not fn.endswith(".conda"))[0]
        info_tar, index_json = await asyncio.to_thread(info_layers, local[info_source], info_source)
        layers = await _push_layers(run, repo, not known_repository, files, wanted, local, layout.stem_of(info_source), info_tar, index_json)
        await push_config(registry, repo, not known_repository)
        await registry.put_manifest(repo, tag, layout.manifest(layers))
    except BUILD_ERRORS as exc:
        why = str(exc) or type(exc).__name__
        report.failed += [(f"{subdir}/{fn}", why) for fn in files]
        return False
    finally:
        for path in local.values():
            path.unlink(missing_ok=True)
    report.pushed += len(files)
    return True


async def _push_layers(run: Run, repo: str, new: bool, files, wanted: dict[str, Lean], local: dict[str, Path], stem: str, info_tar: bytes, index_json: bytes) -> list[layout.Blob]:
    layers = []
    for filename in sorted(files, key=lambda fn: not fn.endswith(".tar.bz2")):
        record = wanted[filename]
        annotations = {layout.TITLE: filename}
        if record.md5:
            annotations[layout.MD5] = record.md5
        digest = "sha256:" + record.sha256
        blob = layout.Blob(digest, int(record.size), layout.package_media_type(filename), annotations)
        if filename in local:
            if await run.registry.push_blob(repo, digest, blob.size, path=local[filename], new_repository=new):
                run.report.bytes += blob.size
        layers.append(blob)
    for data, media_type, title in (
        (info_tar, layout.INFO_LAYER, f"{stem}/info.tar.gz"),
        (index_json, layout.INDEX_LAYER, f"{stem}/info/index.json"),
    ):
        blob = layout.Blob(layout.sha256_digest(data), len(data), media_type, {layout.TITLE: title})
        await run.registry.push_blob(repo, blob.digest, blob.size, data=data, new_repository=new)
        layers.append(blob)
    return layers


async def push_config(registry: Registry, repo: str, new_repository: bool = False) -> None:
    """Every artifact shares the same two-byte config: after the first upload it is mounted, one request."""
    config = layout.config_blob()
    source = registry.config_source if registry.config_source != repo else None
    await registry.push_blob(repo, config.digest, config.size, data=layout.EMPTY_CONFIG, mount_from=source, new_repository=new_repository or source is not None)
    registry.config_source = repo


def _already_tagged(raw: bytes | None, files: list[str], wanted: dict[str, Lean]) -> bool:
    if raw is None:
        return False
    try:
        layers = json.loads(raw).get("layers") or []
    except (ValueError, AttributeError):
        return False
    present = {((l.get("annotations") or {}).get(layout.TITLE), l.get("digest")) for l in layers if isinstance(l, dict)}
    return all((fn, f"sha256:{wanted[fn].sha256}") in present for fn in files)
