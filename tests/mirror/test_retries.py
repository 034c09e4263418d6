"""429 and 5xx answers are retried with backoff; a registry that keeps failing is one clear error.

Between the client and the real registry sits a loopback proxy that answers
some requests itself with 503 or 429 (as an overloaded registry or its load
balancer would), and passes the rest through.
"""

from __future__ import annotations

import functools
import threading

import pytest


# the waits between attempts are the policy's: these tests are about what is retried, not how long it waits
NO_WAIT = ("--limit", "backoff=0")


def test_sync_rides_out_429_and_503(cli, flaky, registry, upstream):
    _, url = upstream
    proxy, failures = flaky(fail_every=4)
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{proxy}/mirrors", "--insecure", "--jobs", "2", *NO_WAIT)
    assert result.code == 0, result.err
    assert "pushed 6, skipped 0, failed 0" in result.out
    assert 429 in failures and 503 in failures
    verified = cli("mirror", "verify", "--to", f"oci://{registry.url}/mirrors", "--channel", "conda-test", "--insecure")
    assert verified.code == 0, verified.err


@pytest.mark.parametrize("limit,attempts", [((), 5), (("--limit", "attempts=2"), 2)])
def test_a_registry_that_keeps_failing_is_one_clear_error(cli, flaky, upstream, limit, attempts):
    """The registry is asked as many times as the run's fetch policy says (5 unless --limit attempts=N)."""
    _, url = upstream
    proxy, failures = flaky(fail_every=1)
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{proxy}/mirrors", "--insecure", *NO_WAIT, *limit)
    assert result.code == 1
    assert f"registry {proxy}: GET /v2/" in result.err and f"HTTP {failures[-1]} after {attempts} attempts (limit attempts)" in result.err
    assert len(failures) == attempts and "Traceback" not in result.err


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
        result = cli("mirror", "sync", "--from", url, "--to", f"oci://{registry.url}/mirrors", "--insecure", *NO_WAIT)
    finally:
        server.shutdown()
    assert result.code == 0, result.err
    assert "pushed 6, skipped 0, failed 0" in result.out
    assert len(refused) == 6


def _uploads(on_put):
    """A proxy's answer hook: blob-upload PUTs go through `on_put(handler, body)`, True when it answered."""

    def answer(handler, body) -> bool:
        return handler.command == "PUT" and "/blobs/uploads/" in handler.path and on_put(handler, body)

    return answer


def _answer(handler, status: int, body: bytes) -> None:
    handler.reply(status, body, Content_Type="application/json")


def _first_only(status: int, body: bytes, seen: list[str]):
    """An answer hook that answers the first request it is given itself (noted in ``seen``), then no more."""

    lock = threading.Lock()  # the proxy answers on many threads

    def answer(handler, _body) -> bool:
        with lock:
            if seen:
                return False
            seen.append(handler.path)
        _answer(handler, status, body)
        return True

    return answer


def _synced_and_verified(cli, registry, upstream, host: str, seen: list[str]) -> None:
    """A sync through ``host`` met what ``seen`` records, completed, and left a mirror that verifies."""
    _, url = upstream
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{host}/mirrors", "--insecure", "--jobs", "1", *NO_WAIT)
    assert seen and result.code == 0, result.err
    assert "pushed 6, skipped 0, failed 0" in result.out
    assert cli("mirror", "verify", "--to", f"oci://{registry.url}/mirrors", "--channel", "conda-test", "--insecure").code == 0


def test_a_write_that_landed_but_answered_500_is_not_a_failure(cli, registry, upstream, proxy):
    """Before: the retried PUT met BLOB_UPLOAD_UNKNOWN and the whole sync aborted."""
    answered: list[str] = []

    def land_then_fail(handler, body):
        if answered:
            return False
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
        handler.client.request("PUT", f"http://{registry.url}{handler.path}", headers=headers, content=body)  # the write lands
        answered.append(handler.path)
        _answer(handler, 500, b'{"errors": [{"code": "UNKNOWN", "message": "lost the answer"}]}')
        return True

    _synced_and_verified(cli, registry, upstream, proxy(_uploads(land_then_fail)), answered)


def test_an_upload_the_registry_lost_is_started_again(cli, registry, upstream, proxy):
    lost: list[str] = []
    gone = b'{"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": "blob upload unknown to registry"}]}'
    _synced_and_verified(cli, registry, upstream, proxy(_uploads(_first_only(404, gone, lost))), lost)


# what distribution answered in CI while four shards pushed the same empty config into one repository
UNLINKED = (
    b'{"errors": [{"code": "DIGEST_INVALID", "message": "provided digest did not match uploaded content"},'
    b' {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry"}]}'
)


def _build_manifests(on_put):
    """A proxy's answer hook: the PUTs that tag a build go through `on_put` (not the subdir's start
    marker, records or repodata, which live in its repodata.json repository)."""

    def answer(handler, body) -> bool:
        return handler.command == "PUT" and "/manifests/" in handler.path and "/repodata.json/" not in handler.path and on_put(handler, body)

    return answer


def test_a_manifest_whose_fresh_blob_reads_unknown_for_a_moment_is_asked_again(cli, registry, upstream, proxy):
    refused: list[str] = []
    _synced_and_verified(cli, registry, upstream, proxy(_build_manifests(_first_only(400, UNLINKED, refused))), refused)


def test_a_manifest_whose_blob_stays_unknown_fails_alone_after_the_policys_attempts(cli, upstream, proxy):
    refused: list[str] = []
    lock = threading.Lock()

    def always_the_first(handler, body):
        with lock:
            if refused and handler.path != refused[0]:
                return False
            refused.append(handler.path)
        _answer(handler, 400, UNLINKED)
        return True

    _, url = upstream
    host = proxy(_build_manifests(always_the_first))
    result = cli("mirror", "sync", "--from", url, "--to", f"oci://{host}/mirrors", "--insecure", "--jobs", "1", *NO_WAIT, "--limit", "attempts=3")
    assert result.code == 1 and "Traceback" not in result.err
    assert "pushing the manifest answered HTTP 400: DIGEST_INVALID" in result.err and "MANIFEST_BLOB_UNKNOWN" in result.err
    # that build alone fails, asked three times and no more; the channel's other builds are pushed
    assert "pushed 5, skipped 0, failed 1" in result.out
    assert len(refused) == 3 and len(set(refused)) == 1, refused
