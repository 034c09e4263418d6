"""The bearer-token flow against a real registry configured for token authentication.

The registry (Debian's docker-registry) is configured with `auth: token`, as
ghcr.io and Docker Hub are; the token service is a small one written here, as
any registry operator would run: it signs JWTs (RS256, with openssl) whose
certificate the registry trusts, grants anonymous pulls, and grants pushes
only to the username and token it was given.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.mirror.conftest import RegistryProcess, free_port

USER, SECRET = "mirror-bot", "s3cret-token"
SERVICE, ISSUER = "condainfra-test-registry", "condainfra-test-issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args, key: Path, cert_der: bytes, seen: list, **kwargs):
        self.key, self.cert_der, self.seen = key, cert_der, seen
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query)
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if (name, password) != (USER, SECRET):
                self.send_response(401)
                self.end_headers()
                return
            user = name
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            granted = [a for a in actions.split(",") if a == "pull" or (user and a == "push")]
            access.append({"type": kind, "name": name, "actions": granted})
        self.seen.append((user, query.get("scope", [])))
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": user or "", "aud": query.get("service", [""])[0], "exp": now + 300, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing_input, capture_output=True, check=True).stdout
        token = f"{signing_input.decode()}.{b64url(signature)}"
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def token_registry(tmp_path):
    folder = tmp_path / "token"
    folder.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=condainfra token issuer"], cwd=folder, check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", "cert.pem", "-outform", "DER"], cwd=folder, check=True, capture_output=True).stdout
    seen: list = []
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(TokenService, key=folder / "key.pem", cert_der=der, seen=seen))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    auth = f"auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {folder / 'cert.pem'}\n"
    registry = RegistryProcess(tmp_path / "registry", extra=auth).start()
    yield registry, seen
    registry.stop()
    server.shutdown()


@pytest.mark.parametrize("given_in", ["environment", "url"])
def test_push_with_credentials_pull_anonymously(cli, token_registry, upstream, monkeypatch, given_in):
    registry, seen = token_registry
    _, url = upstream
    target = f"oci://{registry.url}/mirrors"
    monkeypatch.delenv("CONDAINFRA_OCI_USERNAME", raising=False)
    monkeypatch.delenv("CONDAINFRA_OCI_TOKEN", raising=False)
    if given_in == "environment":
        monkeypatch.setenv("CONDAINFRA_OCI_USERNAME", USER)
        monkeypatch.setenv("CONDAINFRA_OCI_TOKEN", SECRET)
    result = cli("mirror", "sync", "--from", url, "--to", target if given_in == "environment" else f"oci://{USER}:{SECRET}@{registry.url}/mirrors", "--insecure")
    assert result.code == 0, result.err
    assert "pushed 6" in result.out
    assert any(user == USER and any(s.endswith(":pull,push") for s in scopes) for user, scopes in seen)
    assert SECRET not in result.out + result.err

    monkeypatch.delenv("CONDAINFRA_OCI_USERNAME", raising=False)
    monkeypatch.delenv("CONDAINFRA_OCI_TOKEN", raising=False)
    seen.clear()
    verified = cli("mirror", "verify", "--to", target, "--channel", "conda-test", "--insecure")
    assert verified.code == 0, verified.err
    assert seen and all(user is None for user, _ in seen)  # anonymous pull tokens only


def test_push_without_credentials_is_refused_clearly(cli, token_registry, upstream, monkeypatch):
    registry, _ = token_registry
    _, url = upstream
    monkeypatch.delenv("CONDAINFRA_OCI_USERNAME", raising=False)
    monkeypatch.delenv("CONDAINFRA_OCI_TOKEN", raising=False)
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure")
    assert result.code == 1
    assert "access denied" in result.err and "CONDAINFRA_OCI_USERNAME" in result.err
    assert "Traceback" not in result.err


def test_wrong_credentials_are_refused_clearly(cli, token_registry, upstream, monkeypatch):
    registry, _ = token_registry
    _, url = upstream
    monkeypatch.setenv("CONDAINFRA_OCI_USERNAME", USER)
    monkeypatch.setenv("CONDAINFRA_OCI_TOKEN", "wrong")
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure")
    assert result.code == 1
    assert "token service" in result.err and "HTTP 401" in result.err
    assert "wrong" not in result.err

