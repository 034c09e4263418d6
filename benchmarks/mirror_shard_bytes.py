"""Bytes a client downloads to solve one package from a 20,000-package channel: CEP-16 shards against
full repodata.

    python benchmarks/mirror_shard_bytes.py [--names 20000] [--builds 10]

The channel is synthetic (each name has --builds builds; each depends on two names, so that one package's closure is a handful), written as
the mirror publishes it: repodata.json and .zst, and the shard index and shards made by
condainfra.mirror.shards. It is served over loopback HTTP by a handler that counts the bytes it sends,
and py-rattler (the real client) solves one package twice from an empty cache: with sharded repodata
enabled, and with it disabled (repodata.json.zst).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import http.server
import json
import tempfile
import threading
from pathlib import Path

import zstandard

from condainfra.mirror import shards
from condainfra.mirror.localparts import QuietHandler


def synthetic(names: int, builds: int) -> dict:
    conda = {}
    for n in range(names):
        name = f"pkg{n:05d}"
        deps = sorted({f"pkg{n // 2:05d}", f"pkg{n // 3:05d}"}) if n > 1 else []  # a small closure, as real ones are
        for b in range(builds):
            conda[f"{name}-1.{b}-h0_0.conda"] = {
                "build": "h0_0", "build_number": 0, "depends": [f"{d} >=1.0" for d in deps], "license": "MIT",
                # real checksums do not compress: random-looking ones here too
                "md5": hashlib.md5(f"{name}{b}".encode()).hexdigest(), "name": name, "sha256": hashlib.sha256(f"{name}{b}".encode()).hexdigest(), "size": 1000 + b,
                "subdir": "linux-64", "timestamp": 1700000000000 + b, "version": f"1.{b}",
            }
    return {"info": {"subdir": "linux-64"}, "packages": {}, "packages.conda": conda, "repodata_version": 1}


def write_channel(root: Path, repodata: dict) -> None:
    sub = root / "linux-64"
    (sub / "shards").mkdir(parents=True)
    raw = json.dumps(repodata).encode()
    (sub / "repodata.json").write_bytes(raw)
    (sub / "repodata.json.zst").write_bytes(zstandard.ZstdCompressor(level=16).compress(raw))
    by_name: dict[str, list] = {}
    for filename, record in repodata["packages.conda"].items():
        by_name.setdefault(record["name"], []).append((filename, json.dumps(record).encode()))
    index = {}
    for name, records in by_name.items():
        data = shards.shard(records, "synthetic")
        index[name] = shards.digest(data)
        (sub / "shards" / f"{index[name].hex()}.msgpack.zst").write_bytes(data)
    (sub / shards.INDEX_FILE).write_bytes(shards.index("linux-64", index))
    noarch = root / "noarch"
    noarch.mkdir()
    empty = json.dumps({"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}}).encode()
    (noarch / "repodata.json").write_bytes(empty)


class Counting(QuietHandler):
    sent: list[int]

    def copyfile(self, source, outputfile):
        data = source.read()
        self.sent.append(len(data))
        outputfile.write(data)


def solve(base: str, cache: Path, sharded: bool) -> int:
    import rattler

    gateway = rattler.Gateway(cache_dir=cache, default_config=rattler.SourceConfig(sharded_enabled=sharded))
    records = asyncio.run(rattler.solve([rattler.Channel(f"{base}/chan")], ["pkg12345"], platforms=["linux-64", "noarch"], gateway=gateway))
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=20_000)
    parser.add_argument("--builds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="condainfra-shard-bytes-") as tmp:
        root = Path(tmp)
        write_channel(root / "chan", synthetic(args.names, args.builds))
        sent: list[int] = []
        handler = type("H", (Counting,), {"sent": sent})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            results = {}
            for sharded in (True, False):
                sent.clear()
                solved = solve(base, root / f"cache-{sharded}", sharded)
                results[sharded] = (sum(sent), len(sent), solved)
        finally:
            server.shutdown()
        full_size = (root / "chan" / "linux-64" / "repodata.json").stat().st_size
        print(f"channel: {args.names} package names x {args.builds} builds; repodata.json {full_size / 1e6:.1f} MB")
        for sharded, label in ((True, "sharded (CEP-16)"), (False, "full repodata.json.zst")):
            total, requests, solved = results[sharded]
            print(f"{label:24s} {total / 1e3:9.1f} kB in {requests} requests (solution: {solved} packages)")
        print(f"sharded / full: {results[True][0] / results[False][0]:.1%}")


if __name__ == "__main__":
    main()
