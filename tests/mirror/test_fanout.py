"""A sync spread over shards (`mirror sync --shard K/N --run ID`, then `mirror publish --run ID`) against
one real registry: the same tags and repodata as one process; a killed shard publishes nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from condainfra.mirror import layout, shards
from tests.mirror.conftest import HTTP, build_channel

ACCEPT = {"Accept": layout.MANIFEST_MEDIA_TYPE}
PACKAGES = [(f"pkg{i:02d}", "1.0", "0", "linux-64", ("conda",)) for i in range(14)] + [
    ("twofold", "2.0", "h1_0", "linux-64", ("conda", "tar.bz2")),
    ("pure", "1.0", "py_0", "noarch", ("conda",)),
    ("_underscored", "0.1", "0", "noarch", ("tar.bz2",)),
]


@pytest.fixture(scope="module")
def channel(tmp_path_factory):
    return build_channel(tmp_path_factory.mktemp("fanout"), PACKAGES)


@pytest.fixture
def served(channel, serve_dir, tmp_path):
    import shutil

    folder = tmp_path / "served" / "fan"
    shutil.copytree(channel, folder)
    return folder, serve_dir(folder.parent) + "/fan"


def condainfra(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "condainfra", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def shard_jobs(url: str, target: str, run: str, n: int = 4, skip: int | None = None) -> list[subprocess.Popen]:
    """All shards at once, as the workflow's matrix runs them."""
    return [condainfra("mirror", "sync", "--from", url, "--to", target, "--insecure", "--jobs", "1", "--shard", f"{k}/{n}", "--run", run)
            for k in range(1, n + 1) if k != skip]


def state(registry, prefix: str) -> dict:
    """Every repository under the prefix with its tags (timestamp tags aside), every repodata document and
    every shard index's name -> shard map."""
    base = f"http://{registry.url}/v2"
    out: dict = {}
    for repo in HTTP.get(f"{base}/_catalog?n=1000").json()["repositories"]:
        if not repo.startswith(prefix + "/"):
            continue
        tags = sorted(t for t in HTTP.get(f"{base}/{repo}/tags/list").json().get("tags") or [] if not t.startswith("20"))
        out[repo.removeprefix(prefix + "/")] = tags
        if repo.endswith("/repodata.json") and "latest" in tags:
            manifest = HTTP.get(f"{base}/{repo}/manifests/latest", headers=ACCEPT).json()
            layers = {l["mediaType"]: l["digest"] for l in manifest["layers"]}
            out[repo.removeprefix(prefix + "/") + ":json"] = HTTP.get(f"{base}/{repo}/blobs/{layers[layout.REPODATA_JSON]}").json()
            index = shards.read_index(HTTP.get(f"{base}/{repo}/blobs/{layers[shards.INDEX_MEDIA_TYPE]}").content)
            out[repo.removeprefix(prefix + "/") + ":shards"] = index
    return out


def test_four_shards_at_once_then_publish_equal_one_process(cli, registry, served):
    folder, url = served
    target = f"oci://{registry.url}/sharded"
    jobs = shard_jobs(url, target, "run-1")
    for job in jobs:
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
    # the shards publish nothing: no repodata yet, only their records
    for subdir in ("linux-64", "noarch"):
        tags = HTTP.get(f"http://{registry.url}/v2/sharded/fan/{subdir}/repodata.json/tags/list").json()["tags"]
        assert sorted(t for t in tags if t.startswith("shard-")) == [f"shard-{k}-of-4" for k in range(1, 5)]
        # and the start of each shard that had builds to push there
        assert {t for t in tags if not t.startswith("shard-")} <= {f"started-{k}-of-4" for k in range(1, 5)}
    published = cli("mirror", "publish", "--from", url, "--to", target, "--insecure", "--run", "run-1")
    assert published.code == 0, published.err
    assert "published linux-64, noarch" in published.out

    single = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/single", "--insecure")
    assert single.code == 0, single.err
    sharded, alone = state(registry, "sharded"), state(registry, "single")
    for key in list(sharded):
        if key.endswith("/repodata.json"):
            sharded[key] = [t for t in sharded[key] if not t.startswith(("shard-", "started-"))]
            alone[key] = [t for t in alone[key] if t != "started-1-of-1"]
    assert sharded == alone
    assert len([k for k in alone if not k.endswith((":json", ":shards"))]) == 2 * 2 + 17  # repodata and shards per subdir, 17 packages
    upstream = json.loads((folder / "linux-64" / "repodata.json").read_text())
    assert alone["fan/linux-64/repodata.json:json"]["packages.conda"] == upstream["packages.conda"]
    assert cli("mirror", "verify", "--to", target, "--channel", "fan", "--insecure").code == 0


def test_a_killed_shard_publishes_nothing_and_the_next_run_completes(cli, registry, served):
    _, url = served
    target = f"oci://{registry.url}/sharded"
    others = shard_jobs(url, target, "run-1", skip=3)
    victim = condainfra("mirror", "sync", "--from", url, "--to", target, "--insecure", "--jobs", "1", "--shard", "3/4", "--run", "run-1", "--subdir", "linux-64")
    for line in victim.stderr:
        if ": pushed " in line:
            victim.send_signal(signal.SIGKILL)
            break
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL
    for job in others:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err

    refused = cli("mirror", "publish", "--from", url, "--to", target, "--insecure", "--run", "run-1")
    assert refused.code == 1
    assert "error: linux-64: nothing published: shard(s) 3/4 of run 'run-1' did not finish" in refused.err
    assert "error: noarch: nothing published: shard(s) 3/4 of run 'run-1' did not finish" in refused.err
    for subdir in ("linux-64", "noarch"):
        tags = HTTP.get(f"http://{registry.url}/v2/sharded/fan/{subdir}/repodata.json/tags/list").json()["tags"]
        assert "latest" not in tags

    # a record left by an earlier run is not this run's: publish still refuses
    assert cli("mirror", "publish", "--from", url, "--to", target, "--insecure", "--run", "run-2").code == 1

    for job in shard_jobs(url, target, "run-2"):
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
    again = cli("mirror", "publish", "--from", url, "--to", target, "--insecure", "--run", "run-2")
    assert again.code == 0, again.err
    verified = cli("mirror", "verify", "--to", target, "--channel", "fan", "--insecure")
    assert verified.code == 0 and "OK: 18 artifact(s) in 2 subdir(s)" in verified.out


def test_shard_and_run_are_checked(cli, served, registry):
    _, url = served
    target = f"oci://{registry.url}/sharded"
    for bad in ("0/4", "5/4", "x", "1/0", "1/2/3"):
        result = cli("mirror", "sync", "--from", url, "--to", target, "--insecure", "--shard", bad, "--run", "r")
        assert result.code == 1 and "expected K/N" in result.err
    result = cli("mirror", "sync", "--from", url, "--to", target, "--insecure", "--shard", "1/2")
    assert result.code == 1 and "--shard needs --run ID" in result.err
    result = cli("mirror", "publish", "--from", url, "--to", target, "--insecure", "--run", "a b;c")
    assert result.code == 1 and "--run 'a b;c'" in result.err
