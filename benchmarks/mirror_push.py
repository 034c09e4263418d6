"""First sync of N small packages into a loopback registry: condainfra, conda-oci-mirror and a raw push.

    python benchmarks/mirror_push.py --packages 300 [--jobs 16] [--repeat 3] [--size 4MiB]

The packages are noarch and linux-64, .conda and .tar.bz2. Each round runs the three on a fresh registry
each, interleaved, with the same concurrency. conda-oci-mirror (0.3.0, from PyPI) is installed into a
virtual environment of its own; when that fails, the harness says so and skips its row. It has its
upstream host built in (https://conda.anaconda.org), so a sitecustomize on its PYTHONPATH rewrites those
URLs to the local channel served over loopback.

Both figures come from the same run, the same registry process and the same
concurrency. "Raw" pushes every build's final artifact (the same layers:
package file, info tar.gz, index.json, config) straight from memory, with no
download, no existence checks and no layer building: the registry's own
ceiling for this layout. "Sync" is `condainfra mirror sync` from a channel
served over loopback HTTP: download, sha256 check, info layers, blob checks,
push, and the repodata at the end.

The default packages are a few hundred bytes each, so the figure is the per-artifact cost (requests,
process start, checks); ``--size`` gives each package an incompressible payload of that size, so that
MB/s is the byte rate of the same path.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def raw_push(registry_url: str, channel: Path, jobs: int) -> float:
    """Push each build's artifact with nothing but POST/PUT per blob and PUT of the manifest."""
    import httpx

    import condainfra.fetch  # noqa: F401  (its httpcore fix-up: the ceiling gets every client-side saving sync gets)
    from condainfra.mirror import layout
    from condainfra.mirror.layers import info_layers

    artifacts = []
    for subdir in ("noarch", "linux-64"):
        repodata = json.loads((channel / subdir / "repodata.json").read_text())
        for key in ("packages", "packages.conda"):
            for filename, record in repodata.get(key, {}).items():
                path = channel / subdir / filename
                data = path.read_bytes()
                info, index = info_layers(path)
                artifacts.append((f"raw/{subdir}/{record['name']}", record, data, info, index, filename))

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
                for blob, media in ((data, layout.package_media_type(filename)), (info, layout.INFO_LAYER), (index, layout.INDEX_LAYER)):
                    digest = await push(client, repo, blob)
                    layers.append(layout.Blob(digest, len(blob), media, {layout.TITLE: filename}))
                await push(client, repo, layout.EMPTY_CONFIG)
                tag = layout.tag_for(record["version"], record["build"])
                done = await client.put(f"/v2/{repo}/manifests/{tag}", content=layout.manifest(layers), headers={"Content-Type": layout.MANIFEST_MEDIA_TYPE})
                assert done.status_code == 201, done.text

        start = time.perf_counter()
        await asyncio.gather(*(one(*a) for a in artifacts))
        return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds, each on fresh registries; medians are printed")
    parser.add_argument("--size", default="0", help="incompressible payload of each package, like 4MiB (default: a few bytes)")
    args = parser.parse_args()
    from condainfra.fetch import parse_size

    size = parse_size(args.size) or 0
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
        # seconds of each round; a round's registry storage is removed once it is measured
        rates: dict[str, list[float]] = {"raw push": [], "condainfra mirror sync": [], "conda-oci-mirror 0.3.0": []}
        last = ""
        try:
            for run in range(args.repeat):
                registry = RegistryProcess(root / f"registry-raw-{run}").start()
                try:
                    rates["raw push"].append(asyncio.run(raw_push(registry.url, channel, args.jobs)))
                finally:
                    registry.stop()
                    shutil.rmtree(registry.root)
                registry = RegistryProcess(root / f"registry-sync-{run}").start()
                try:
                    start = time.perf_counter()
                    proc = subprocess.run(
                        [sys.executable, "-m", "condainfra", "mirror", "sync", "--from", f"{url}/bench", "--to", f"oci://{registry.url}/mirror",
                         "--insecure", "--jobs", str(args.jobs), "--subdir", "noarch", "--subdir", "linux-64"],
                        capture_output=True, text=True,
                    )
                    seconds = time.perf_counter() - start
                    if proc.returncode != 0:
                        raise SystemExit(f"sync failed: {proc.stderr[-2000:]}")
                    rates["condainfra mirror sync"].append(seconds)
                    last = proc.stdout.strip().splitlines()[-1]
                finally:
                    registry.stop()
                    shutil.rmtree(registry.root)
                if coim is not None:
                    registry = RegistryProcess(root / f"registry-coim-{run}").start()
                    try:
                        seconds = run_conda_oci_mirror(coim, root, f"{url}", registry.url, args.jobs)
                    finally:
                        registry.stop()
                        shutil.rmtree(registry.root)
                    if seconds is None:
                        coim = None
                    else:
                        rates["conda-oci-mirror 0.3.0"].append(seconds)
        finally:
            server.shutdown()
        medians = {name: statistics.median(values) for name, values in rates.items() if values}
        anchor, raw = medians.get("conda-oci-mirror 0.3.0"), medians["raw push"]
        print(f"| {args.packages} packages, {total / 1e6:.1f} MB, --jobs {args.jobs} | seconds (median of {args.repeat}; each round) "
              f"| packages/s | MB/s | vs conda-oci-mirror | vs raw push |")
        print("|---|---|---|---|---|---|")
        for name, values in rates.items():
            if not values:
                print(f"| {name} | skipped | | | | |")
                continue
            seconds = medians[name]
            versus = f"{anchor / seconds:.2f}x" if anchor else "-"
            print(f"| {name} | {seconds:.1f} ({', '.join(f'{v:.1f}' for v in values)}) | {args.packages / seconds:.1f} | "
                  f"{total / 1e6 / seconds:.2f} | {versus} | {raw / seconds:.2f}x |")
        print(f"goal: condainfra >= 1.5x conda-oci-mirror and >= 0.95x raw push; last sync: {last}")


if __name__ == "__main__":
    main()
