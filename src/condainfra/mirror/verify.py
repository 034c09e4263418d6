"""`mirror verify`: every repodata entry has its blob, and every tag's manifest follows the layout."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from . import layout
from .registry import Registry
from .published import mirror_entries


@dataclass
class VerifyResult:
    subdirs: list[str] = field(default_factory=list)
    checked: int = 0
    faults: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.subdirs:
            return "no repodata found in the mirror for this channel"
        state = "OK" if not self.faults else f"{len(self.faults)} fault(s)"
        return f"{state}: {self.checked} artifact(s) in {len(self.subdirs)} subdir(s) ({', '.join(self.subdirs)})"


async def verify(registry: Registry, channel: str, subdirs: list[str], jobs: int = 16) -> VerifyResult:
    result = VerifyResult()
    await registry.check()
    prefix = registry.target.prefix
    gate = asyncio.Semaphore(jobs)
    for subdir in subdirs or layout.KNOWN_SUBDIRS:
        repodata = await mirror_entries(registry, prefix, channel, subdir)
        if repodata is None:
            if subdirs:
                result.faults.append(f"{subdir}: no repodata.json:latest in the mirror")
            continue
        result.subdirs.append(subdir)
        builds: dict[tuple[str, str], list[tuple[str, dict]]] = {}
        for filename, record in repodata.items():
            if record is None or not layout.names_one_repository(record.name):
                # the mirror's own repodata, edited by hand or broken: a fault, not a crash
                result.faults.append(f"{subdir}/{layout.shown(filename)}: its name cannot be a package repository")
                continue
            tag = layout.tag_for(record.version, record.build)
            builds.setdefault((record.name, tag or ""), []).append((filename, record))

        async def check(subdir, key, files):
            async with gate:
                await _check_build(registry, prefix, channel, subdir, key, files, result)

        await asyncio.gather(*(check(subdir, key, files) for key, files in builds.items()))

        # tags the repodata does not list (left by an interrupted run, or by hand) must follow the layout too
        listed: dict[str, set[str]] = {}
        for name, tag in builds:
            listed.setdefault(name, set()).add(tag)

        async def extra(subdir, name, tags):
            async with gate:
                repo = layout.repository(prefix, channel, subdir, name)
                for tag in sorted(set(await registry.tags(repo)) - tags):
                    await _check_layout(registry, repo, f"{subdir}/{repo.rsplit('/', 1)[-1]}:{tag}", tag, result)

        await asyncio.gather(*(extra(subdir, name, tags) for name, tags in listed.items()))
    return result


PACKAGE_LAYERS = {layout.PACKAGE_V1, layout.PACKAGE_V2}


async def _check_layout(registry, repo: str, where: str, tag: str, result: VerifyResult) -> None:
    raw = await registry.get_manifest(repo, tag)
    manifest = json.loads(raw) if raw else {}
    layers = manifest.get("layers") or []
    kinds = [l.get("mediaType") for l in layers]
    if (manifest.get("config") or {}).get("mediaType") != layout.CONFIG_MEDIA_TYPE:
        result.faults.append(f"{where}: config media type is not {layout.CONFIG_MEDIA_TYPE}")
    if not PACKAGE_LAYERS & set(kinds) or not {layout.INFO_LAYER, layout.INDEX_LAYER} <= set(kinds):
        result.faults.append(f"{where}: layers {kinds} do not follow the layout")
    for layer in layers:
        if not (layer.get("annotations") or {}).get(layout.TITLE):
            result.faults.append(f"{where}: layer {layer.get('digest')} has no {layout.TITLE}")
        if await registry.blob_size(repo, layer.get("digest", "")) != layer.get("size"):
            result.faults.append(f"{where}: layer blob {layer.get('digest')} is missing or has the wrong size")


async def _check_build(registry, prefix, channel, subdir, key, files, result: VerifyResult) -> None:
    name, tag = key
    repo = layout.repository(prefix, channel, subdir, name)
    where = f"{subdir}/{repo.rsplit('/', 1)[-1]}:{tag}"
    raw = await registry.get_manifest(repo, tag) if tag else None
    if raw is None:
        result.faults.append(f"{where}: tag missing for {', '.join(f for f, _ in files)}")
        return
    try:
        manifest = json.loads(raw)
    except ValueError:
        result.faults.append(f"{where}: manifest is not JSON")
        return
    if manifest.get("mediaType", layout.MANIFEST_MEDIA_TYPE) != layout.MANIFEST_MEDIA_TYPE or manifest.get("schemaVersion") != 2:
        result.faults.append(f"{where}: not an OCI image manifest v1")
    if (manifest.get("config") or {}).get("mediaType") != layout.CONFIG_MEDIA_TYPE:
        result.faults.append(f"{where}: config media type is not {layout.CONFIG_MEDIA_TYPE}")
    layers = manifest.get("layers") or []
    by_title = {(l.get("annotations") or {}).get(layout.TITLE): l for l in layers}
    kinds = {l.get("mediaType") for l in layers}
    for needed in (layout.INFO_LAYER, layout.INDEX_LAYER):
        if needed not in kinds:
            result.faults.append(f"{where}: no {needed} layer")
    for filename, record in files:
        result.checked += 1
        digest = f"sha256:{record.sha256}"
        layer = by_title.get(filename)
        if layer is None:
            result.faults.append(f"{where}: no layer titled {filename}")
        else:
            if layer.get("mediaType") != layout.package_media_type(filename):
                result.faults.append(f"{where}: {filename} has media type {layer.get('mediaType')}")
            if layer.get("digest") != digest or layer.get("size") != record.size:
                result.faults.append(f"{where}: {filename} layer digest/size differ from repodata")
            if record.md5 and (layer.get("annotations") or {}).get(layout.MD5) != record.md5:
                result.faults.append(f"{where}: {filename} layer lacks the right {layout.MD5}")
        size = await registry.blob_size(repo, digest)
        if size is None:
            result.faults.append(f"{where}: blob {digest} of {filename} is missing")
        elif size != record.size:
            result.faults.append(f"{where}: blob of {filename} has {size} bytes, repodata says {record.size}")
    for layer in layers:
        if layer.get("mediaType") in (layout.INFO_LAYER, layout.INDEX_LAYER):
            if await registry.blob_size(repo, layer["digest"]) is None:
                result.faults.append(f"{where}: layer blob {layer['digest']} is missing")
