"""One artifact, one failure: a record without a well-formed sha256, or a registry that refuses one build,
fails that build alone; the rest is pushed and published. `mirror serve` redirects stay on its host."""

from __future__ import annotations

import json

import pytest

from tests.mirror.conftest import HTTP

PREFIX = "mirrors"


def repodata_of(folder, subdir):
    return json.loads((folder / subdir / "repodata.json").read_text())


def published(registry, subdir) -> dict:
    base = f"http://{registry.url}/v2/{PREFIX}/conda-test/{subdir}/repodata.json"
    manifest = HTTP.get(f"{base}/manifests/latest", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    return HTTP.get(f"{base}/blobs/{manifest['layers'][0]['digest']}").json()


@pytest.mark.parametrize("sha256", ["", None, "ABC", "0" * 63, "g" * 64])
def test_a_record_without_a_well_formed_sha256_is_rejected_and_never_pushed(cli, registry, upstream, sha256):
    folder, url = upstream
    rd = repodata_of(folder, "linux-64")
    if sha256 is None:
        del rd["packages.conda"]["app-0.3-h0_0.conda"]["sha256"]
    else:
        rd["packages.conda"]["app-0.3-h0_0.conda"]["sha256"] = sha256
    (folder / "linux-64" / "repodata.json").write_text(json.dumps(rd))
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure")
    assert result.code == 1
    assert "error: rejected repodata entry linux-64/'app-0.3-h0_0.conda': its record has no well-formed sha256" in result.err
    assert "pushed 5, skipped 0, failed 0, rejected 1" in result.out  # the others, noarch included
    assert HTTP.get(f"http://{registry.url}/v2/{PREFIX}/conda-test/linux-64/app/tags/list").status_code == 404
    assert "app-0.3-h0_0.conda" not in published(registry, "linux-64")["packages.conda"]
    assert "libbar-2.1-h5678_1.conda" in published(registry, "linux-64")["packages.conda"]
    # the next run does not abort either
    again = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure")
    assert again.code == 1 and "failed 0, rejected 1" in again.out


def test_a_registry_error_on_one_build_fails_that_build_alone(cli, registry, upstream, proxy):
    def refuse_libbar(handler, body) -> bool:
        if handler.command != "PUT" or "/libbar/manifests/" not in handler.path:
            return False
        handler.reply(403, b'{"errors":[{"code":"DENIED","message":"refused by the test"}]}', Content_Type="application/json")
        return True

    _, url = upstream
    host = proxy(refuse_libbar)
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{host}/{PREFIX}", "--insecure")
    assert result.code == 1
    assert "error: linux-64/libbar-2.1-h5678_1.conda:" in result.err and "DENIED: refused by the test" in result.err
    assert "pushed 4, skipped 0, failed 2" in result.out  # both files of the build; noarch synced after it
    listed = published(registry, "linux-64")
    assert "app-0.3-h0_0.conda" in listed["packages.conda"] and "libbar-2.1-h5678_1.conda" not in listed["packages.conda"]
    assert published(registry, "noarch")["packages.conda"]


def test_serve_redirects_are_relative(registry, cli, upstream):
    from starlette.testclient import TestClient

    from condainfra.mirror.registry import OciTarget
    from condainfra.mirror.serve import MirrorServer

    with TestClient(MirrorServer(OciTarget.parse(f"oci://{registry.url}/{PREFIX}", insecure=True), []).app()) as client:
        for path, location in (("/conda-test/linux-64/", "/conda-test/linux-64"), ("/conda-test/", "/conda-test")):
            answer = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
            assert answer.status_code == 307 and answer.headers["location"] == location
