"""`mirror sync` and `mirror verify` against a real registry (Debian's docker-registry), with real
packages (py-rattler-build), checked with an independent OCI client (skopeo)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from condainfra.mirror import layout, shards
from tests.mirror.conftest import HTTP, build_channel

PREFIX = "mirrors"


def oci(registry) -> str:
    return f"oci://{registry.url}/{PREFIX}"


def sync(cli, registry, url, *extra):
    return cli("mirror", "sync", "--from", url, "--to", oci(registry), "--insecure", *extra)


def skopeo_manifest(registry, repo: str, tag: str) -> dict:
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry.url}/{repo}:{tag}"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def repodata(folder: Path, subdir: str) -> dict:
    return json.loads((folder / subdir / "repodata.json").read_text())


def test_first_sync_follows_the_layout(cli, registry, upstream):
    folder, url = upstream
    result = sync(cli, registry, url)
    assert result.code == 0, result.err
    assert "pushed 6, skipped 0, failed 0" in result.out

    # _ names get zzz, + and ! are escaped in tags
    m = skopeo_manifest(registry, f"{PREFIX}/conda-test/noarch/zzz_private-mutex", "1.0-0")
    assert m["config"]["mediaType"] == layout.CONFIG_MEDIA_TYPE
    skopeo_manifest(registry, f"{PREFIX}/conda-test/noarch/pyfoo", "1.0__p__local.1-py_0")
    skopeo_manifest(registry, f"{PREFIX}/conda-test/linux-64/epochal", "1__e__2.0-h1234_0")

    # one tag carries both formats of a build, byte-identical to upstream
    m = skopeo_manifest(registry, f"{PREFIX}/conda-test/linux-64/libbar", "2.1-h5678_1")
    layers = {l["annotations"]["org.opencontainers.image.title"]: l for l in m["layers"]}
    assert set(layers) == {"libbar-2.1-h5678_1.tar.bz2", "libbar-2.1-h5678_1.conda", "libbar-2.1-h5678_1/info.tar.gz", "libbar-2.1-h5678_1/info/index.json"}
    assert layers["libbar-2.1-h5678_1.tar.bz2"]["mediaType"] == layout.PACKAGE_V1
    assert layers["libbar-2.1-h5678_1.conda"]["mediaType"] == layout.PACKAGE_V2
    assert layers["libbar-2.1-h5678_1/info.tar.gz"]["mediaType"] == layout.INFO_LAYER
    assert layers["libbar-2.1-h5678_1/info/index.json"]["mediaType"] == layout.INDEX_LAYER
    upstream_rd = repodata(folder, "linux-64")
    for filename in ("libbar-2.1-h5678_1.tar.bz2", "libbar-2.1-h5678_1.conda"):
        record = upstream_rd["packages" if filename.endswith("bz2") else "packages.conda"][filename]
        assert layers[filename]["digest"] == f"sha256:{record['sha256']}"
        assert layers[filename]["annotations"]["org.conda.md5"] == record["md5"]
        blob = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/libbar/blobs/sha256:{record['sha256']}")
        assert blob.content == (folder / "linux-64" / filename).read_bytes()
    index = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/libbar/blobs/{layers['libbar-2.1-h5678_1/info/index.json']['digest']}").json()
    assert index["name"] == "libbar" and index["version"] == "2.1"

    # repodata: latest and a timestamp tag; json and zst layers, listing what upstream lists; the CEP-16 index
    # and the map of which shards changed
    tags = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/repodata.json/tags/list").json()["tags"]
    assert "latest" in tags and "started-1-of-1" in tags and len(tags) == 3  # and a timestamp
    m = skopeo_manifest(registry, f"{PREFIX}/conda-test/linux-64/repodata.json", "latest")
    assert [l["mediaType"] for l in m["layers"]] == [layout.REPODATA_JSON, layout.REPODATA_ZST, shards.INDEX_MEDIA_TYPE, shards.SOURCES_MEDIA_TYPE]
    mirrored = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/repodata.json/blobs/{m['layers'][0]['digest']}").json()
    assert mirrored["packages"] == upstream_rd["packages"] and mirrored["packages.conda"] == upstream_rd["packages.conda"]

    verified = cli("mirror", "verify", "--to", oci(registry), "--channel", "conda-test", "--insecure")
    assert verified.code == 0 and "OK: 6 artifact(s) in 2 subdir(s)" in verified.out


def test_resync_is_a_no_op_of_a_few_requests(cli, registry, upstream):
    _, url = upstream
    assert sync(cli, registry, url).code == 0
    again = sync(cli, registry, url)
    assert again.code == 0
    assert "pushed 0, skipped 6, failed 0" in again.out
    # for each of the 2 subdirs the mirror's repodata manifest, whose annotations say it was published
    # complete from this very upstream document
    assert "2 registry requests" in again.out


def test_resync_compares_repodata_when_upstream_changed(cli, registry, upstream):
    folder, url = upstream
    assert sync(cli, registry, url).code == 0
    path = folder / "linux-64" / "repodata.json"
    data = json.loads(path.read_text())
    data["info"]["note"] = "touched"  # a new upstream document listing the same files
    path.write_text(json.dumps(data))
    again = sync(cli, registry, url)
    assert again.code == 0 and "pushed 0, skipped 6, failed 0" in again.out
    # noarch: manifest only; linux-64: manifest and repodata blob, then the republished repodata
    mirrored = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/repodata.json/manifests/latest", headers={"Accept": layout.MANIFEST_MEDIA_TYPE}).json()
    blob = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/repodata.json/blobs/{mirrored['layers'][0]['digest']}").json()
    assert blob["info"]["note"] == "touched"
    assert "2 registry requests" in sync(cli, registry, url).out


def test_only_new_artifacts_are_pushed(cli, registry, upstream, tmp_path):
    from tests.mirror.conftest import build_channel

    folder, url = upstream
    assert sync(cli, registry, url).code == 0
    extra = build_channel(tmp_path / "extra", [("newpkg", "0.1", "0", "noarch", ("conda",))])
    shutil.copy(extra / "noarch" / "newpkg-0.1-0.conda", folder / "noarch")
    import asyncio

    import rattler.index

    asyncio.run(rattler.index.index_fs(folder, write_zst=False, write_shards=False, force=True))
    result = sync(cli, registry, url)
    assert result.code == 0
    assert "pushed 1, skipped 6, failed 0" in result.out
    assert cli("mirror", "verify", "--to", oci(registry), "--channel", "conda-test", "--insecure").code == 0


def test_checksum_mismatch_is_not_pushed_and_fails_the_run(cli, registry, upstream):
    folder, url = upstream
    victim = folder / "linux-64" / "app-0.3-h0_0.conda"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    result = sync(cli, registry, url)
    assert result.code == 1
    assert "error: linux-64/app-0.3-h0_0.conda:" in result.err and "sha256" in result.err
    assert "pushed 5, skipped 0, failed 1" in result.out
    tags = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/app/tags/list")
    assert tags.status_code == 404 or not tags.json().get("tags")
    verified = cli("mirror", "verify", "--to", oci(registry), "--channel", "conda-test", "--insecure")
    assert verified.code == 0 and "5 artifact(s)" in verified.out  # the mirror lists only what it has


def test_dry_run_pushes_nothing(cli, registry, upstream):
    _, url = upstream
    result = sync(cli, registry, url, "--dry-run")
    assert result.code == 0
    assert "would push linux-64/libbar-2.1-h5678_1.conda" in result.out
    assert HTTP.get(f"http://{registry.url}/v2/_catalog").json()["repositories"] == []


def test_package_and_subdir_filters(cli, registry, upstream):
    _, url = upstream
    result = sync(cli, registry, url, "--subdir", "linux-64", "--package", "lib*")
    assert result.code == 0 and "pushed 2, skipped 0" in result.out
    repos = HTTP.get(f"http://{registry.url}/v2/_catalog").json()["repositories"]
    assert sorted(repos) == [f"{PREFIX}/conda-test/linux-64/libbar", f"{PREFIX}/conda-test/linux-64/repodata.json", f"{PREFIX}/conda-test/linux-64/repodata.json/shards"]


def test_a_local_channel_folder_works_too(cli, registry, upstream):
    folder, _ = upstream
    result = cli("mirror", "sync", "--from", str(folder), "--to", oci(registry), "--insecure")
    assert result.code == 0 and "pushed 6" in result.out
    assert "conda-test" in HTTP.get(f"http://{registry.url}/v2/_catalog").json()["repositories"][0]


def test_builds_without_a_valid_tag_are_skipped_and_reported(cli, registry, upstream):
    folder, url = upstream
    rd = repodata(folder, "linux-64")
    record = dict(rd["packages"]["epochal-1!2.0-h1234_0.tar.bz2"], build="b" * 130)
    rd["packages"]["epochal-1!2.0-" + "b" * 130 + ".tar.bz2"] = record
    (folder / "linux-64" / "repodata.json").write_text(json.dumps(rd))
    result = sync(cli, registry, url)
    assert result.code == 0
    assert "not representable 1" in result.out and "skipped linux-64/epochal-1!2.0-bbbb" in result.err


def test_verify_finds_a_missing_blob(cli, registry, upstream):
    folder, url = upstream
    assert sync(cli, registry, url).code == 0
    sha = repodata(folder, "linux-64")["packages.conda"]["app-0.3-h0_0.conda"]["sha256"]
    deleted = httpx.delete(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/app/blobs/sha256:{sha}")
    assert deleted.status_code == 202
    result = cli("mirror", "verify", "--to", oci(registry), "--channel", "conda-test", "--insecure")
    assert result.code == 1
    assert f"blob sha256:{sha} of app-0.3-h0_0.conda is missing" in result.err


def test_registry_down_is_one_clear_error(cli, upstream):
    _, url = upstream
    result = cli("mirror", "sync", "--from", url, "--to", "oci://127.0.0.1:9/mirrors", "--insecure", "--limit", "backoff=0")
    assert result.code == 1
    assert "registry 127.0.0.1:9 is not reachable after 5 attempts" in result.err
    assert "Traceback" not in result.err and result.err.count("\n") == 1


def test_source_down_is_one_clear_error(cli, registry):
    result = cli("mirror", "sync", "--from", "http://127.0.0.1:9/conda-test", "--to", oci(registry), "--insecure", "--limit", "backoff=0")
    assert result.code == 1 and "source http://127.0.0.1:9/conda-test is not reachable" in result.err


@pytest.mark.parametrize("to", ["oci://example.org/mirrors", "http://127.0.0.1/x", "oci://127.0.0.1/Upper"])
def test_bad_targets(cli, upstream, to):
    _, url = upstream
    result = cli("mirror", "sync", "--from", url, "--to", to, "--insecure")
    assert result.code == 1 and "error:" in result.err


def test_a_terminal_gets_a_progress_bar(registry, upstream):
    """On a terminal (a pty here) sync draws a progress bar; elsewhere it writes plain lines (as above)."""
    import os
    import pty
    import sys

    _, url = upstream
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "condainfra", "mirror", "sync", "--from", url, "--to", oci(registry), "--insecure"],
        stdin=terminal, stdout=terminal, stderr=terminal, env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"},
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    proc.wait(60)
    os.close(controller)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "━" in text and "linux-64" in text  # rich's bar, one per subdir
    assert "pushed 6, skipped 0, failed 0" in text


def test_verify_checks_tags_the_repodata_does_not_list(cli, registry, upstream):
    folder, url = upstream
    assert sync(cli, registry, url).code == 0
    repo = f"{PREFIX}/conda-test/linux-64/libbar"
    base = f"http://{registry.url}/v2/{repo}"
    # a stray tag whose manifest has only a config layer (as a hand-pushed artifact might)
    config = layout.EMPTY_CONFIG
    start = HTTP.post(f"{base}/blobs/uploads/")
    HTTP.put(f"{start.headers['location']}&digest={layout.sha256_digest(config)}", content=config)
    assert HTTP.put(f"{base}/manifests/9.9-stray", content=layout.manifest([]), headers={"Content-Type": layout.MANIFEST_MEDIA_TYPE}).status_code == 201
    result = cli("mirror", "verify", "--to", oci(registry), "--channel", "conda-test", "--insecure")
    assert result.code == 1
    assert "linux-64/libbar:9.9-stray: layers [] do not follow the layout" in result.err


def test_a_no_op_sync_is_one_conditional_request_per_subdir_on_each_side(cli, upstream, serve_dir, flaky):
    """Counted where they arrive: at the channel's HTTP server and at a proxy in front of the registry."""
    from tests.mirror.conftest import QuietHandler, serve_folder

    folder, _ = upstream
    asked: list[tuple[str, str, bool, int]] = []

    class Counting(QuietHandler):
        def log_request(self, code="-", size="-"):
            conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
            asked.append((self.command, self.path, conditional, int(code)))

    base, server = serve_folder(folder.parent, Counting)
    seen: list[str] = []
    proxy, _ = flaky(0, seen)
    try:
        command = ("mirror", "sync", "--from", f"{base}/conda-test", "--to", f"oci://{proxy}/{PREFIX}", "--insecure")
        first = cli(*command)
        assert first.code == 0, first.err
        downloads = [path for method, path, _, code in asked if code == 200 and "repodata.json" in path]
        assert sorted(downloads) == ["/conda-test/linux-64/repodata.json", "/conda-test/noarch/repodata.json"]  # each once
        asked.clear()
        seen.clear()
        again = cli(*command)
    finally:
        server.shutdown()
    assert again.code == 0 and "pushed 0, skipped 6, failed 0" in again.out
    assert sorted(asked) == [
        ("GET", "/conda-test/linux-64/repodata.json", True, 304),
        ("GET", "/conda-test/noarch/repodata.json", True, 304),
    ]
    assert sorted(seen) == [f"GET /v2/{PREFIX}/conda-test/linux-64/repodata.json/manifests/latest", f"GET /v2/{PREFIX}/conda-test/noarch/repodata.json/manifests/latest"]


def test_a_subdir_upstream_adds_later_is_found_through_channeldata(cli, registry, upstream, tmp_path):
    """The mirror's record names the subdirs; when the channel changed, channeldata.json may name more."""
    folder, url = upstream
    assert sync(cli, registry, url).code == 0
    extra = build_channel(tmp_path / "extra", [("macpkg", "0.1", "0", "osx-64", ("conda",)), ("newpkg", "0.1", "0", "noarch", ("conda",))])
    shutil.copytree(extra / "osx-64", folder / "osx-64")
    shutil.copy(extra / "noarch" / "newpkg-0.1-0.conda", folder / "noarch")
    import asyncio

    import rattler.index

    asyncio.run(rattler.index.index_fs(folder, write_zst=False, write_shards=False, force=True))
    (folder / "channeldata.json").write_text(json.dumps({"subdirs": ["linux-64", "noarch", "osx-64"]}))
    result = sync(cli, registry, url)
    assert result.code == 0, result.err
    assert "pushed 2, skipped 6, failed 0" in result.out
    again = sync(cli, registry, url)
    assert "pushed 0, skipped 8, failed 0" in again.out and "3 registry requests" in again.out


def test_a_subdir_run_does_not_narrow_later_full_syncs(cli, registry, upstream):
    folder, url = upstream
    first = sync(cli, registry, url, "--subdir", "noarch")
    assert first.code == 0, first.err
    full = sync(cli, registry, url)
    assert full.code == 0, full.err
    tags = {t for t in ("epochal", "libbar", "app")}
    for name in tags:
        listed = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/{name}/tags/list").json()
        assert listed.get("tags"), f"linux-64/{name} was never mirrored after a --subdir noarch run"
