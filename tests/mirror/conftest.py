"""Real parts for the mirror tests: Debian's docker-registry, packages built by py-rattler-build,
a channel indexed by py-rattler and served over loopback HTTP."""

from __future__ import annotations

import functools
import http.server
import itertools
import shutil
import threading
from pathlib import Path

import httpx
import pytest

from condainfra.mirror.localparts import (  # noqa: F401  (the tests import them from here)
    DEPENDS,
    PACKAGES,
    REGISTRY_BIN,
    QuietHandler,
    RegistryProcess,
    build_channel,
    free_port,
    serve_folder,
    wait_for,
)


# what the tests read back from registries and servers: one client, since each new one loads the CA bundle
HTTP = httpx.Client(timeout=60)


@pytest.fixture(scope="session", autouse=True)
def _http_closed():
    yield
    HTTP.close()


@pytest.fixture
def registry(tmp_path):
    """A real OCI registry (distribution v2) on a free loopback port, with its own storage and config."""
    if not Path(REGISTRY_BIN).exists():
        pytest.fail("docker-registry is not installed: run the README's test command (bash scripts/test)")
    reg = RegistryProcess(tmp_path / "registry").start()
    yield reg
    reg.stop()


@pytest.fixture
def serve_dir():
    """Serve folders over loopback HTTP; returns a function folder -> base URL."""
    servers = []

    def serve(folder: Path) -> str:
        url, server = serve_folder(folder)
        servers.append(server)
        return url

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def built_channel(tmp_path_factory):
    return build_channel(tmp_path_factory.mktemp("channel"))


@pytest.fixture
def upstream(tmp_path, built_channel, serve_dir):
    """A private copy of the built channel, served over loopback HTTP: (folder, URL)."""
    folder = tmp_path / "served" / "conda-test"
    shutil.copytree(built_channel, folder)
    return folder, serve_dir(folder.parent) + "/conda-test"


class Proxy(http.server.BaseHTTPRequestHandler):
    """Passes every request on to ``upstream`` (a registry), unless ``answer(handler, body)`` answered it
    itself (then it returns True); appends each request it sees ('METHOD /path') to ``seen``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without it each answer waits ~40 ms

    def __init__(self, *args, upstream: str, client: httpx.Client, answer, seen: list, **kwargs):
        self.upstream, self.client, self.answer, self.seen = upstream, client, answer, seen
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append(f"{self.command} {self.path}")
        if self.answer is not None and self.answer(self, body):
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        response = self.client.request(self.command, f"http://{self.upstream}{self.path}", headers=headers, content=body)
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            if key.lower() == "location":
                value = value.replace(self.upstream, f"127.0.0.1:{self.server.server_address[1]}")
            self.send_header(key, value)
        content = b"" if self.command == "HEAD" else response.content
        # a HEAD's answer has no body: its Content-Length is the registry's (a blob's size), passed on
        self.send_header("Content-Length", response.headers.get("content-length", "0") if self.command == "HEAD" else str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def proxy(registry):
    """Proxies in front of `registry`: start(answer=None, seen=None) -> host:port (see Proxy)."""
    servers = []
    # one client for all of a proxy's requests: a new one per request loaded the CA bundle each time
    client = httpx.Client(timeout=60)

    def start(answer=None, seen: list | None = None) -> str:
        handler = functools.partial(Proxy, upstream=registry.url, client=client, answer=answer, seen=seen if seen is not None else [])
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    client.close()


@pytest.fixture
def flaky(proxy):
    """A proxy in front of `registry` that answers every n-th request itself with 503 or 429 (0: never),
    and appends each request it sees ('METHOD /path') to `seen`: start(n, seen) -> (host:port, failures)."""

    def start(fail_every: int, seen: list | None = None):
        failures: list[int] = []
        counter = itertools.count(1)
        lock = threading.Lock()

        def answer(handler, body) -> bool:
            with lock:
                n = next(counter)
            if not fail_every or n % fail_every:
                return False
            status = 429 if (n // fail_every) % 2 else 503
            failures.append(status)
            handler.reply(status, Retry_After="0")
            return True

        return proxy(answer, seen), failures

    return start
