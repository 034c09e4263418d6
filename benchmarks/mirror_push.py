"""First sync of N small packages into a loopback registry: condainfra, conda-oci-mirror and a raw push.

    python benchmarks/mirror_push.py --packages 300 [--jobs 16] [--repeat 3] [--size 4MiB]

The packages are noarch and linux-64, .conda and .tar.bz2. Each round runs the four rows on a fresh
registry each, interleaved, with the same concurrency. conda-oci-mirror (0.3.0, from PyPI) is installed
into a virtual environment of its own; when that fails, the harness says so and skips its row. It has its
upstream host built in (https://conda.anaconda.org), so a sitecustomize on its PYTHONPATH rewrites those
URLs to the local channel served over loopback.

The two raw rows push straight from memory, one POST and one PUT per blob, with no download, no existence
check and no layer building (the layers are built before the clock starts): the registry's own ceiling.
"artifacts only" pushes each build's manifest and its blobs (package file, info tar.gz, index.json,
config); "everything sync writes" also pushes what sync publishes: each name's CEP-16 shard (blob and tag)
and each subdir's repodata (json, zst, shard index, shard sources; timestamp tag and latest), so it is the
ceiling sync is measured against. "Sync" is the whole `condainfra mirror sync` command from a channel
served over loopback HTTP: process start, downloads, sha256 checks, info layers, pushes, shards and
repodata.

The default packages are a few hundred bytes each, so the figure is the per-artifact cost (requests,
process start, checks); ``--size`` gives each package an incompressible payload of that size, so that
MB/s is the byte rate of the same path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from condainfra.mirror.localparts import RegistryProcess, build_channel, serve_folder
from condainfra.mirror.registry import LANE_SIZE as LANE  # connections per pool, as sync's client keeps


def _artifacts(channel: Path) -> list[tuple]:
    """(subdir, name, tag, [(blob, media type, title)]) of every build, its layers built here, off the clock."""
    from condainfra.mirror import layout
    from condainfra.mirror.layers import info_layers

    builds = []
    for subdir in ("noarch", "linux-64"):
        repodata = json.loads((channel / subdir / "repodata.json").read_text())
        for key in ("packages", "packages.conda"):
            for filename, record in repodata.get(key, {}).items():
                path = channel / subdir / filename
                info, index = info_layers(path)
                stem = layout.stem_of(filename)
                layers = [(path.read_bytes(), layout.package_media_type(filename), filename),
                          (info, layout.INFO_LAYER, f"{stem}/info.tar.gz"), (index, layout.INDEX_LAYER, f"{stem}/info/index.json")]
                builds.append((subdir, record["name"], layout.tag_for(record["version"], record["build"]), layers, filename, record))
    return builds


def _publication(channel: Path, builds: list[tuple]) -> list[tuple]:
    """What sync publishes per subdir, built here off the clock: (subdir, {name: shard}, repodata layers)."""
    from condainfra.mirror import layout, shards

    out = []
    for subdir in ("noarch", "linux-64"):
        document = (channel / subdir / "repodata.json").read_bytes()
        named = {name: shards.shard([(fn, json.dumps(rec).encode())], subdir) for s, name, _, _, fn, rec in builds if s == subdir}
        digests = {name: shards.digest(data) for name, data in named.items()}
        layers = [(document, layout.REPODATA_JSON, "repodata.json"), (shards.compress(document), layout.REPODATA_ZST, "repodata.json.zst"),
                  (shards.index(subdir, digests), shards.INDEX_MEDIA_TYPE, shards.INDEX_FILE),
                  (shards.sources(digests), shards.SOURCES_MEDIA_TYPE, "shard-sources.msgpack.zst")]
        out.append((subdir, named, layers))
    return out


async def raw_push(registry_url: str, channel: Path, jobs: int, full: bool) -> float:
    """Every blob with one POST and one PUT, then its manifest: no existence checks, no downloads, layers
    built before the clock starts. Without ``full``, each build's own artifact only (package file, info
    tar.gz, index.json, config); with it, also everything sync publishes: each name's CEP-16 shard (blob
    and tag, with the shard repository's config) and each subdir's repodata (json, zst, shard index, shard
    sources, config; a timestamp tag and latest)."""
    import httpx

    from condainfra.mirror import layout, shards

    builds = _artifacts(channel)
    published = _publication(channel, builds) if full else []
    prefix = "full/bench" if full else "raw/bench"

    async def blob(client, repo, data: bytes, media: str = layout.CONFIG_MEDIA_TYPE, title: str = "") -> layout.Blob:
        digest = layout.sha256_digest(data)
        started = await client.post(f"/v2/{repo}/blobs/uploads/")
        location = started.headers["location"]
        done = await client.put(f"{location}{'&' if '?' in location else '?'}digest={digest}", content=data, headers={"Content-Type": "application/octet-stream"})
        assert done.status_code == 201, done.text
        return layout.Blob(digest, len(data), media, {layout.TITLE: title} if title else {})

    async def tag(client, repo, reference, layers):
        done = await client.put(f"/v2/{repo}/manifests/{reference}", content=layout.manifest(layers), headers={"Content-Type": layout.MANIFEST_MEDIA_TYPE})
        assert done.status_code == 201, done.text

    gate = asyncio.Semaphore(jobs)
    # small pools, a task keeping to one, as sync's registry client does (httpcore scans a pool's connections
    # on every request: one pool of 32 cost the raw push more CPU than the uploads)
    lanes = [httpx.AsyncClient(base_url=f"http://{registry_url}", limits=httpx.Limits(max_connections=LANE, max_keepalive_connections=LANE))
             for _ in range(max(1, jobs // LANE))]
    try:
        lane = lambda: lanes[hash(asyncio.current_task()) % len(lanes)]  # noqa: E731

        async def build(subdir, name, reference, layers, *_):
            async with gate:
                client = lane()
                repo = f"{prefix}/{subdir}/{layout.package_repository_name(name)}"
                pushed = [await blob(client, repo, *layer) for layer in layers]
                await blob(client, repo, layout.EMPTY_CONFIG)
                await tag(client, repo, reference, pushed)

        async def shard(repo, name, data):
            async with gate:
                client = lane()
                pushed = await blob(client, repo, data, shards.SHARD_MEDIA_TYPE, f"{name}.msgpack.zst")
                await tag(client, repo, layout.shard_tag(name), [pushed])

        async def repodata(subdir, named, layers):
            client = lane()
            repo = f"{prefix}/{subdir}/repodata.json"
            await blob(client, f"{repo}/shards", layout.EMPTY_CONFIG)
            await asyncio.gather(*(shard(f"{repo}/shards", name, data) for name, data in named.items()))
            pushed = [await blob(client, repo, *layer) for layer in layers]
            await blob(client, repo, layout.EMPTY_CONFIG)
            for reference in (time.strftime("%Y.%m.%d.%H.%M.%S", time.gmtime()), "latest"):
                await tag(client, repo, reference, pushed)

        start = time.perf_counter()
        await asyncio.gather(*(build(*b) for b in builds))
        await asyncio.gather(*(repodata(*p) for p in published))
        return time.perf_counter() - start
    finally:
        for client in lanes:
            await client.aclose()


RAW = "raw push, package artifacts only"
FULL = "raw push, everything sync writes"
SYNC = "condainfra mirror sync"
COIM = "conda-oci-mirror 0.3.0"

PATCH = """
import requests.sessions

_request = requests.sessions.Session.request


def _local(self, method, url, *args, **kwargs):
    for host in ("https://conda.anaconda.org/", "https://conda-web.anaconda.org/"):
        if isinstance(url, str) and url.startswith(host):
            url = LOCAL + url[len(host):]
    return _request(self, method, url, *args, **kwargs)


requests.sessions.Session.request = _local
"""


def install_conda_oci_mirror(root: Path) -> Path | None:
    """conda-oci-mirror's command in a virtual environment of its own; None (said) when it cannot be installed."""
    venv = root / "coim"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "conda-oci-mirror==0.3.0"], check=True, capture_output=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"conda-oci-mirror: could not be installed from PyPI ({type(exc).__name__}: {detail.decode(errors='replace')[-300:]}); its row is skipped")
        return None
    return venv / "bin" / "conda-oci"


def run_conda_oci_mirror(command: Path, root: Path, local: str, registry_url: str, jobs: int) -> float | None:
    patch = root / "coim-patch"
    patch.mkdir(exist_ok=True)
    (patch / "sitecustomize.py").write_text(f"LOCAL = {local + '/'!r}\n" + PATCH)
    cache = root / f"coim-cache-{registry_url.rsplit(':', 1)[1]}"
    start = time.perf_counter()
    proc = subprocess.run(
        [str(command), "mirror", "--channel", "bench", "--subdir", "noarch", "--subdir", "linux-64", "--registry",
         f"http://{registry_url}/coim", "--workers", str(jobs), "--cache-dir", str(cache), "--quiet"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(patch)}, timeout=1800,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"conda-oci-mirror failed (exit {proc.returncode}): {proc.stderr[-500:]}; its row is skipped")
        return None
    return seconds


@contextlib.contextmanager
def fresh_registry(root: Path):
    """A registry of its own for one row, started after what earlier rows wrote is flushed to disk.

    Its storage stays until the whole run ends: removing a row's thousands of small files while the
    next row ran (ext4, mounted with discard) made that row's registry spend up to half again as much
    CPU, and turned a 0.9x-1.1x comparison into noise. With ``--size 4MiB`` the run keeps about
    1.3 GB per row and round."""
    os.sync()
    registry = RegistryProcess(root).start()
    try:
        yield registry
    finally:
        registry.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds, each on fresh registries; medians are printed")
    parser.add_argument("--size", default="0", help="incompressible payload of each package, like 4MiB (default: a few bytes)")
    args = parser.parse_args()
    from condainfra.fetch import parse_size

    size = 0 if args.size.strip() == "0" else parse_size(args.size)
    if size is None:
        parser.error(f"--size {args.size!r}: expected a size like 4MiB")
    payload = random.Random(0).randbytes(size) if size else b"hello\n"

    with tempfile.TemporaryDirectory(prefix="condainfra-push-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        specs = [(f"bench{i:04d}", "1.0", "0", "noarch" if i % 3 == 0 else "linux-64", ("conda",) if i % 2 else ("tar.bz2",))
                 for i in range(args.packages)]
        channel = build_channel(root / "build", specs, payload=payload)
        shutil.rmtree(root / "build" / "files")
        (root / "served").mkdir()
        shutil.move(str(channel), root / "served" / "bench")
        channel = root / "served" / "bench"
        total = sum(p.stat().st_size for p in channel.glob("*/*") if p.name.endswith((".conda", ".tar.bz2")))
        print(f"built and indexed {args.packages} packages (noarch and linux-64, .conda and .tar.bz2; {total / 1e6:.1f} MB of "
              f"package files) in {time.perf_counter() - t0:.1f} s")
        coim = install_conda_oci_mirror(root)
        url, server = serve_folder(root / "served")
        # seconds of each round
        rates: dict[str, list[float]] = {RAW: [], FULL: [], SYNC: [], COIM: []}
        last = ""
        try:
            for run in range(args.repeat):
                for row, full in ((RAW, False), (FULL, True)):
                    with fresh_registry(root / f"registry-raw-{run}-{full}") as registry:
                        rates[row].append(asyncio.run(raw_push(registry.url, channel, args.jobs, full)))
                with fresh_registry(root / f"registry-sync-{run}") as registry:
                    start = time.perf_counter()
                    proc = subprocess.run(
                        [sys.executable, "-m", "condainfra", "mirror", "sync", "--from", f"{url}/bench", "--to", f"oci://{registry.url}/mirror",
                         "--insecure", "--jobs", str(args.jobs), "--subdir", "noarch", "--subdir", "linux-64"],
                        capture_output=True, text=True,
                    )
                    seconds = time.perf_counter() - start
                    if proc.returncode != 0:
                        raise SystemExit(f"sync failed: {proc.stderr[-2000:]}")
                    rates[SYNC].append(seconds)
                    last = proc.stdout.strip().splitlines()[-1]
                if coim is not None:
                    with fresh_registry(root / f"registry-coim-{run}") as registry:
                        seconds = run_conda_oci_mirror(coim, root, f"{url}", registry.url, args.jobs)
                    if seconds is None:
                        coim = None
                    else:
                        rates[COIM].append(seconds)
        finally:
            server.shutdown()
        medians = {name: statistics.median(values) for name, values in rates.items() if values}
        anchor = medians.get(COIM)
        print(f"| {args.packages} packages, {total / 1e6:.1f} MB, --jobs {args.jobs} | seconds (median of {args.repeat}; each round) "
              f"| packages/s | MB/s | vs conda-oci-mirror | vs raw, artifacts only | vs raw, everything sync writes |")
        print("|---|---|---|---|---|---|---|")
        for name, values in rates.items():
            if not values:
                print(f"| {name} | skipped | | | | | |")
                continue
            seconds = medians[name]
            versus = f"{anchor / seconds:.2f}x" if anchor else "-"
            print(f"| {name} | {seconds:.1f} ({', '.join(f'{v:.1f}' for v in values)}) | {args.packages / seconds:.1f} | "
                  f"{total / 1e6 / seconds:.2f} | {versus} | {medians[RAW] / seconds:.2f}x | {medians[FULL] / seconds:.2f}x |")
        print(f"goal: condainfra >= 1.5x conda-oci-mirror and >= 0.95x the raw push of everything it writes; last sync: {last}")

if __name__ == "__main__":
    main()
