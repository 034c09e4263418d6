"""A sync killed mid-run leaves no dangling tag, and a re-run completes the mirror."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

from condainfra.mirror.layout import MANIFEST_MEDIA_TYPE
from tests.mirror.conftest import HTTP, RegistryProcess, build_channel

PREFIX = "mirrors"


def no_dangling_tags(registry) -> int:
    """Every tag in the registry points at a manifest whose blobs all exist; returns the tag count."""
    base = f"http://{registry.url}/v2"
    count = 0
    for repo in HTTP.get(f"{base}/_catalog?n=1000").json()["repositories"]:
        for tag in HTTP.get(f"{base}/{repo}/tags/list").json().get("tags") or []:
            manifest = HTTP.get(f"{base}/{repo}/manifests/{tag}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
            for blob in [manifest["config"], *manifest["layers"]]:
                assert HTTP.head(f"{base}/{repo}/blobs/{blob['digest']}").status_code == 200, f"{repo}:{tag} -> {blob['digest']}"
            count += 1
    return count


def test_killed_sync_then_rerun(cli, registry, tmp_path, serve_dir):
    packages = [(f"pkg{i:02d}", "1.0", "0", "linux-64", ("conda",)) for i in range(40)]
    channel = build_channel(tmp_path / "many", packages)
    (tmp_path / "many" / "served").mkdir()
    channel.rename(tmp_path / "many" / "served" / "big")
    url = serve_dir(tmp_path / "many" / "served") + "/big"
    target = f"oci://{registry.url}/{PREFIX}"

    proc = subprocess.Popen(
        [sys.executable, "-m", "condainfra", "mirror", "sync", "--from", url, "--to", target, "--insecure", "--jobs", "1", "--subdir", "linux-64"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    pushed = 0
    for line in proc.stderr:
        if "pushed" in line:
            pushed += 1
            if pushed == 5:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    tags = no_dangling_tags(registry) - 1  # the start tag aside
    assert 5 <= tags < 40  # killed part way
    # the repodata was not published (it would list builds that are not there yet); the run's start was
    # tagged before its first build, so the re-run knows to look for them
    assert HTTP.get(f"http://{registry.url}/v2/{PREFIX}/big/linux-64/repodata.json/tags/list").json()["tags"] == ["started-1-of-1"]

    again = cli("mirror", "sync", "--from", url, "--to", target, "--insecure", "--subdir", "linux-64")
    assert again.code == 0, again.err
    assert "failed 0" in again.out and f"resumed {tags}" in again.out
    assert no_dangling_tags(registry) == 40 + 40 + 3  # 40 builds, their 40 CEP-16 shards, repodata latest + timestamp, the start
    verified = cli("mirror", "verify", "--to", target, "--channel", "big", "--insecure", "--subdir", "linux-64")
    assert verified.code == 0 and "OK: 40 artifact(s)" in verified.out
    listed = json.loads(HTTP.get(f"http://{registry.url}/v2/{PREFIX}/big/linux-64/repodata.json/manifests/latest", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).content)
    assert listed["layers"][0]["mediaType"] == "application/vnd.conda.repodata.v1+json"


def tag_listings(registry) -> set[str]:
    """The repositories whose tags the registry was asked for, from its access log."""
    log = (registry.root / "registry.log").read_text()
    # (a URI with a query, `?n=1000`, is logged in quotes)
    return set(re.findall(r"http\.request\.method=GET [^\n]*?http\.request\.uri=\"?/v2/(\S+?)/tags/list", log))


def test_a_first_sync_lists_no_package_tags_unless_a_run_started_before(cli, upstream, tmp_path):
    _, url = upstream
    registry = RegistryProcess(tmp_path / "logged", access_log=True).start()
    try:
        target = f"oci://{registry.url}/{PREFIX}"
        first = cli("mirror", "sync", "--from", url, "--to", target, "--insecure")
        assert first.code == 0 and "pushed 6, skipped 0, failed 0" in first.out, first.err
        # only each subdir's repodata repository, for an earlier run's start: no package's tags
        assert tag_listings(registry) == {f"{PREFIX}/conda-test/{s}/repodata.json" for s in ("linux-64", "noarch")}

        # the publications gone (as if the run had been killed before them): the start tags remain, so
        # the next run lists each package's tags and finds its builds instead of pushing them again
        base = f"http://{registry.url}/v2/{PREFIX}/conda-test"
        for subdir in ("linux-64", "noarch"):
            digest = HTTP.head(f"{base}/{subdir}/repodata.json/manifests/latest", headers={"Accept": MANIFEST_MEDIA_TYPE}).headers["docker-content-digest"]
            assert HTTP.delete(f"{base}/{subdir}/repodata.json/manifests/{digest}").status_code == 202
        again = cli("mirror", "sync", "--from", url, "--to", target, "--insecure")
        assert again.code == 0 and "pushed 0, skipped 0, failed 0, resumed 6" in again.out, again.err
        assert f"{PREFIX}/conda-test/linux-64/libbar" in tag_listings(registry)
    finally:
        registry.stop()
