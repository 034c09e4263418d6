"""The readers of outside signals, on small files in the real shapes, and on hostile ones."""

from __future__ import annotations

import json
from pathlib import Path

from condainfra.dashboard.sources.botstatus import html_to_text, load_bot_status, safe_link
from condainfra.dashboard.sources.drift import load_drift
from condainfra.dashboard.sources.orgconfig import load_org_people

from .conftest import migrated_copy, write_sources


def test_bot_status_in_the_bots_shapes(tmp_path):
    settings = write_sources(tmp_path)
    status = load_bot_status(settings["bot_status"])
    error = status.version_errors["libfoo"]
    assert error.attempts == 2.0
    assert error.job_url == "https://github.com/regro/cf-scripts/actions/runs/42"
    assert error.text.startswith("bot error (bot CI job): main:")  # the bot's own <a> markup is dropped
    assert "<script>alert('owned')</script>" in error.text  # anything else stays, as text
    assert status.queued == {"bazlib": "2.1"}
    [barpy] = status.migrations["barpy"]
    assert (barpy.migration, barpy.state, barpy.descendants) == ("big_migration", "in-pr", 120)
    assert any("broken.json: not valid JSON" in p for p in status.problems)


def test_hostile_bot_values_are_dropped_or_kept_as_text(tmp_path):
    folder = tmp_path / "status"
    (folder / "migrations").mkdir(parents=True)
    (folder / "version_status.v2.json").write_text(json.dumps({
        "errors": {"../../etc": "1 attempts - x", "ok": "1.00 attempts - <a href='javascript:alert(1)'>job</a> boom", "n": 5},
        "queued": {"q": ["not", "a", "version"]},
    }))
    (folder / "migrations" / "m.json").write_text(json.dumps({
        "_feedstock_status": {"ok": {"pr_url": "javascript:alert(1)", "num_descendants": "many"}},
        "in-pr": ["ok", "bad name!"], "done": {"not": "a list"},
    }))
    status = load_bot_status(str(folder))
    assert set(status.version_errors) == {"ok"}
    assert status.version_errors["ok"].job_url is None and status.version_errors["ok"].text == "job boom"
    assert status.queued == {}
    [m] = status.migrations["ok"]
    assert m.pr_url is None and m.descendants == 0
    assert len(status.problems) == 5


def test_missing_or_unreachable_bot_status_is_one_problem(tmp_path):
    assert load_bot_status(str(tmp_path / "nope")).problems == [f"bot status {tmp_path / 'nope'}: no such folder"]
    down = load_bot_status("http://127.0.0.1:9/status")
    assert len(down.problems) == 1 and "not reachable" in down.problems[0]


def test_links_and_text():
    assert safe_link("https://github.com/x") == "https://github.com/x"
    assert safe_link("javascript:alert(1)") is None and safe_link("//evil.example") is None and safe_link(3) is None
    assert html_to_text("<details><pre>a &lt; b</pre></details>") == "a < b"


def test_org_config_expands_teams_and_reports_unknown_ones(tmp_path):
    settings = write_sources(tmp_path)
    people = load_org_people(Path(settings["project_root"]))
    barpy = people.feedstocks[("conda-forge", "barpy")]
    assert barpy.maintainers == {"alice": "", "owner-one": "conda-forge/core", "carol": "conda-forge/core"}
    ghost = people.feedstocks[("conda-forge", "ghost")]
    assert ghost.maintainers == {"alice": ""}
    assert any("conda-forge/no-such-team" in p for p in people.problems)
    assert people.owners == {"conda-forge": ["owner-one", "owner-two"], "other-org": ["stranger", "owner-one"]}
    assert barpy.stack.startswith("conda-forge-feedstocks-")


def test_drift_report(tmp_path):
    assert load_drift(str(tmp_path / "none.json")).problems == [f"{tmp_path / 'none.json'}: no drift report yet"]
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert "expected an object" in load_drift(str(tmp_path / "bad.json")).problems[0]
    (tmp_path / "drift.json").write_text(json.dumps({"stacks": [{"stack": "s1", "update": [{"name": "libfoo"}], "create": [], "delete": [{"name": "x"}]}, "junk"]}))
    report = load_drift(str(tmp_path / "drift.json"))
    assert report.stacks["s1"].updates == 1 and report.stacks["s1"].deletes == 1 and report.stacks["s1"].names == ("libfoo", "x")
    assert len(report.problems) == 1


def test_refresh_logs_each_problem_once(tmp_path, caplog):
    from condainfra.dashboard import quetz_adapter as quetz
    from condainfra.dashboard.deployment import Deployment
    from condainfra.dashboard.refresh import refresh_all

    deployment = Deployment(tmp_path / "quetz")
    deployment.create(write_sources(tmp_path / "sources"))
    migrated_copy(deployment)
    with quetz.session_for(deployment.path) as db:
        with caplog.at_level("WARNING", logger="condainfra.dashboard"):
            first = refresh_all(db, quetz.settings())
            logged_first = [r.getMessage() for r in caplog.records]
            caplog.clear()
            second = refresh_all(db, quetz.settings())
            logged_second = [r.getMessage() for r in caplog.records]
    assert first.problems == second.problems
    assert any("broken.json" in m for m in logged_first) and any("no-such-team" in m for m in logged_first)
    assert logged_second == []
    assert first.counts["feedstocks"] == 4


def test_mirror_state_from_a_channel_folder(tmp_path):
    from condainfra.dashboard import demo
    from condainfra.dashboard.quetz_adapter import newer_build as newer
    from condainfra.dashboard.sources.mirrorstate import load_mirror_state

    built = demo.build_packages(tmp_path / "built", {"libfoo": [("1.0", "h0_0", ("linux-64", "noarch")), ("1.2", "h0_0", ("linux-64",))]})
    lacking = {("linux-64", "libfoo-1.2-h0_0.conda")}
    demo.write_mirror(tmp_path / "mirror" / "conda-forge", built, lacking)
    state = load_mirror_state(str(tmp_path / "mirror" / "conda-forge"), newer)
    assert state.problems == []
    assert state.latest == {("linux-64", "libfoo"): ("1.0", 0), ("noarch", "libfoo"): ("1.0", 0)}
    missing = load_mirror_state(str(tmp_path / "nowhere"), newer)
    assert missing.latest == {} and "no such channel folder" in missing.problems[0]


def test_hostile_counts_and_versions_are_bounded(tmp_path):
    import math

    folder = tmp_path / "status"
    (folder / "migrations").mkdir(parents=True)
    (folder / "version_status.v2.json").write_text(json.dumps({
        "errors": {"huge": "9" * 400 + " attempts - bot error"},
        "queued": {"ctl": "1.0\u0007\u001b", "ok": "2.0.1"},
    }))
    (folder / "migrations" / "m.json").write_text(json.dumps({
        "_feedstock_status": {"big": {"num_descendants": 10**20}, "flag": {"num_descendants": True}},
        "in-pr": ["big", "flag"],
    }))
    status = load_bot_status(str(folder))
    assert math.isfinite(status.version_errors["huge"].attempts) and status.version_errors["huge"].attempts == 10**9
    assert status.queued == {"ok": "2.0.1"}
    assert status.migrations["big"][0].descendants == 10**9 and status.migrations["flag"][0].descendants == 0


def test_drift_report_is_bounded(tmp_path):
    # the report is a CI artifact: too deep or too large is that source's one problem, never a crash
    from condainfra.fetch import FetchPolicy

    deep = tmp_path / "deep.json"
    deep.write_text('{"stacks": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert load_drift(str(deep)).problems == [f"{deep}: JSON nested deeper than 64 levels"]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"stacks": [{"stack": "s", "update": [{"name": "x" * 100}] * 20_000}]}))
    small = FetchPolicy().with_settings(["status=1MiB"], "--limit")
    problems = load_drift(str(big), small).problems
    assert len(problems) == 1 and "more than the 1 MiB" in problems[0]
    assert load_drift(str(big)).stacks["s"].updates == 20_000
