"""Comparing a big subdir with the mirror: peak memory, CPU seconds and registry requests.

    python benchmarks/mirror_noop.py --entries 500000 [--new 100] [--per-name 20]

The channel is a local folder with one synthetic subdir of N repodata entries (20 builds per package
name, as conda-forge's linux-64 has about). The mirror (a real registry) holds N - new of them,
published as the sync's publish step writes it (the same document bytes; CEP-16 shards left out). Each figure is one
`condainfra mirror sync` process, measured by the kernel (wait4: user + system CPU, peak RSS):

* full comparison, `new` entries new upstream: both documents read and compared entry by entry,
  the `new` planned (--dry-run: the synthetic entries have no files to download);
* no-op re-sync: the mirror's record matches upstream's document, nothing else is read.

Goal: full comparison < 600 MB peak and < 10 CPU s; the no-op as cheap as before (1 request, < 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from condainfra.mirror.localparts import RegistryProcess


def synthetic_repodata(entries: int, per_name: int) -> dict:
    packages, conda = {}, {}
    for i in range(entries):
        name = f"pkg{i // per_name:06d}"
        version = f"1.{i % per_name}"
        record = {
            "build": "h1234567_0", "build_number": 0, "depends": ["python >=3.9", "libzlib >=1.3"], "license": "BSD-3-Clause",
            "md5": f"{i:032x}", "name": name, "sha256": f"{i:064x}", "size": 10000 + i, "subdir": "linux-64",
            "timestamp": 1700000000000 + i, "version": version,
        }
        (conda if i % 2 else packages)[f"{name}-{version}-h1234567_0{'.conda' if i % 2 else '.tar.bz2'}"] = record
    return {"info": {"subdir": "linux-64"}, "packages": packages, "packages.conda": conda, "repodata_version": 1}


async def publish_document(registry_url: str, channel: Path, provenance_of: Path | None = None) -> None:
    """The mirror's repodata as the sync's publish step writes it (the same bytes), without its CEP-16 shards
    (they play no part in the comparison and take minutes to push at this size). With ``provenance_of``,
    annotated as a complete publication of that upstream document, so that a re-sync is a no-op."""
    import hashlib

    import zstandard

    from condainfra.mirror import layout, sync
    from condainfra.mirror.publish import _Writer, write_repodata
    from condainfra.mirror.push import push_config
    from condainfra.mirror.records import parse
    from condainfra.mirror.registry import OciTarget, Registry

    upstream = parse((channel / "linux-64" / "repodata.json").read_bytes(), "synthetic")
    done = {fn for _, fn, _ in upstream.items()}
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "repodata.json"
        with open(path, "wb") as handle:
            writer = _Writer(handle)
            write_repodata(writer, upstream, done)
        data = path.read_bytes()
    compressed = zstandard.ZstdCompressor(level=3, threads=-1).compress(data)
    annotations = {}
    if provenance_of is not None:
        annotations = {sync.SELECTION: "[]", sync.UPSTREAM_DIGEST: hashlib.sha256(provenance_of.read_bytes()).hexdigest(),
                       sync.UPSTREAM_FILE: "repodata.json", sync.UPSTREAM_ETAG: "", sync.UPSTREAM_MODIFIED: "",
                       sync.COMPLETE: "true", sync.ENTRIES: str(len(done))}
    repo = layout.repodata_repository("mirror", "big", "linux-64")
    async with Registry(OciTarget.parse(f"oci://{registry_url}/mirror", insecure=True)) as registry:
        layers = []
        for blob, media, title in ((data, layout.REPODATA_JSON, "repodata.json"), (compressed, layout.REPODATA_ZST, "repodata.json.zst")):
            entry = layout.Blob(layout.sha256_digest(blob), len(blob), media, {layout.TITLE: title})
            await registry.push_blob(repo, entry.digest, entry.size, data=blob)
            layers.append(entry)
        await push_config(registry, repo)
        await registry.put_manifest(repo, "latest", layout.manifest(layers, annotations))


# The kernel keeps a process's peak RSS across fork and exec, so the sync is started by a small launcher
# process (whose own peak is small) and measured there with wait4.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)\n"
    "out = p.stdout.read()\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss)\n"
    "print(out.strip().splitlines()[-1] if out.strip() else '')\n"
)


def measured(registry_url: str, channel: Path, *extra: str) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, summary line) of one `mirror sync` process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "condainfra", "mirror", "sync", "--from", str(channel),
         "--to", f"oci://{registry_url}/mirror", "--insecure", "--subdir", "linux-64", *extra],
        capture_output=True, text=True, check=True,
    )
    wall = time.perf_counter() - start
    first, summary = proc.stdout.splitlines()[:2]
    code, cpu, rss = first.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"sync failed: {summary}")
    return wall, float(cpu), int(rss) / 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--per-name", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="condainfra-noop-") as tmp:
        root = Path(tmp)
        channel = root / "big"
        (channel / "linux-64").mkdir(parents=True)
        full = synthetic_repodata(args.entries, args.per_name)
        older = json.loads(json.dumps(full))
        for key in ("packages", "packages.conda"):
            for filename in sorted(older[key])[-(args.new // 2):]:
                del older[key][filename]
        path = channel / "linux-64" / "repodata.json"
        registry = RegistryProcess(root / "registry").start()
        try:
            path.write_text(json.dumps(older))
            t0 = time.perf_counter()
            asyncio.run(publish_document(registry.url, channel))
            print(f"set-up: mirror published with {args.entries - args.new} entries in {time.perf_counter() - t0:.0f} s")
            path.write_text(json.dumps(full))
            size = path.stat().st_size
            del full, older
            new = measured(registry.url, channel, "--dry-run")
            asyncio.run(publish_document(registry.url, channel, provenance_of=path))
            again = [measured(registry.url, channel) for _ in range(3)]
        finally:
            registry.stop()
        print(f"repodata: {args.entries} entries, {size / 1e6:.0f} MB, {args.entries // args.per_name} package names, 1 subdir")
        print(f"full comparison, {args.new} new: {new[0]:.1f} s wall, {new[1]:.1f} CPU s, {new[2]:.0f} MB peak ({new[3]})")
        best = min(again)
        print(f"no-op re-sync: best of 3 {best[0]:.2f} s wall, {best[1]:.2f} CPU s, {best[2]:.0f} MB peak ({best[3]})")
        print("goal: full comparison < 600 MB peak and < 10 CPU s; no-op: 1 registry request, < 2 s")


if __name__ == "__main__":
    main()
