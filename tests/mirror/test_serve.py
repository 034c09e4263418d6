"""`mirror serve`: a real conda client (py-rattler) solves and installs from the mirror over plain HTTP."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys

import pytest

from condainfra.cli.main import main
from tests.mirror.conftest import HTTP, RegistryProcess, free_port, serve_folder, wait_for

PREFIX = "mirrors"


@pytest.fixture(scope="module")
def served(tmp_path_factory, built_channel):
    """One mirror and one `mirror serve` process for the module: its tests only read from them."""
    root = tmp_path_factory.mktemp("served")
    folder = root / "channels" / "conda-test"
    shutil.copytree(built_channel, folder)
    url, channel_server = serve_folder(folder.parent)
    registry = RegistryProcess(root / "registry").start()
    try:
        assert main(["mirror", "sync", "--from", f"{url}/conda-test", "--to", f"oci://{registry.url}/{PREFIX}", "--insecure"]) == 0
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "condainfra", "mirror", "serve", "--from", f"oci://{registry.url}/{PREFIX}", "--insecure", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/")
            yield folder, f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        registry.stop()
        channel_server.shutdown()
        channel_server.server_close()


def test_plain_http_clients_get_repodata_and_packages(served):
    folder, base = served
    repodata = HTTP.get(f"{base}/conda-test/linux-64/repodata.json")
    assert repodata.status_code == 200
    upstream = json.loads((folder / "linux-64" / "repodata.json").read_text())
    assert repodata.json()["packages.conda"] == upstream["packages.conda"]
    zst = HTTP.get(f"{base}/conda-test/linux-64/repodata.json.zst")
    import zstandard

    assert json.loads(zstandard.ZstdDecompressor().stream_reader(zst.content).read()) == repodata.json()
    package = HTTP.get(f"{base}/conda-test/linux-64/libbar-2.1-h5678_1.tar.bz2")
    assert package.content == (folder / "linux-64" / "libbar-2.1-h5678_1.tar.bz2").read_bytes()
    etag = repodata.headers["etag"]
    assert HTTP.get(f"{base}/conda-test/linux-64/repodata.json", headers={"If-None-Match": etag}).status_code == 304
    assert HTTP.get(f"{base}/conda-test/linux-64/nothing-1-0.conda").status_code == 404
    assert HTTP.get(f"{base}/other-channel/linux-64/repodata.json").status_code == 404
    assert HTTP.get(f"{base}/").json()["channels"] == ["conda-test"]


def test_py_rattler_installs_from_the_served_mirror(served, tmp_path):
    import rattler

    _, base = served
    channel = rattler.Channel(f"{base}/conda-test")

    async def go():
        records = await rattler.solve([channel], ["app"], platforms=["linux-64", "noarch"], gateway=rattler.Gateway(cache_dir=tmp_path / "cache"))
        await rattler.install(records, target_prefix=tmp_path / "env", cache_dir=tmp_path / "pkgs", show_progress=False)
        return records

    records = asyncio.run(go())
    assert sorted(r.name.normalized for r in records) == ["app", "libbar", "pyfoo"]
    installed = {p.name for p in (tmp_path / "env" / "conda-meta").glob("*.json")}
    assert any(n.startswith("app-0.3-h0_0") for n in installed)
    assert (tmp_path / "env" / "share" / "payload.txt").is_file()


def test_serve_with_the_registry_down_is_one_clear_error(cli):
    result = cli("mirror", "serve", "--from", "oci://127.0.0.1:9/mirrors", "--insecure", "--port", str(free_port()))
    assert result.code == 1 and "registry 127.0.0.1:9 is not reachable" in result.err


def test_client_config_prints_the_mirrors_table(cli):
    result = cli("mirror", "client-config", "--to", "oci://ghcr.io/channel-mirrors", "--channel", "conda-forge", "--channel", "bioconda")
    assert result.code == 0
    assert '"https://conda.anaconda.org/conda-forge" = ["oci://ghcr.io/channel-mirrors/conda-forge", "https://conda.anaconda.org/conda-forge"]' in result.out
    import tomllib

    assert set(tomllib.loads(result.out)["mirrors"]) == {"https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/bioconda"}
