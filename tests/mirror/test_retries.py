"""429 and 5xx answers are retried with backoff; a registry that keeps failing is one clear error.

Between the client and the real registry sits a loopback proxy that answers
some requests itself with 503 or 429 (as an overloaded registry or its load
balancer would), and passes the rest through.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import threading

import httpx
import pytest


class FlakyProxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, upstream: str, fail_every: int, counter, failures: list, **kwargs):
        self.upstream, self.fail_every, self.counter, self.failures = upstream, fail_every, counter, failures
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        n = next(self.counter)
        if self.fail_every and n % self.fail_every == 0:
            status = 429 if (n // max(self.fail_every, 1)) % 2 else 503
            self.failures.append(status)
            self.send_response(status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        response = httpx.request(self.command, f"http://{self.upstream}{self.path}", headers=headers, content=body)
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            if key.lower() == "location":
                value = value.replace(self.upstream, f"127.0.0.1:{self.server.server_address[1]}")
            self.send_header(key, value)
        content = b"" if self.command == "HEAD" else response.content
        self.send_header("Content-Length", str(len(response.content) if self.command == "HEAD" else len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def flaky(registry):
    servers = []

    def start(fail_every: int):
        failures: list[int] = []
        handler = functools.partial(FlakyProxy, upstream=registry.url, fail_every=fail_every, counter=itertools.count(1), failures=failures)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}", failures

    yield start
    for server in servers:
        server.shutdown()


def test_sync_rides_out_429_and_503(cli, flaky, registry, upstream):
    _, url = upstream
    proxy, failures = flaky(fail_every=4)
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{proxy}/mirrors", "--insecure", "--jobs", "2")
    assert result.code == 0, result.err
    assert "pushed 6, skipped 0, failed 0" in result.out
    assert 429 in failures and 503 in failures
    verified = cli("mirror", "verify", "--to", f"oci://{registry.url}/mirrors", "--channel", "conda-test", "--insecure")
    assert verified.code == 0, verified.err


def test_a_registry_that_keeps_failing_is_one_clear_error(cli, flaky, upstream):
    _, url = upstream
    proxy, failures = flaky(fail_every=1)
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{proxy}/mirrors", "--insecure")
    assert result.code == 1
    assert f"registry {proxy}: GET /v2/: HTTP" in result.err and "after 6 attempts" in result.err
    assert len(failures) == 6 and "Traceback" not in result.err


def test_downloads_from_a_flaky_source_are_retried(cli, registry, upstream, tmp_path):
    """The upstream channel answers 503 to the first request for every package file."""
    import http.server as hs

    from tests.mirror.conftest import QuietHandler

    folder, _ = upstream
    refused: list[str] = []

    class FlakyChannel(QuietHandler):
        def do_GET(self):
            if self.path.endswith((".conda", ".tar.bz2")) and self.path not in refused:
                refused.append(self.path)
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

    server = hs.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(FlakyChannel, directory=str(folder.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/conda-test"
        result = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure")
    finally:
        server.shutdown()
    assert result.code == 0, result.err
    assert "pushed 6, skipped 0, failed 0" in result.out
    assert len(refused) == 6
