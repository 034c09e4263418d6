"""429 and 5xx answers are retried with backoff; a registry that keeps failing is one clear error.

Between the client and the real registry sits a loopback proxy that answers
some requests itself with 503 or 429 (as an overloaded registry or its load
balancer would), and passes the rest through.
"""

from __future__ import annotations

import functools
import threading


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
    assert f"registry {proxy}: GET /v2/" in result.err and "HTTP 503 after 6 attempts" in result.err
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
