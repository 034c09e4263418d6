"""Hostile and broken input to `mirror sync` and `mirror serve` (issue 11): names from a channel's repodata
are data, never paths; credentials never show; every bad input is one message, never an internal error."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from condainfra.mirror import layout
from tests.mirror.conftest import HTTP

PREFIX = "mirrors"


def snapshot(root: Path, skip: list[Path]) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` (outside ``skip``) with its size and sha256."""
    out = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or s in path.parents for s in skip) or path.is_dir():
            continue
        data = path.read_bytes() if path.is_file() else b""
        out[str(path)] = (len(data), hashlib.sha256(data).hexdigest())
    return out


def hostile_entries(folder: Path, outside: Path) -> dict[str, tuple[str, dict]]:
    """Bad repodata entries for linux-64 (key -> (filename, record)), and the files they point at."""
    app = json.loads((folder / "linux-64" / "repodata.json").read_text())["packages.conda"]["app-0.3-h0_0.conda"]
    attacker = b"attacker bytes\n"
    evil = dict(app, name="pwned", version="1.0", build="0", sha256=hashlib.sha256(attacker).hexdigest(), size=len(attacker), md5=hashlib.md5(attacker).hexdigest())
    # where a traversal would read from, over HTTP (the server's root) and from a folder (next to the channel)
    (folder.parent / "PWNED.conda").write_bytes(attacker)
    shutil.copy(folder / "linux-64" / "app-0.3-h0_0.conda", folder / "app-0.3-h0_0.conda")
    shutil.copy(folder / "linux-64" / "app-0.3-h0_0.conda", folder / "linux-64" / "notapp-0.3-h0_0.conda")
    return {
        "traversal": ("../../../PWNED.conda", evil),
        "valid name one folder up": ("../app-0.3-h0_0.conda", app),
        "absolute": (str(outside / "abs-1.0-0.conda"), dict(evil, name="abs")),
        "nul": ("nul-1.0-0\u0000.conda", dict(evil, name="nul")),
        "windows separators": ("..\\..\\win-1.0-0.conda", dict(evil, name="win")),
        "name differs from the record": ("notapp-0.3-h0_0.conda", app),
        "version differs from the record": ("app-0.4-h0_0.conda", app),
    }


@pytest.mark.parametrize("kind", ["http", "folder"])
def test_a_hostile_channel_writes_fetches_and_publishes_nothing(cli, registry, upstream, tmp_path, monkeypatch, kind):
    folder, url = upstream
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "abs-1.0-0.conda").write_bytes(b"attacker bytes\n")
    (outside / "victim.conda").write_bytes(b"must not be truncated\n")
    bad = hostile_entries(folder, outside)
    rd = json.loads((folder / "linux-64" / "repodata.json").read_text())
    for filename, record in bad.values():
        rd["packages.conda"][filename] = record
    (folder / "linux-64" / "repodata.json").write_text(json.dumps(rd))
    # the sync's own temporary files go below here; a traversal from there lands in tmp_path
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    before = snapshot(tmp_path, [registry.root, work])

    result = cli("mirror", "sync", "--from", url if kind == "http" else str(folder), "--to", f"oci://{registry.url}/{PREFIX}", "--insecure")

    assert result.code == 1, result.out + result.err
    assert snapshot(tmp_path, [registry.root, work]) == before
    assert list(work.iterdir()) == []  # nothing left behind either
    rejected = [line for line in result.err.splitlines() if "rejected" in line]
    assert len(rejected) == len(bad), result.err
    assert "\x00" not in result.err and "internal error" not in result.err
    assert "pushed 6, skipped 0, failed 0" in result.out and f"rejected {len(bad)}" in result.out
    repos = HTTP.get(f"http://{registry.url}/v2/_catalog").json()["repositories"]
    assert not [r for r in repos if r.rsplit("/", 1)[-1] in ("pwned", "abs", "nul", "win")]
    manifest = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/app/manifests/0.3-h0_0", headers={"Accept": layout.MANIFEST_MEDIA_TYPE}).json()
    titles = {l["annotations"][layout.TITLE] for l in manifest["layers"]}
    assert titles == {"app-0.3-h0_0.conda", "app-0.3-h0_0/info.tar.gz", "app-0.3-h0_0/info/index.json"}
    latest = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/repodata.json/manifests/latest", headers={"Accept": layout.MANIFEST_MEDIA_TYPE}).json()
    published = HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/repodata.json/blobs/{latest['layers'][0]['digest']}").json()
    assert not {fn for fn, _ in bad.values()} & set(published["packages.conda"])


def test_a_folder_source_opens_nothing_outside_the_channel(cli, registry, upstream, tmp_path):
    """A package file that is a link to a file outside the channel is not read."""
    folder, _ = upstream
    secret = tmp_path / "secret.conda"
    shutil.copy(folder / "linux-64" / "app-0.3-h0_0.conda", secret)
    (folder / "linux-64" / "app-0.3-h0_0.conda").unlink()
    (folder / "linux-64" / "app-0.3-h0_0.conda").symlink_to(secret)
    result = cli("mirror", "sync", "--from", str(folder), "--to", f"oci://{registry.url}/{PREFIX}", "--insecure")
    assert result.code == 1
    assert "error: linux-64/app-0.3-h0_0.conda: outside the channel" in result.err
    assert str(tmp_path) not in result.err
    assert "pushed 5, skipped 0, failed 1" in result.out


def test_a_package_that_is_not_an_archive_fails_alone(cli, registry, upstream):
    folder, url = upstream
    junk = b"this is not a zip file\n" * 10
    (folder / "linux-64" / "app-0.3-h0_0.conda").write_bytes(junk)
    rd = json.loads((folder / "linux-64" / "repodata.json").read_text())
    rd["packages.conda"]["app-0.3-h0_0.conda"].update(sha256=hashlib.sha256(junk).hexdigest(), md5=hashlib.md5(junk).hexdigest(), size=len(junk))
    (folder / "linux-64" / "repodata.json").write_text(json.dumps(rd))
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure")
    assert result.code == 1
    assert "internal error" not in result.err
    assert "error: linux-64/app-0.3-h0_0.conda: not a readable conda package" in result.err
    assert "pushed 5, skipped 0, failed 1" in result.out


@pytest.mark.parametrize(
    "to, message",
    [
        ("oci://127.0.0.1:99999/m", "error: 'oci://127.0.0.1:99999/m': the port must be a number from 1 to 65535"),
        ("oci://[::1/m", "error: 'oci://[::1/m': not a valid host"),
        ("oci://127.0.0.1:5000", "error: 'oci://127.0.0.1:5000': expected oci://HOST[:PORT]/PREFIX, the prefix is missing"),
        ("oci://127.0.0.1:5000/", "error: 'oci://127.0.0.1:5000/': expected oci://HOST[:PORT]/PREFIX, the prefix is missing"),
        ("oci://:5000/m", "error: 'oci://:5000/m': expected oci://HOST[:PORT]/PREFIX, the host is missing"),
    ],
)
def test_bad_oci_urls_are_one_line(cli, upstream, to, message):
    _, url = upstream
    for command in (["sync", "--from", url, "--to", to], ["verify", "--to", to, "--channel", "c"], ["serve", "--from", to]):
        result = cli("mirror", *command, "--insecure")
        assert result.code == 1
        assert result.err == message + "\n", result.err


def test_serve_shows_no_password_and_echoes_no_url(registry, cli, upstream):
    from starlette.testclient import TestClient

    from condainfra.mirror.registry import OciTarget
    from condainfra.mirror.serve import MirrorServer

    _, url = upstream
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure").code == 0
    target = OciTarget.parse(f"oci://someone:hunter2@{registry.url}/{PREFIX}", insecure=True)
    with TestClient(MirrorServer(target, []).app()) as client:
        index = client.get("/")
        assert index.status_code == 200 and "hunter2" not in index.text and "someone" not in index.text
        assert index.json()["mirror"] == f"oci://{registry.url}/{PREFIX}"
        for path in ("/" + "c" * 20_000 + "/linux-64/repodata.json", "/conda-test/" + "s" * 20_000 + "/repodata.json",
                     "/conda-test/linux-64/" + "p" * 20_000 + ".conda", "/conda-test/linux-64/repodata.json"):
            answer = client.get(path)
            assert answer.status_code in (200, 404), (path[:80], answer.status_code, answer.text[:200])
            if answer.status_code != 200:
                assert registry.url not in answer.text and "c" * 100 not in answer.text and "s" * 100 not in answer.text
                assert len(answer.text) < 200


def test_serve_errors_name_no_host(registry, cli, upstream):
    """The registry going away mid-serve: a 502 that names neither the registry nor the request."""
    from starlette.testclient import TestClient

    from condainfra.fetch import FetchPolicy
    from condainfra.mirror.registry import OciTarget
    from condainfra.mirror.serve import MirrorServer

    _, url = upstream
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure").code == 0
    no_wait = FetchPolicy(backoff=0)  # the registry is gone for good: what is asserted is the answer, not the waits
    with TestClient(MirrorServer(OciTarget.parse(f"oci://{registry.url}/{PREFIX}", insecure=True), [], no_wait).app()) as client:
        registry.stop()
        answer = client.get("/conda-test/linux-64/repodata.json")
        assert answer.status_code == 502
        assert registry.url not in answer.text and "conda-test" not in answer.text and "repodata" not in answer.text
