"""`import github` is bounded (issue 17), against the shared hostile server (tests/hostile_server.py)
standing in for a GitHub API gone wrong: endless pages, a permanent 429, a trickle, bombs, a huge
answer, a non-ASCII ETag and a port that cannot exist are each one message, nothing written."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from tests.importers.github_stand_in import StandIn, acme


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    root = tmp_path / "fresh"
    (root / "stacks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    return root


def run(cli, root: Path, api: str, *more: str):
    return cli("import", "github", "--org", "acme", "--api-url", api, "--root", str(root), *more)


def stacks(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "stacks").rglob("*"))


def one_error(result) -> str:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err and "internal error" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    return errors[0]


def test_endless_next_pages_stop_at_the_page_limit(cli, empty, hostile):
    """Before: 1,082 requests in 30 s and counting."""
    started = time.monotonic()
    error = one_error(run(cli, empty, f"{hostile.url}/pages", "--limit", "pages=25", "--no-cache"))
    assert time.monotonic() - started < 15
    assert "more than 25 pages (limit pages)" in error and "nothing was written" in error
    assert hostile.hits["pages"] <= 1 + 4 * 25  # the org, and at most the limit of each list read at once
    assert stacks(empty) == []


def test_endless_pages_leave_a_bounded_cache(cli, empty, hostile):
    one_error(run(cli, empty, f"{hostile.url}/pages", "--limit", "pages=10"))
    cached = list((empty / ".condainfra" / "cache" / "github").glob("*.json")) if (empty / ".condainfra").exists() else []
    assert len(cached) <= 1 + 4 * 10


def test_a_permanent_429_is_asked_a_bounded_number_of_times(cli, empty, hostile):
    """Before: 1,471 requests in 20 s, forever."""
    started = time.monotonic()
    error = one_error(run(cli, empty, f"{hostile.url}/429", "--limit", "attempts=3"))
    assert time.monotonic() - started < 15
    assert "HTTP 429 (rate limited) after 3 attempts (limit attempts)" in error
    assert hostile.hits["429"] <= 5 * 3  # the five first requests go out at once
    assert stacks(empty) == []


@pytest.mark.parametrize("mode,expected", [
    ("huge", "larger than the api limit of 1 MiB (decompressed; limit api)"),
    ("gzip-bomb", "larger than the api limit of 1 MiB (decompressed; limit api)"),
    ("zstd-bomb", "larger than the api limit of 1 MiB (decompressed; limit api)"),
    ("trickle", "no complete answer within the api deadline of 1 s (limit api.deadline)"),
])
def test_a_hostile_answer_is_one_message(cli, empty, hostile, mode, expected):
    """Before: a 1 GiB answer took 3.2 GB of memory."""
    started = time.monotonic()
    error = one_error(run(cli, empty, f"{hostile.url}/{mode}", "--limit", "api=1MiB", "--limit", "api.deadline=1s"))
    assert time.monotonic() - started < 10
    assert f"{hostile.url}/{mode}/orgs/acme" in error and expected in error
    assert stacks(empty) == []


def test_the_run_deadline_stops_the_import(cli, empty, hostile):
    started = time.monotonic()
    error = one_error(run(cli, empty, f"{hostile.url}/trickle", "--limit", "run=1s"))
    assert time.monotonic() - started < 10
    assert "the run's deadline of 1 s (limit run)" in error


def test_a_port_that_cannot_exist_is_one_message(cli, empty):
    """Before: an asyncio traceback (OverflowError in a TaskGroup)."""
    error = one_error(run(cli, empty, "http://127.0.0.1:99999"))
    assert error == "error: --api-url 'http://127.0.0.1:99999': the port must be a number from 1 to 65535"


def test_a_non_ascii_etag_is_never_cached(cli, empty, hostile):
    """Before: the ETag was cached, and every later run failed with UnicodeEncodeError."""
    first = run(cli, empty, f"{hostile.url}/bad-etag")
    cache = empty / ".condainfra" / "cache" / "github"
    assert not cache.exists() or not any("caf" in p.read_text(encoding="utf-8") for p in cache.glob("*.json"))
    second = run(cli, empty, f"{hostile.url}/bad-etag")
    assert (second.code, second.err) == (first.code, first.err)
    assert "UnicodeEncodeError" not in first.err + second.err and "internal error" not in first.err + second.err


def test_a_cache_poisoned_by_an_older_version_is_ignored(cli, empty, monkeypatch):
    """An entry with a non-ASCII ETag, written before this fix, is asked for again instead of sent back."""
    from condainfra.importers.github_api import CACHE_DIR

    monkeypatch.setenv("GITHUB_TOKEN", "ghp_standInTokenNeverWritten0123456789")
    server = StandIn(acme()).start()
    try:
        url = f"{server.url}/orgs/acme"
        cache = empty / CACHE_DIR
        cache.mkdir(parents=True)
        (cache / (hashlib.sha256(url.encode()).hexdigest() + ".json")).write_text(
            json.dumps({"url": url, "etag": '"caf\u00e9"', "next": None, "body": {"login": "acme"}}), encoding="utf-8")
        result = run(cli, empty, server.url)
    finally:
        server.stop()
    assert result.code == 0, result.err
    assert "UnicodeEncodeError" not in result.err
