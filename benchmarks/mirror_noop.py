"""A no-op re-sync of a channel whose repodata lists N entries: registry requests and time.

    python benchmarks/mirror_noop.py --entries 100000 [--repeat 5]

The channel (a local folder with one subdir) has N repodata entries; the
mirror's repodata already lists all of them, published directly without
provenance annotations (as a sync that did not see this upstream document
would have). Two figures, each the whole `mirror sync` in-process minus
interpreter start:

* the full comparison: both repodata documents read and compared entry by
  entry, nothing to push but the manifest that records the provenance;
* the re-sync after that (median of --repeat runs): the manifest's
  provenance matches upstream's document, so nothing else is read.

Targets: at most 1 registry request per subdir, under 2 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from condainfra.mirror.localparts import RegistryProcess


def synthetic_repodata(entries: int) -> dict:
    packages, conda = {}, {}
    for i in range(entries):
        name = f"pkg{i // 10:05d}"
        version = f"1.{i % 10}"
        record = {
            "build": "h1234567_0", "build_number": 0, "depends": ["python >=3.9", "libzlib >=1.3"], "license": "BSD-3-Clause",
            "md5": f"{i:032x}", "name": name, "sha256": f"{i:064x}", "size": 10000 + i, "subdir": "linux-64",
            "timestamp": 1700000000000 + i, "version": version,
        }
        (conda if i % 2 else packages)[f"{name}-{version}-h1234567_0{'.conda' if i % 2 else '.tar.bz2'}"] = record
    return {"info": {"subdir": "linux-64"}, "packages": packages, "packages.conda": conda, "repodata_version": 1}


async def publish(registry_url: str, repodata: dict) -> None:
    from condainfra.mirror.registry import OciTarget, Registry
    from condainfra.mirror.sync import push_repodata

    async with Registry(OciTarget.parse(f"oci://{registry_url}/mirror", insecure=True)) as registry:
        await push_repodata(registry, "mirror", "big", "linux-64", repodata)


async def noop(registry_url: str, channel: Path):
    from condainfra.mirror.registry import OciTarget, Registry
    from condainfra.mirror.source import Source
    from condainfra.mirror.sync import SyncOptions, sync

    source = Source(str(channel))
    async with source, Registry(OciTarget.parse(f"oci://{registry_url}/mirror", insecure=True)) as registry:
        return await sync(source, registry, SyncOptions("big", ["linux-64"]))


def main() -> None:
    import gc

    gc.set_threshold(200_000, 50, 1000)  # as the condainfra CLI sets it
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="condainfra-noop-") as tmp:
        root = Path(tmp)
        channel = root / "big"
        (channel / "linux-64").mkdir(parents=True)
        repodata = synthetic_repodata(args.entries)
        (channel / "linux-64" / "repodata.json").write_text(json.dumps(repodata))
        size = (channel / "linux-64" / "repodata.json").stat().st_size
        registry = RegistryProcess(root / "registry").start()
        try:
            asyncio.run(publish(registry.url, repodata))
            start = time.perf_counter()
            full = asyncio.run(noop(registry.url, channel))
            full_seconds = time.perf_counter() - start
            times, reports = [], []
            for _ in range(args.repeat):
                start = time.perf_counter()
                reports.append(asyncio.run(noop(registry.url, channel)))
                times.append(time.perf_counter() - start)
        finally:
            registry.stop()
        report = reports[-1]
        print(f"repodata: {args.entries} entries, {size / 1e6:.1f} MB, 1 subdir")
        print(f"full comparison: {full_seconds:.2f} s, {full.requests} registry requests ({full.summary()})")
        print(f"re-sync: median {statistics.median(times):.2f} s over {args.repeat} runs (min {min(times):.2f}, max {max(times):.2f}), {report.requests} registry requests")
        print("targets: <= 1 registry request per subdir, < 2 s")


if __name__ == "__main__":
    main()
