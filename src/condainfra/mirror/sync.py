"""`mirror sync`: copy what the mirror lacks, then publish the repodata that lists it.

What is missing comes from comparing the upstream repodata with the mirror's
own last pushed repodata, never from listing tags; when the mirror's record says
it published all of the same upstream document, a subdir costs one conditional
request to the channel and one to the registry.
Order of writes, so that a run killed at any moment leaves nothing broken:
blobs, then the manifest under its tag, and the subdir's repodata last, listing
only artifacts whose tags are in place. A re-run picks up where it stopped;
blobs the registry already has are not sent again.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import itertools
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import zstandard

from . import layout
from .layers import PackageError, info_layers
from .registry import Registry, RegistryError
from .source import REPODATA_FILES, ChecksumError, Fetched, Source, SourceError, parse_repodata

PACKAGE_KEYS = ("packages", "packages.conda")


@dataclass
class SyncOptions:
    channel: str
    subdirs: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    jobs: int = 8
    dry_run: bool = False


@dataclass
class SyncReport:
    pushed: int = 0  # artifacts newly in the mirror
    skipped: int = 0  # artifacts the mirror already had
    resumed: int = 0  # artifacts whose tag an interrupted run had already pushed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (subdir/filename, why)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # not representable as an OCI tag
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (subdir/'name' as shown, why): not a conda file name
    planned: list[str] = field(default_factory=list)  # --dry-run: what would be pushed
    bytes: int = 0
    seconds: float = 0.0
    requests: int = 0
    repodata_pushed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        resumed = f"resumed {self.resumed}, " if self.resumed else ""
        text = (
            f"pushed {self.pushed}, skipped {self.skipped}, failed {len(self.failed)}, {resumed}"
            f"{f'rejected {len(self.rejected)}, ' if self.rejected else ''}"
            f"not representable {len(self.invalid)}; {self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s, "
            f"{self.requests} registry requests"
        )
        if self.planned:
            text = f"dry run: would push {len(self.planned)} artifact(s); " + text
        return text


class Reporter:
    """Plain log lines; the CLI swaps in a progress bar on a terminal."""

    def __init__(self, log: Callable[[str], None] | None = None):
        self.log = log or (lambda message: None)

    def start(self, subdir: str, total: int) -> None:
        self.log(f"{subdir}: {total} build(s) to push")

    def advance(self, subdir: str, label: str, ok: bool) -> None:
        self.log(f"{subdir}: {'pushed' if ok else 'FAILED'} {label}")

    def finish(self) -> None:
        pass


# Provenance of a published repodata, in its manifest's annotations: when upstream's document and the
# selection are the same as last time and that run published everything, a re-sync is one request.
UPSTREAM_DIGEST = "org.condainfra.upstream.sha256"
SELECTION = "org.condainfra.selection"
COMPLETE = "org.condainfra.complete"
ENTRIES = "org.condainfra.entries"
# which upstream file it was and its validators, for one conditional request next time
UPSTREAM_FILE = "org.condainfra.upstream.file"
UPSTREAM_ETAG = "org.condainfra.upstream.etag"
UPSTREAM_MODIFIED = "org.condainfra.upstream.last-modified"
# the channel's subdirs, so that a re-sync need not discover them again (read from noarch's record)
SUBDIRS = "org.condainfra.subdirs"


async def mirror_manifest(registry: Registry, prefix: str, channel: str, subdir: str) -> dict[str, Any] | None:
    raw = await registry.get_manifest(layout.repodata_repository(prefix, channel, subdir), "latest")
    return None if raw is None else orjson.loads(raw)


async def read_mirror_repodata(registry: Registry, prefix: str, channel: str, subdir: str, manifest: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The subdir's repodata as last published: one manifest and one blob (the .zst one, a tenth the size)."""
    repo = layout.repodata_repository(prefix, channel, subdir)
    if manifest is None:
        manifest = await mirror_manifest(registry, prefix, channel, subdir)
        if manifest is None:
            return None
    layers = {l.get("mediaType"): l for l in manifest.get("layers", [])}
    layer = layers.get(layout.REPODATA_ZST) or layers.get(layout.REPODATA_JSON)
    if layer is None:
        raise RegistryError(f"{repo}:latest has no repodata layer")
    blob = await registry.get_blob(repo, layer["digest"])
    if blob is None:
        raise RegistryError(f"{repo}:latest points at a missing blob {layer['digest']}")
    if layer["mediaType"] == layout.REPODATA_ZST:
        blob = zstandard.ZstdDecompressor().stream_reader(blob).read()
    return orjson.loads(blob)


def entries(repodata: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not repodata:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for key in PACKAGE_KEYS:
        out.update(repodata.get(key) or {})
    return out


def _lacks(have: dict[str, str | None], filename: str, record: dict[str, Any]) -> bool:
    """The mirror does not hold this file, or holds it with another sha256."""
    return filename not in have or have[filename] != record.get("sha256")


def _selected(record: dict[str, Any], globs: list[str]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(record.get("name", ""), g) for g in globs)


@dataclass
class _Run:
    """What one `sync` shares between its subdirs."""

    source: Source
    registry: Registry
    options: SyncOptions
    report: SyncReport
    reporter: Reporter
    workdir: Path  # the run's own temporary folder: every downloaded file, under a name chosen here
    manifests: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    checked: bool = False
    counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def prefix(self) -> str:
        return self.registry.target.prefix

    async def manifest(self, subdir: str) -> dict[str, Any] | None:
        """The mirror's `repodata.json:latest` manifest of the subdir (one request, remembered)."""
        if subdir not in self.manifests:
            self.manifests[subdir] = await mirror_manifest(self.registry, self.prefix, self.options.channel, subdir)
            if self.manifests[subdir] is None and not self.checked:
                # nothing there yet: make sure this is a registry at all before taking it as an empty mirror
                await self.registry.check()
                self.checked = True
        return self.manifests[subdir]


async def sync(source: Source, registry: Registry, options: SyncOptions, reporter: Reporter | None = None) -> SyncReport:
    reporter = reporter or Reporter()
    report = SyncReport()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="condainfra-sync-") as workdir:
        run = _Run(source, registry, options, report, reporter, Path(workdir))
        subdirs, recorded = await _subdirs(run)
        changed = [await _sync_subdir(run, subdir, subdirs) for subdir in subdirs]
        if recorded and any(changed):
            await _sync_new_subdirs(run, subdirs)
    reporter.finish()
    report.seconds = time.perf_counter() - started
    report.requests = registry.requests
    return report


async def _subdirs(run: _Run) -> tuple[list[str], bool]:
    """(--subdir, else the subdirs the mirror recorded for this channel, else what the channel lists;
    whether they are the mirror's record)."""
    if run.options.subdirs:
        for subdir in run.options.subdirs:
            if not layout.valid_subdir(subdir):
                raise SourceError(f"--subdir {layout.shown(subdir)}: not a subdir name (like linux-64 or noarch)")
        return list(run.options.subdirs), False
    if run.source.is_remote:
        recorded = _annotations(await run.manifest("noarch")).get(SUBDIRS)
        try:
            subdirs = json.loads(recorded) if recorded else None
        except ValueError:
            subdirs = None
        if isinstance(subdirs, list) and subdirs and all(layout.valid_subdir(s) for s in subdirs):
            return subdirs, True
    subdirs = await run.source.subdirs()
    if not subdirs:
        raise SourceError(f"--from {run.source.shown}: no subdirs with repodata.json found")
    return subdirs, False


async def _sync_new_subdirs(run: _Run, subdirs: list[str]) -> None:
    """A channel that changed may have gained a subdir: channeldata.json says (one request, only then)."""
    listed = await run.source.channeldata_subdirs() or []
    new = [s for s in listed if s not in subdirs]
    if not new:
        return
    everything = sorted(subdirs + new)
    for subdir in new:
        await _sync_subdir(run, subdir, everything)
    # noarch's record is where the next run reads the subdirs from
    raw = await run.registry.get_manifest(layout.repodata_repository(run.prefix, run.options.channel, "noarch"), "latest")
    if raw is not None:
        manifest = orjson.loads(raw)
        body = layout.manifest_from(manifest, {**_annotations(manifest), SUBDIRS: json.dumps(everything)})
        await run.registry.put_manifest(layout.repodata_repository(run.prefix, run.options.channel, "noarch"), "latest", body)


def _annotations(manifest: dict[str, Any] | None) -> dict[str, str]:
    return (manifest or {}).get("annotations") or {}


def _known(previous: dict[str, str], provenance: dict[str, str]) -> Fetched | None:
    """What to ask upstream conditionally: only when the last run published all of the same selection."""
    if previous.get(COMPLETE) != "true" or previous.get(SELECTION) != provenance[SELECTION] or previous.get(UPSTREAM_FILE) not in REPODATA_FILES:
        return None
    return Fetched(None, previous[UPSTREAM_FILE], previous.get(UPSTREAM_ETAG, ""), previous.get(UPSTREAM_MODIFIED, ""))


async def _sync_subdir(run: _Run, subdir: str, subdirs: list[str]) -> bool:
    """Bring one subdir up to date; whether upstream's document changed since the mirror's record."""
    options, report = run.options, run.report
    manifest = await run.manifest(subdir)
    previous = _annotations(manifest)
    provenance = {SELECTION: json.dumps(sorted(options.packages))}
    if subdir == "noarch" and not options.subdirs:
        # the next runs read the channel's subdirs from noarch's record: only a full run may write it
        provenance[SUBDIRS] = json.dumps(subdirs)
    found = await run.source.repodata(subdir, _known(previous, provenance))
    if found is None:
        if options.subdirs:
            raise SourceError(f"--subdir {subdir}: {run.source.shown} has no {subdir}/repodata.json")
        return False
    if found.unchanged:
        report.skipped += int(previous.get(ENTRIES, 0))
        return False
    provenance.update({UPSTREAM_DIGEST: hashlib.sha256(found.raw).hexdigest(), UPSTREAM_FILE: found.file,
                       UPSTREAM_ETAG: found.etag, UPSTREAM_MODIFIED: found.last_modified})
    if previous.get(COMPLETE) == "true" and all(previous.get(k) == v for k, v in provenance.items()):
        report.skipped += int(previous.get(ENTRIES, 0))
        return False
    upstream = parse_repodata(found.raw, run.source.where(subdir, found.file))
    mirror = await read_mirror_repodata(run.registry, run.prefix, options.channel, subdir, manifest) if manifest else None
    have = {fn: rec.get("sha256") for fn, rec in entries(mirror).items()}
    wanted = _checked_entries(upstream, subdir, report)
    selected = {fn: rec for fn, rec in wanted.items() if _selected(rec, options.packages)}
    missing = _missing_builds(run, subdir, selected, have)
    done: set[str] = {fn for fn, sha in have.items() if fn in wanted and wanted[fn].get("sha256") == sha}
    if options.dry_run:
        report.planned += [f"{subdir}/{fn}" for files in missing.values() for fn in files]
        return True
    done |= await _push_builds(run, subdir, missing, wanted, have)
    complete = selected.keys() <= done and not any(f.startswith(f"{subdir}/") for f, _ in report.invalid + report.rejected)
    provenance.update({COMPLETE: "true" if complete else "false", ENTRIES: str(len(done))})
    await _publish(run, subdir, upstream, done, mirror, manifest, provenance)
    return True


def _checked_entries(upstream: dict[str, Any], subdir: str, report: SyncReport) -> dict[str, dict[str, Any]]:
    """Upstream's entries whose file names are plain conda file names of their records; the others reported."""
    out: dict[str, dict[str, Any]] = {}
    for key in PACKAGE_KEYS:
        for filename, record in (upstream.get(key) or {}).items():
            problem = layout.filename_problem(filename, record, key)
            if problem:
                report.rejected.append((f"{subdir}/{layout.shown(filename)}", problem))
            else:
                out[filename] = record
    return out


def _missing_builds(run: _Run, subdir: str, selected: dict[str, dict[str, Any]], have: dict[str, str | None]) -> dict[tuple[str, str], list[str]]:
    """(name, tag) -> files, of the builds the mirror lacks a file of; only they are looked at further,
    so that a re-sync of 100,000 unchanged entries is two dict walks."""
    report = run.report
    pending_names = {rec.get("name") for fn, rec in selected.items() if _lacks(have, fn, rec)}
    groups: dict[tuple[str, str], list[str]] = {}
    for filename, record in selected.items():
        name = record["name"]
        if name not in pending_names:
            report.skipped += 1
            continue
        tag = layout.tag_for(record["version"], record["build"])
        if tag is None or not layout.valid_repository(layout.repository(run.prefix, run.options.channel, subdir, name)):
            report.invalid.append((f"{subdir}/{filename}", f"no valid OCI name for {name} {record['version']} {record['build']}"))
            continue
        groups.setdefault((name, tag), []).append(filename)
    missing = {}
    for key, files in groups.items():
        if any(_lacks(have, fn, selected[fn]) for fn in files):
            missing[key] = files
        else:
            report.skipped += len(files)
    return missing


async def _push_builds(run: _Run, subdir: str, missing: dict[tuple[str, str], list[str]], wanted, have) -> set[str]:
    """Push the missing builds, --jobs at once; the files now in place."""
    done: set[str] = set()
    if not missing:
        return done
    run.reporter.start(subdir, len(missing))
    gate = asyncio.Semaphore(max(1, run.options.jobs))

    async def one(key: tuple[str, str], files: list[str]) -> None:
        async with gate:
            ok = await _push_build(run, subdir, key, files, wanted, have)
        if ok:
            done.update(files)
        run.reporter.advance(subdir, f"{key[0]}:{key[1]}", ok)

    await asyncio.gather(*(one(key, files) for key, files in sorted(missing.items())))
    return done


async def _publish(run: _Run, subdir: str, upstream, done: set[str], mirror, manifest, provenance: dict[str, str]) -> None:
    """Repodata last, and only what is in place: upstream's own entries, restricted to mirrored files."""
    published = {k: v for k, v in upstream.items() if k not in PACKAGE_KEYS}
    for key in PACKAGE_KEYS:
        published[key] = {fn: rec for fn, rec in (upstream.get(key) or {}).items() if fn in done}
    previous = _annotations(manifest)
    if mirror != published:
        await push_repodata(run.registry, run.prefix, run.options.channel, subdir, published, provenance)
        run.report.repodata_pushed.append(subdir)
    elif any(previous.get(k) != v for k, v in provenance.items()):
        # same content, new provenance: re-tag `latest` with the same layers, one request
        body = layout.manifest_from(manifest, {**previous, **provenance})
        await run.registry.put_manifest(layout.repodata_repository(run.prefix, run.options.channel, subdir), "latest", body)


async def _push_build(run: _Run, subdir: str, key: tuple[str, str], files: list[str], wanted, have) -> bool:
    registry, report = run.registry, run.report
    name, tag = key
    repo = layout.repository(run.prefix, run.options.channel, subdir, name)
    existing, known_repository = await registry.find_manifest(repo, tag)
    new = not known_repository
    if _already_tagged(existing, files, wanted):
        # an interrupted run pushed this tag (tags only ever follow their blobs): nothing to fetch
        report.resumed += len(files)
        return True
    local: dict[str, Path] = {}
    try:
        for filename in files:
            record = wanted[filename]
            if have.get(filename) == record.get("sha256") and record.get("sha256"):
                continue  # already a blob of this repository: no need to fetch it again
            # a name of ours, never upstream's
            local[filename] = run.workdir / f"{next(run.counter)}{layout.SUFFIX_OF_KEY[_key_of(filename)]}"
            await run.source.download(subdir, filename, local[filename], record.get("sha256"), record.get("size"))
        # info layers come from one downloaded file, the .conda when there is one (faster to read)
        info_source = sorted(local, key=lambda fn: not fn.endswith(".conda"))[0]
        info_tar, index_json = await asyncio.to_thread(info_layers, local[info_source], info_source)
        layers = await _push_layers(run, repo, new, files, wanted, local, layout.stem_of(info_source), info_tar, index_json)
        await _push_config(registry, repo, new)
        await registry.put_manifest(repo, tag, layout.manifest(layers))
    except (ChecksumError, PackageError) as exc:
        report.failed += [(f"{subdir}/{fn}", str(exc)) for fn in files]
        return False
    except KeyError as exc:
        report.failed += [(f"{subdir}/{fn}", f"repodata entry lacks {exc}") for fn in files]
        return False
    finally:
        for path in local.values():
            path.unlink(missing_ok=True)
    report.pushed += len(files)
    return True


def _key_of(filename: str) -> str:
    return "packages.conda" if filename.endswith(".conda") else "packages"


async def _push_layers(run: _Run, repo: str, new: bool, files, wanted, local: dict[str, Path], stem: str, info_tar: bytes, index_json: bytes) -> list[layout.Blob]:
    layers = []
    for filename in sorted(files, key=lambda fn: not fn.endswith(".tar.bz2")):
        record = wanted[filename]
        annotations = {layout.TITLE: filename}
        if record.get("md5"):
            annotations[layout.MD5] = record["md5"]
        digest = "sha256:" + record["sha256"]
        blob = layout.Blob(digest, int(record["size"]), layout.package_media_type(filename), annotations)
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


async def _push_config(registry: Registry, repo: str, new_repository: bool = False) -> None:
    """Every artifact shares the same two-byte config: after the first upload it is mounted, one request."""
    config = layout.config_blob()
    source = registry.config_source if registry.config_source != repo else None
    await registry.push_blob(repo, config.digest, config.size, data=layout.EMPTY_CONFIG, mount_from=source, new_repository=new_repository or source is not None)
    registry.config_source = repo


def _already_tagged(raw: bytes | None, files: list[str], wanted: dict[str, dict[str, Any]]) -> bool:
    if raw is None:
        return False
    try:
        layers = json.loads(raw).get("layers") or []
    except ValueError:
        return False
    present = {((l.get("annotations") or {}).get(layout.TITLE), l.get("digest")) for l in layers}
    return all((fn, f"sha256:{wanted[fn].get('sha256')}") in present for fn in files)


async def push_repodata(registry: Registry, prefix: str, channel: str, subdir: str, repodata: dict[str, Any], annotations: dict[str, str] | None = None) -> None:
    repo = layout.repodata_repository(prefix, channel, subdir)
    raw = orjson.dumps(repodata, option=orjson.OPT_SORT_KEYS)
    # level 16 on all cores: conda-forge's linux-64 repodata (~250 MB) compresses in seconds
    compressed = zstandard.ZstdCompressor(level=16, threads=-1).compress(raw)
    layers = []
    for data, media_type, title in ((raw, layout.REPODATA_JSON, "repodata.json"), (compressed, layout.REPODATA_ZST, "repodata.json.zst")):
        blob = layout.Blob(layout.sha256_digest(data), len(data), media_type, {layout.TITLE: title})
        await registry.push_blob(repo, blob.digest, blob.size, data=data)
        layers.append(blob)
    await _push_config(registry, repo)
    stamp = time.strftime("%Y.%m.%d.%H.%M.%S", time.gmtime())
    body = layout.manifest(layers, {"org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(annotations or {})})
    await registry.put_manifest(repo, stamp, body)
    await registry.put_manifest(repo, "latest", body)
