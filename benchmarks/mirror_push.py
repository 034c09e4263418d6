"""First sync of N small packages into a loopback registry, against that registry's raw push rate.

    python benchmarks/mirror_push.py --packages 500 [--jobs 16]

Both figures come from the same run, the same registry process and the same
concurrency. "Raw" pushes every build's final artifact (the same layers:
package file, info tar.gz, index.json, config) straight from memory, with no
download, no existence checks and no layer building: the registry's own
ceiling for this layout. "Sync" is `condainfra mirror sync` from a channel
served over loopback HTTP: download, sha256 check, info layers, blob checks,
push, and the repodata at the end. Target: sync at least 75% of raw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from condainfra.mirror.localparts import RegistryProcess, build_channel, serve_folder


async def raw_push(registry_url: str, channel: Path, jobs: int) -> float:
    """Push each build's artifact with nothing but POST/PUT per blob and PUT of the manifest."""
    import httpx

    from condainfra.mirror import layout
    from condainfra.mirror.layers import info_layers

    artifacts = []
    repodata = json.loads((channel / "linux-64" / "repodata.json").read_text())
    for filename, record in repodata["packages.conda"].items():
        path = channel / "linux-64" / filename
        data = path.read_bytes()
        info, index = info_layers(path)
        artifacts.append((f"raw/linux-64/{record['name']}", record, data, info, index, filename))

    async def push(client, repo, blob: bytes):
        started = await client.post(f"/v2/{repo}/blobs/uploads/")
        location = started.headers["location"]
        sep = "&" if "?" in location else "?"
        done = await client.put(f"{location}{sep}digest={layout.sha256_digest(blob)}", content=blob, headers={"Content-Type": "application/octet-stream"})
        assert done.status_code == 201, done.text
        return layout.sha256_digest(blob)

    gate = asyncio.Semaphore(jobs)
    async with httpx.AsyncClient(base_url=f"http://{registry_url}", limits=httpx.Limits(max_connections=jobs * 2)) as client:

        async def one(repo, record, data, info, index, filename):
            async with gate:
                layers = []
                for blob, media in ((data, layout.PACKAGE_V2), (info, layout.INFO_LAYER), (index, layout.INDEX_LAYER)):
                    digest = await push(client, repo, blob)
                    layers.append(layout.Blob(digest, len(blob), media, {layout.TITLE: filename}))
                await push(client, repo, layout.EMPTY_CONFIG)
                tag = layout.tag_for(record["version"], record["build"])
                done = await client.put(f"/v2/{repo}/manifests/{tag}", content=layout.manifest(layers), headers={"Content-Type": layout.MANIFEST_MEDIA_TYPE})
                assert done.status_code == 201, done.text

        start = time.perf_counter()
        await asyncio.gather(*(one(*a) for a in artifacts))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="runs, each on a fresh registry; medians are printed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="condainfra-push-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        specs = [(f"bench{i:04d}", "1.0", "0", "linux-64", ("conda",)) for i in range(args.packages)]
        channel = build_channel(root / "build", specs)
        (root / "served").mkdir()
        shutil.move(str(channel), root / "served" / "bench")
        channel = root / "served" / "bench"
        print(f"built and indexed {args.packages} packages with py-rattler-build in {time.perf_counter() - t0:.1f} s")
        url, server = serve_folder(root / "served")
        raw_rates, sync_rates, last = [], [], ""
        try:
            for run in range(args.repeat):
                registry = RegistryProcess(root / f"registry-{run}").start()
                try:
                    raw_seconds = asyncio.run(raw_push(registry.url, channel, args.jobs))
                    start = time.perf_counter()
                    proc = subprocess.run(
                        [sys.executable, "-m", "condainfra", "mirror", "sync", "--from", f"{url}/bench", "--to", f"oci://{registry.url}/mirror",
                         "--insecure", "--jobs", str(args.jobs), "--subdir", "linux-64"],
                        capture_output=True, text=True,
                    )
                    sync_seconds = time.perf_counter() - start
                    if proc.returncode != 0:
                        raise SystemExit(f"sync failed: {proc.stderr[-2000:]}")
                finally:
                    registry.stop()
                raw_rates.append(args.packages / raw_seconds)
                sync_rates.append(args.packages / sync_seconds)
                last = proc.stdout.strip().splitlines()[-1]
        finally:
            server.shutdown()
        ratios = [s / r for s, r in zip(sync_rates, raw_rates, strict=True)]
        print(f"raw push:    median {statistics.median(raw_rates):6.1f} packages/s ({args.jobs} at once, {args.repeat} runs)")
        print(f"mirror sync: median {statistics.median(sync_rates):6.1f} packages/s (whole command: process start, downloads, repodata)")
        print(f"sync / raw per run: {', '.join(f'{r:.0%}' for r in ratios)}; median {statistics.median(ratios):.0%} (target >= 75%)")
        print(f"last sync: {last}")


if __name__ == "__main__":
    main()
