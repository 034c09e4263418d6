"""`mirror sync` and `mirror publish`: copy what the mirror lacks, then publish the repodata that lists it.

What is missing comes from comparing the upstream repodata with the mirror's
own last pushed repodata, never from listing tags; when the mirror's record says
it published all of the same upstream document, a subdir costs one conditional
request to the channel and one to the registry.
Order of writes, so that a run killed at any moment leaves nothing broken:
blobs, then the manifest under its tag, and the subdir's repodata last, listing
only artifacts whose tags are in place. A re-run picks up where it stopped;
blobs the registry already has are not sent again. A sharded run (``--shard K/N``)
stops before the repodata and records its part; ``publish`` does the last step
once every shard of the run has (fanout.py).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import tempfile
import time
from pathlib import Path

from ..errors import CondainfraError
from . import fanout, layout
from .compare import compare
from .publish import annotations, publish
from .published import mirror_have, mirror_manifest
from .push import push_builds
from .records import RepodataError, parse
from .registry import Registry
from .run import Reporter, Run, SyncOptions, SyncReport
from .source import REPODATA_FILES, Fetched, Source, SourceError

__all__ = ["Reporter", "SyncOptions", "SyncReport", "publish_run", "sync"]

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


async def _manifest(run: Run, subdir: str) -> dict | None:
    """The mirror's `repodata.json:latest` manifest of the subdir (one request, remembered)."""
    if subdir not in run.manifests:
        run.manifests[subdir] = await mirror_manifest(run.registry, run.prefix, run.channel, subdir)
        if run.manifests[subdir] is None and not run.checked:
            # nothing there yet: make sure this is a registry at all before taking it as an empty mirror
            await run.registry.check()
            run.checked = True
    return run.manifests[subdir]


async def sync(source: Source, registry: Registry, options: SyncOptions, reporter: Reporter | None = None) -> SyncReport:
    return await _each_subdir(source, registry, options, reporter, _sync_subdir)


async def publish_run(source: Source, registry: Registry, options: SyncOptions, reporter: Reporter | None = None) -> SyncReport:
    """`mirror publish`: each subdir whose shards of ``options.run_id`` all recorded their part."""
    return await _each_subdir(source, registry, options, reporter, _publish_subdir)


async def _each_subdir(source, registry, options, reporter, one) -> SyncReport:
    reporter = reporter or Reporter()
    report = SyncReport()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="condainfra-sync-") as workdir:
        run = Run(source, registry, options, report, reporter, Path(workdir))
        subdirs, recorded = await _subdirs(run)
        changed = [await _one_alone(run, subdir, subdirs, one) for subdir in subdirs]
        if recorded and any(changed) and options.shard is None and not options.run_id:
            await _sync_new_subdirs(run, subdirs, one)
    reporter.finish()
    report.seconds = time.perf_counter() - started
    report.requests = registry.requests
    return report


async def _one_alone(run: Run, subdir: str, subdirs: list[str], one) -> bool:
    """``one`` for one subdir; whatever stops it (its repodata over a limit, the channel or the registry
    failing it) fails that subdir alone, said once, and the others still sync: nothing of it is published."""
    try:
        return await one(run, subdir, subdirs)
    except CondainfraError as exc:
        run.report.refused.append((subdir, str(exc)))
        return False


async def _subdirs(run: Run) -> tuple[list[str], bool]:
    """(--subdir, else the subdirs the mirror recorded for this channel, else what the channel lists;
    whether they are the mirror's record)."""
    if run.options.subdirs:
        for subdir in run.options.subdirs:
            if not layout.valid_subdir(subdir):
                raise SourceError(f"--subdir {layout.shown(subdir)}: not a subdir name (like linux-64 or noarch)")
        return list(run.options.subdirs), False
    if run.source.is_remote:
        recorded = annotations(await _manifest(run, "noarch")).get(SUBDIRS)
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


async def _sync_new_subdirs(run: Run, subdirs: list[str], one) -> None:
    """A channel that changed may have gained a subdir: channeldata.json says (one request, only then)."""
    listed = await run.source.channeldata_subdirs() or []
    new = [s for s in listed if s not in subdirs]
    if not new:
        return
    everything = sorted(subdirs + new)
    for subdir in new:
        await one(run, subdir, everything)
    # noarch's record is where the next run reads the subdirs from
    repo = layout.repodata_repository(run.prefix, run.channel, "noarch")
    manifest = await mirror_manifest(run.registry, run.prefix, run.channel, "noarch")
    if manifest is not None:
        body = layout.manifest_from(manifest, {**annotations(manifest), SUBDIRS: json.dumps(everything)})
        await run.registry.put_manifest(repo, "latest", body)


def _known(previous: dict[str, str], provenance: dict[str, str]) -> Fetched | None:
    """What to ask upstream conditionally: only when the last run published all of the same selection."""
    if previous.get(COMPLETE) != "true" or previous.get(SELECTION) != provenance[SELECTION] or previous.get(UPSTREAM_FILE) not in REPODATA_FILES:
        return None
    return Fetched(None, previous[UPSTREAM_FILE], previous.get(UPSTREAM_ETAG, ""), previous.get(UPSTREAM_MODIFIED, ""))


async def _upstream(run: Run, subdir: str, subdirs: list[str]):
    """(manifest, provenance, upstream document, the mirror's files) of a subdir that changed upstream; None when it did not."""
    options, report = run.options, run.report
    manifest = await _manifest(run, subdir)
    previous = annotations(manifest)
    provenance = {SELECTION: json.dumps(sorted(options.packages))}
    if subdir == "noarch" and not options.subdirs:
        # the next runs read the channel's subdirs from noarch's record: only a full run may write it
        provenance[SUBDIRS] = json.dumps(subdirs)
    found = await run.source.repodata(subdir, _known(previous, provenance), keep_file=True)
    if found is None:
        if options.subdirs:
            raise SourceError(f"--subdir {subdir}: {run.source.shown} has no {subdir}/repodata.json")
        return None
    if found.unchanged:
        report.skipped += int(previous.get(ENTRIES, 0))
        return None
    document = _document(found)
    provenance.update({UPSTREAM_DIGEST: hashlib.sha256(document).hexdigest(), UPSTREAM_FILE: found.file,
                       UPSTREAM_ETAG: found.etag, UPSTREAM_MODIFIED: found.last_modified})
    if previous.get(COMPLETE) == "true" and all(previous.get(k) == v for k, v in provenance.items()):
        report.skipped += int(previous.get(ENTRIES, 0))
        return None
    # the mirror's side first: its document is gone before upstream's is split, so the two never peak together
    have = await mirror_have(run.registry, run.prefix, run.channel, subdir, manifest)
    try:
        upstream = parse(document, run.source.where(subdir, found.file))
    except RepodataError as exc:
        raise SourceError(str(exc)) from None
    return manifest, provenance, upstream, have


def _document(found: Fetched):
    """The document's bytes; one left in a file is mapped, not read (the records published are slices of it)."""
    if found.path is None:
        return found.raw
    with open(found.path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


async def _sync_subdir(run: Run, subdir: str, subdirs: list[str]) -> bool:
    """Bring one subdir up to date; whether upstream's document changed since the mirror's record."""
    options, report = run.options, run.report
    fetched = await _upstream(run, subdir, subdirs)
    if fetched is None:
        if options.shard and not options.dry_run:
            await fanout.write_record(run, subdir, {})
        return False
    manifest, provenance, upstream, have = fetched
    found = compare(upstream, have, subdir, options, report, run.prefix)
    if options.dry_run:
        report.planned += [f"{subdir}/{fn}" for files in found.missing.values() for fn in files]
        return True
    # a subdir never published: its builds' tags need listing only when an earlier run may have pushed some
    first = bool(found.missing) and manifest is None and await fanout.first_pushes(run, subdir)
    pushed = await push_builds(run, subdir, found.missing, found.wanted, have, listed=not first)
    if options.shard:
        await fanout.write_record(run, subdir, {fn: found.wanted[fn].sha256 for fn in pushed})
        return True
    await _publish(run, subdir, upstream, found.done | pushed, len(found.lacking - pushed), found.rejected, manifest, provenance)
    return True


async def _publish(run: Run, subdir: str, upstream, done: set[str], lacking: int, rejected: int, manifest, provenance: dict[str, str]) -> None:
    invalid = any(f.startswith(f"{subdir}/") for f, _ in run.report.invalid)
    complete = lacking == 0 and not rejected and not invalid
    provenance = {**provenance, COMPLETE: "true" if complete else "false", ENTRIES: str(len(done))}
    await publish(run, subdir, upstream, done, manifest, provenance)


async def _publish_subdir(run: Run, subdir: str, subdirs: list[str]) -> bool:
    placed, why = await fanout.read_records(run, subdir)
    if placed is None:
        run.report.refused.append((subdir, why))
        return False
    fetched = await _upstream(run, subdir, subdirs)
    if fetched is None:
        return False
    manifest, provenance, upstream, have = fetched
    have.update(placed)
    del placed
    found = compare(upstream, have, subdir, run.options, run.report, run.prefix)
    run.report.skipped = 0  # publish pushes nothing: what compare counts as in place is not news
    await _publish(run, subdir, upstream, found.done, len(found.lacking), found.rejected, manifest, provenance)
    return True
