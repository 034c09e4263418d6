"""A hostile HTTP server on 127.0.0.1, shared by the mirror, dashboard and importer tests (and the
bombs benchmark): the first path segment picks what it does to whatever path follows, so any reader
can be pointed at it (``http://HOST/trickle`` as a channel, a bot-status folder or an API URL).

* ``/trickle/...``: a 200 that sends one byte every ``trickle_every`` seconds;
* ``/gzip-bomb/...``, ``/zstd-bomb/...``: ``Content-Encoding`` gzip or zstd, ``bomb_size`` spaces (JSON's
  whitespace, so nothing but the size is wrong with it); a ``.zst`` name is 404 (read the plain one);
* ``/file-bomb/...``: a ``.zst`` file (``repodata.json.zst``) that expands to ``bomb_size``; other names 404;
* ``/pages/...``: endless ``Link: rel="next"`` pages of a list (an object for a path without ``per_page``);
* ``/429/...``: always 429 with ``Retry-After: 0``;
* ``/loop/...``: a redirect to itself, forever;
* ``/elsewhere/...``: a redirect to a ``file:`` URL (a scheme no reader may follow);
* ``/huge/...``: a plain body of ``huge_size`` spaces (a ``.zst`` name is 404);
* ``/bad-etag/...``: an ordinary JSON answer whose ETag holds a non-ASCII character (a ``.zst`` name is 404).

Bombs are made on the fly, spaces streamed through a compressor, so nothing big is ever stored.
Every request is counted in ``hits`` by its first segment. Readers whose paths are fixed (an OCI
registry's ``/v2/...``) meet ``default``, the mode used for a path whose first segment is no mode.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import zstandard

BLOCK = 1 << 20
MODES = ("trickle", "gzip-bomb", "zstd-bomb", "file-bomb", "pages", "429", "loop", "elsewhere", "huge", "bad-etag")


def spaces_compressed(kind: str, size: int):
    """``size`` spaces as a gzip or zstd stream, piece by piece."""
    block = b" " * BLOCK
    if kind == "gzip":
        compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        finish = compressor.flush
    else:
        compressor = zstandard.ZstdCompressor(level=1).compressobj()
        finish = compressor.flush
    left = size
    while left > 0:
        piece = compressor.compress(block if left >= BLOCK else block[:left])
        left -= BLOCK
        if piece:
            yield piece
    yield finish()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without it each answer waits ~40 ms
    server: HostileServer

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        mode = segments[0] if segments[0] in MODES else (self.server.default or "unknown")
        with self.server.lock:
            self.server.hits[mode] += 1
        try:
            getattr(self, "_" + mode.replace("-", "_"))(parts)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what a capped client does

    def _unknown(self, parts):
        self._send(404, b"{}")

    def _send(self, status: int, body: bytes, **headers: str):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream(self, pieces, **headers: str):
        self.send_response(200)
        self.send_header("Connection", "close")  # the body ends when the connection does
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.close_connection = True
        for piece in pieces:
            self.wfile.write(piece)

    def _trickle(self, parts):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(100000):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(self.server.trickle_every)

    def _gzip_bomb(self, parts):
        if parts.path.endswith(".zst"):
            return self._send(404, b"{}")
        self._stream(spaces_compressed("gzip", self.server.bomb_size), Content_Encoding="gzip")

    def _zstd_bomb(self, parts):
        if parts.path.endswith(".zst"):
            return self._send(404, b"{}")
        self._stream(spaces_compressed("zstd", self.server.bomb_size), Content_Encoding="zstd")

    def _file_bomb(self, parts):
        if not parts.path.endswith(".zst"):
            return self._send(404, b"{}")
        self._stream(spaces_compressed("zstd", self.server.bomb_size))

    def _huge(self, parts):
        if parts.path.endswith(".zst"):
            return self._send(404, b"{}")
        size = self.server.huge_size
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b" " * BLOCK
        while size > 0:
            self.wfile.write(block[: min(size, BLOCK)])
            size -= BLOCK

    def _pages(self, parts):
        query = parse_qs(parts.query)
        if "per_page" not in query:
            return self._send(200, json.dumps({"login": "acme", "name": "acme"}).encode())
        page = int(query.get("page", ["1"])[0])
        nxt = dict(query, page=[str(page + 1)])
        link = f"<http://{self.headers['Host']}{parts.path}?" + "&".join(f"{k}={v[0]}" for k, v in sorted(nxt.items())) + '>; rel="next"'
        self._send(200, b"[]", Link=link)

    def _429(self, parts):
        self._send(429, b'{"message": "slow down"}', Retry_After="0")

    def _loop(self, parts):
        self._send(302, b"", Location=parts.path)

    def _elsewhere(self, parts):
        self._send(302, b"", Location="file:///etc/passwd")

    def _bad_etag(self, parts):
        if parts.path.endswith(".zst"):
            return self._send(404, b"{}")
        body = b"[]" if "per_page" in parts.query else json.dumps({"login": "acme"}).encode()
        self._send(200, body, ETag='"caf\u00e9"')


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, bomb_size: int = 64 << 20, huge_size: int = 64 << 20, trickle_every: float = 0.2):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bomb_size, self.huge_size, self.trickle_every = bomb_size, huge_size, trickle_every
        self.default: str | None = None
        self.hits: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request, client_address):
        # a client that hangs up mid-answer is what a capped client does, not a failure of the server
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    # run alone (the bombs benchmark starts it so, in a process of its own): prints its URL, serves until killed
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--bomb-size", type=int, default=2 << 30)
    parser.add_argument("--huge-size", type=int, default=1 << 30)
    parser.add_argument("--trickle-every", type=float, default=5.0)
    args = parser.parse_args()
    server = HostileServer(args.bomb_size, args.huge_size, args.trickle_every)
    print(server.url, flush=True)
    server.serve_forever()
