"""The dashboard's sources are read under the fetch policy (issue 17), against the shared hostile
server (tests/hostile_server.py): a bomb, a huge body, a trickle or a redirect loop is one problem
naming the source and the limit, and each source fails alone in a refresh."""

from __future__ import annotations

import json
import time

import pytest

from condainfra.dashboard.sources.botstatus import load_bot_status
from condainfra.dashboard.sources.fetch import refresh_policy

from .conftest import migrated_copy, write_sources

SMALL = ["status=2MiB", "status.deadline=1s", "repodata=2MiB", "repodata.deadline=1s", "channeldata=1MiB", "channeldata.deadline=1s", "attempts=2"]


@pytest.mark.parametrize("mode,expected", [
    ("gzip-bomb", "larger than the status limit of 2 MiB (decompressed; limit status)"),
    ("zstd-bomb", "larger than the status limit of 2 MiB (decompressed; limit status)"),
    ("huge", "larger than the status limit of 2 MiB (decompressed; limit status)"),
    ("trickle", "no complete answer within the status deadline of 1 s (limit status.deadline)"),
    ("loop", "more than 5 redirects (a redirect loop?; limit redirects)"),
    ("429", "HTTP 429 after 2 attempts (limit attempts)"),
])
def test_a_hostile_bot_status_is_one_problem(hostile, mode, expected):
    started = time.monotonic()
    status = load_bot_status(f"{hostile.url}/{mode}/status", refresh_policy(SMALL))
    assert time.monotonic() - started < 5
    assert len(status.problems) == 1, status.problems
    [problem] = status.problems
    assert problem.startswith(f"bot status {hostile.url}/{mode}/status/current_status.json: ") and problem.endswith(expected)
    assert not (status.version_errors or status.queued or status.migrations)


def test_bot_status_nested_too_deep_is_one_problem(tmp_path):
    folder = tmp_path / "status"
    folder.mkdir()
    (folder / "version_status.v2.json").write_text("[" * 100_000 + "]" * 100_000)
    status = load_bot_status(str(folder))
    assert len(status.problems) == 1 and "nested deeper than" in status.problems[0]


def test_a_big_local_status_file_is_capped(tmp_path):
    folder = tmp_path / "status"
    folder.mkdir()
    (folder / "version_status.v2.json").write_bytes(b" " * (3 << 20) + b"{}")
    status = load_bot_status(str(folder), refresh_policy(["status=2MiB"]))
    assert status.problems == [f"bot status {folder}/version_status.v2.json: larger than the status limit of 2 MiB (decompressed; limit status)"]


def test_each_source_fails_alone_and_its_problem_is_kept(tmp_path, hostile, monkeypatch):
    """Before: a redirect loop in one source ended the whole refresh with `internal error: TooManyRedirects`."""
    from condainfra.dashboard import quetz_adapter as quetz
    from condainfra.dashboard import refresh as refresh_module
    from condainfra.dashboard import tables
    from condainfra.dashboard.deployment import Deployment

    settings = write_sources(tmp_path / "sources")
    settings.update(bot_status=f"{hostile.url}/loop/status", mirror_url=f"{hostile.url}/trickle/conda-forge",
                    feedstock_outputs=f"{hostile.url}/gzip-bomb/feedstock_outputs.json", limits=SMALL)
    deployment = Deployment(tmp_path / "quetz")
    deployment.create(settings)
    migrated_copy(deployment)

    def broken(path, policy=None):
        raise RuntimeError("a bug in the drift reader")

    monkeypatch.setattr(refresh_module, "load_drift", broken)
    with quetz.session_for(deployment.path) as db:
        started = time.monotonic()
        report = refresh_module.refresh_all(db, quetz.settings())
        elapsed = time.monotonic() - started
        kept = {row.source: json.loads(row.problems) for row in db.query(tables.RefreshRun)}
    assert elapsed < 20
    assert report.counts["feedstocks"] == 4  # the config source was refreshed
    assert report.problems["bot"] == [f"bot status {hostile.url}/loop/status/current_status.json: more than 5 redirects (a redirect loop?; limit redirects)"]
    assert any("no complete answer within the channeldata deadline of 1 s" in p for p in report.problems["mirror"])
    assert any(p.startswith(f"feedstock outputs {hostile.url}/gzip-bomb/feedstock_outputs.json") and "limit status" in p for p in report.problems["config"])
    assert report.problems["drift"] == ["internal error: RuntimeError: a bug in the drift reader"]
    for source in ("bot", "mirror", "config", "drift"):
        assert kept[source] == report.problems[source]


def test_refresh_takes_limits_on_the_command_line(tmp_path, hostile, cli):
    from condainfra.dashboard.deployment import Deployment

    settings = write_sources(tmp_path / "sources")
    settings.update(bot_status=f"{hostile.url}/huge/status", mirror_url="")
    deployment = Deployment(tmp_path / "quetz")
    deployment.create(settings)
    migrated_copy(deployment)
    result = cli("dashboard", "refresh", "--dir", str(deployment.path), "--limit", "status=1MiB")
    assert result.code == 0, result.err
    assert f"warning: bot: bot status {hostile.url}/huge/status/current_status.json: larger than the status limit of 1 MiB" in result.err
    assert "refreshed: 4 feedstocks" in result.out
    bad = cli("dashboard", "refresh", "--dir", str(deployment.path), "--limit", "status=lots")
    assert bad.code == 1 and "--limit 'status=lots': expected a size like 800MiB or 2GiB" in bad.err and "Traceback" not in bad.err
