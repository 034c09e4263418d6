"""A sync killed mid-run leaves no dangling tag, and a re-run completes the mirror."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from tests.mirror.conftest import HTTP, build_channel

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

    tags = no_dangling_tags(registry)
    assert 5 <= tags < 40  # killed part way
    # the repodata was not published: it would list builds that are not there yet
    assert HTTP.get(f"http://{registry.url}/v2/{PREFIX}/big/linux-64/repodata.json/tags/list").status_code == 404

    again = cli("mirror", "sync", "--from", url, "--to", target, "--insecure", "--subdir", "linux-64")
    assert again.code == 0, again.err
    assert "failed 0" in again.out and f"resumed {tags}" in again.out
    assert no_dangling_tags(registry) == 40 + 40 + 2  # 40 builds, their 40 CEP-16 shards, repodata latest + timestamp
    verified = cli("mirror", "verify", "--to", target, "--channel", "big", "--insecure", "--subdir", "linux-64")
    assert verified.code == 0 and "OK: 40 artifact(s)" in verified.out
    listed = json.loads(HTTP.get(f"http://{registry.url}/v2/{PREFIX}/big/linux-64/repodata.json/manifests/latest", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).content)
    assert listed["layers"][0]["mediaType"] == "application/vnd.conda.repodata.v1+json"
