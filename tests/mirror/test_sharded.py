"""CEP-16 sharded repodata from the mirror: the formats rattler's own indexer writes, only changed shards
written again, and py-rattler's Gateway solving and installing through `mirror serve` from shards alone."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time

import msgpack
import pytest

from condainfra.mirror import layout, shards
from tests.mirror.conftest import HTTP, free_port

PREFIX = "mirrors"
ACCEPT = {"Accept": layout.MANIFEST_MEDIA_TYPE}


def read_shards(registry, subdir: str) -> dict[str, dict]:
    """name -> decoded shard, as the mirror publishes them."""
    base = f"http://{registry.url}/v2/{PREFIX}/conda-test/{subdir}/repodata.json"
    manifest = HTTP.get(f"{base}/manifests/latest", headers=ACCEPT).json()
    index_layer = next(l for l in manifest["layers"] if l["mediaType"] == shards.INDEX_MEDIA_TYPE)
    index = shards.read_index(HTTP.get(f"{base}/blobs/{index_layer['digest']}").content)
    out = {}
    for name, digest in index.items():
        blob = HTTP.get(f"{base}/shards/blobs/sha256:{digest.hex()}").content
        assert shards.digest(blob) == digest  # content-addressed: the name is the sha256 of the file
        out[name] = msgpack.unpackb(shards.decompress(blob))
    return out


def test_shards_match_what_rattlers_indexer_writes(cli, registry, upstream, tmp_path):
    import rattler.index

    folder, url = upstream
    asyncio.run(rattler.index.index_fs(folder, write_zst=False, write_shards=True, force=True))
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure").code == 0
    for subdir in ("linux-64", "noarch"):
        theirs = msgpack.unpackb(shards.decompress((folder / subdir / shards.INDEX_FILE).read_bytes()))
        ours = read_shards(registry, subdir)
        assert sorted(ours) == sorted(theirs["shards"])
        for name, digest in theirs["shards"].items():
            expected = msgpack.unpackb(shards.decompress((folder / subdir / "shards" / f"{digest.hex()}.msgpack.zst").read_bytes()))
            assert ours[name] == expected, name


def test_only_changed_shards_are_written_again(registry, upstream, tmp_path):
    import rattler.index

    from condainfra.mirror.localparts import build_channel
    from condainfra.mirror.registry import OciTarget, Registry
    from condainfra.mirror.source import Source
    from condainfra.mirror.sync import SyncOptions, sync

    folder, url = upstream

    async def run():
        source = Source(url)
        async with source, Registry(OciTarget.parse(f"oci://{registry.url}/{PREFIX}", insecure=True)) as reg:
            return await sync(source, reg, SyncOptions("conda-test", ["linux-64"]))

    first = asyncio.run(run())
    assert first.shards_written == 3  # app, epochal, libbar
    before = read_shards(registry, "linux-64")
    newer = build_channel(tmp_path / "newer", [("libbar", "2.2", "h5678_0", "linux-64", ("conda",))])
    shutil.copy(newer / "linux-64" / "libbar-2.2-h5678_0.conda", folder / "linux-64")
    asyncio.run(rattler.index.index_fs(folder, write_zst=False, write_shards=False, force=True))
    second = asyncio.run(run())
    assert second.pushed == 1 and second.shards_written == 1
    after = read_shards(registry, "linux-64")
    assert after["app"] == before["app"] and after["epochal"] == before["epochal"]
    assert sorted(after["libbar"]["packages.conda"]) == ["libbar-2.1-h5678_1.conda", "libbar-2.2-h5678_0.conda"]


@pytest.fixture
def served_in_process(cli, registry, upstream):
    """`mirror serve`'s app on a loopback port, every path asked recorded."""
    import uvicorn

    from condainfra.mirror.registry import OciTarget
    from condainfra.mirror.serve import MirrorServer

    folder, url = upstream
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure").code == 0
    app = MirrorServer(OciTarget.parse(f"oci://{registry.url}/{PREFIX}", insecure=True), []).app()
    seen: list[str] = []

    async def recording(scope, receive, send):
        if scope["type"] == "http":
            seen.append(scope["path"])
        await app(scope, receive, send)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(recording, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "mirror serve did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", seen
    server.should_exit = True
    thread.join(10)


def test_rattler_solves_and_installs_from_shards_through_serve(served_in_process, tmp_path):
    import rattler

    base, seen = served_in_process
    gateway = rattler.Gateway(cache_dir=tmp_path / "cache", default_config=rattler.SourceConfig(sharded_enabled=True))

    async def go():
        records = await rattler.solve([rattler.Channel(f"{base}/conda-test")], ["app"], platforms=["linux-64", "noarch"], gateway=gateway)
        await rattler.install(records, target_prefix=tmp_path / "env", cache_dir=tmp_path / "pkgs", show_progress=False)
        return records

    records = asyncio.run(go())
    assert sorted(r.name.normalized for r in records) == ["app", "libbar", "pyfoo"]
    assert (tmp_path / "env" / "share" / "payload.txt").read_bytes().startswith(b"hello")
    assert "/conda-test/linux-64/repodata_shards.msgpack.zst" in seen
    assert any(p.startswith("/conda-test/linux-64/shards/") for p in seen)
    assert not any(p.endswith(("/repodata.json", "/repodata.json.zst")) for p in seen), seen  # shards alone


def test_serve_answers_only_shards_it_has(served_in_process):
    base, _ = served_in_process
    index = HTTP.get(f"{base}/conda-test/linux-64/repodata_shards.msgpack.zst")
    assert index.status_code == 200
    digest = shards.read_index(index.content)["app"].hex()
    shard = HTTP.get(f"{base}/conda-test/linux-64/shards/{digest}.msgpack.zst")
    assert shard.status_code == 200 and shards.digest(shard.content).hex() == digest
    assert "immutable" in shard.headers["cache-control"]
    for path in (f"/conda-test/linux-64/shards/{'0' * 64}.msgpack.zst", "/conda-test/linux-64/shards/..%2Frepodata.json",
                 f"/conda-test/linux-64/shards/{digest.upper()}.msgpack.zst", f"/conda-test/linux-64/shards/{digest}.json"):
        assert HTTP.get(base + path).status_code in (404, 502) and HTTP.get(base + path).status_code != 200
