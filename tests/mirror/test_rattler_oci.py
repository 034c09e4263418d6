"""py-rattler reads the mirror directly over oci://, as pixi does.

rattler always speaks https on port 443 to an oci:// host and first asks
``https://HOST/token?scope=...`` for an anonymous pull token (ghcr.io's
front end). The registry here is the real one (Debian's docker-registry); in
front of it, on 127.0.0.1:443, a small TLS front serves that token endpoint
and passes /v2/ through, with a certificate from a test CA made by openssl.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

PREFIX = "mirrors"


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=condainfra test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    (folder / "leaf.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")
    return folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"


def tls_front(registry_url: str, cert: Path, key: Path, seen: list[str]):
    """A TLS front on 127.0.0.1:443: /token (anonymous pull tokens) and /v2/ passed to the registry."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def token(request):
        return JSONResponse({"token": "anonymous", "access_token": "anonymous"})

    async def passthrough(request):
        seen.append(request.url.path)
        async with httpx.AsyncClient(base_url=f"http://{registry_url}") as client:
            upstream = await client.request(request.method, request.url.path, params=request.query_params, headers={"Accept": request.headers.get("accept", "*/*")})
        headers = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "docker-content-digest", "etag")}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    app = Starlette(routes=[Route("/token", token), Route("/v2/{path:path}", passthrough, methods=["GET", "HEAD"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=443, ssl_certfile=str(cert), ssl_keyfile=str(key), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def oci_over_tls(cli, registry, upstream, tmp_path, monkeypatch):
    folder, url = upstream
    assert cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/{PREFIX}", "--insecure").code == 0
    ca, cert, key = make_ca(tmp_path)
    seen: list[str] = []
    server, thread = tls_front(registry.url, cert, key, seen)
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("could not listen on 127.0.0.1:443 (rattler's oci:// needs port 443; the tests run as root)")
        time.sleep(0.05)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    yield folder, ca, seen
    server.should_exit = True
    thread.join(10)


def test_py_rattler_installs_straight_from_oci(oci_over_tls, tmp_path):
    import rattler
    from rattler.networking import Client, OciMiddleware

    folder, ca, seen = oci_over_tls
    context = ssl.create_default_context(cafile=str(ca))
    assert httpx.get(f"https://127.0.0.1/v2/{PREFIX}/conda-test/linux-64/repodata.json/tags/list", verify=context).status_code == 200
    client = Client([OciMiddleware()])
    channel = rattler.Channel(f"oci://127.0.0.1/{PREFIX}/conda-test")

    async def go():
        gateway = rattler.Gateway(cache_dir=tmp_path / "cache", client=client)
        records = await rattler.solve([channel], ["app"], platforms=["linux-64", "noarch"], gateway=gateway)
        await rattler.install(records, target_prefix=tmp_path / "env", cache_dir=tmp_path / "pkgs", show_progress=False, client=client)
        return records

    records = asyncio.run(go())
    assert sorted(r.name.normalized for r in records) == ["app", "libbar", "pyfoo"]
    assert (tmp_path / "env" / "share" / "payload.txt").read_bytes().startswith(b"hello")
    # rattler read the repodata manifest by tag and fetched package blobs by the sha256 in repodata
    assert f"/v2/{PREFIX}/conda-test/linux-64/repodata.json/manifests/latest" in seen
    sha = json.loads((folder / "linux-64" / "repodata.json").read_text())["packages.conda"]["app-0.3-h0_0.conda"]["sha256"]
    assert f"/v2/{PREFIX}/conda-test/linux-64/app/blobs/sha256:{sha}" in seen
    # py-rattler reads CEP-16 shards straight from the OCI mirror: the index is a layer of repodata.json:latest,
    # each shard a blob of <subdir>/repodata.json/shards; the full repodata document is never downloaded
    assert any(p.startswith(f"/v2/{PREFIX}/conda-test/linux-64/repodata.json/shards/blobs/sha256:") for p in seen), seen
    manifest = httpx.get(f"https://127.0.0.1/v2/{PREFIX}/conda-test/linux-64/repodata.json/manifests/latest",
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}, verify=context).json()
    full = [l["digest"] for l in manifest["layers"] if l["mediaType"].startswith("application/vnd.conda.repodata.v1+json")]
    assert not any(p.endswith(digest) for digest in full for p in seen), seen
