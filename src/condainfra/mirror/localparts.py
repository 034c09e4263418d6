"""Real local parts for trying the mirror end to end: Debian's docker-registry on a loopback port, a
folder served over loopback HTTP, and a channel of real packages (py-rattler-build, indexed by py-rattler).

The tests and the benchmarks both use them; the benchmarks must run without pytest, so they live here.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0, verify=True) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1, verify=verify) as client:  # one client: each new one loads the CA bundle
        while time.monotonic() < deadline:
            try:
                if client.get(url).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not come up")


class RegistryProcess:
    def __init__(self, root: Path, port: int | None = None, extra: str = "", access_log: bool = False):
        self.root = root
        self.port = port or free_port()
        self.config = root / "config.yml"
        self.storage = root / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "version: 0.1\n"
            f"log:\n  level: {'info' if access_log else 'error'}\n  accesslog:\n    disabled: {'false' if access_log else 'true'}\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n{extra}"
        )
        self.proc: subprocess.Popen | None = None

    def start(self, scheme: str = "http", verify=True) -> RegistryProcess:
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(self.config)], stdout=subprocess.DEVNULL, stderr=(self.root / "registry.log").open("w"))
        wait_for(f"{scheme}://127.0.0.1:{self.port}/v2/", verify=verify)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_folder(folder: Path, handler: type[http.server.BaseHTTPRequestHandler] = QuietHandler) -> tuple[str, http.server.ThreadingHTTPServer]:
    """(base URL, server) of ``folder`` served over loopback HTTP on a free port; shut it down when done."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    # shutdown() waits for the serving loop to look again: by default every 0.5 s, at every test's teardown
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


# name, version, build, subdir, formats
PACKAGES = [
    ("_private-mutex", "1.0", "0", "noarch", ("conda",)),
    ("pyfoo", "1.0+local.1", "py_0", "noarch", ("conda",)),
    ("epochal", "1!2.0", "h1234_0", "linux-64", ("tar.bz2",)),
    ("libbar", "2.1", "h5678_1", "linux-64", ("conda", "tar.bz2")),
    ("app", "0.3", "h0_0", "linux-64", ("conda",)),
]
DEPENDS = {"app": ["libbar >=2", "pyfoo"]}


def build_channel(root: Path, packages=PACKAGES, payload: bytes = b"hello\n") -> Path:
    """Real conda packages (py-rattler-build), indexed by py-rattler, in ``root/upstream``."""
    import rattler.index
    from rattler_build import ArchiveType, assemble_package

    channel = root / "upstream"
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "share").mkdir(exist_ok=True)
    stamp = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for name, version, build, subdir, formats in packages:
        (files / "share" / "payload.txt").write_bytes(payload + name.encode())
        out = channel / subdir
        out.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            assemble_package(
                name=name,
                version=version,
                target_platform=subdir if subdir != "noarch" else "linux-64",
                build_string=build,
                output_dir=str(out),
                files_dir=str(files),
                noarch="generic" if subdir == "noarch" else None,
                depends=DEPENDS.get(name),
                archive_type=ArchiveType.Conda if fmt == "conda" else ArchiveType.TarBz2,
                timestamp=stamp,
                compression_level=1,
            )
    for subdir in ("noarch", "linux-64"):
        (channel / subdir).mkdir(exist_ok=True)
    asyncio.run(rattler.index.index_fs(channel, write_zst=False, write_shards=False, force=True))
    return channel
