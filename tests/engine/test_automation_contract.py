"""Contract tests of preview / up / drift against the recording fake `pulumi` on PATH.

Mock: the Pulumi CLI (tests/engine/fake_pulumi.py). The Automation API, our engine modules, the
compiler and the safety rails are all real; so is the event transport (a file or gRPC).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import commands, deployed, diagnostic, failed, scenario, stack_file, step, urn_of


@pytest.mark.parametrize("version", ["v3.200.0", "v3.210.0"], ids=["event-log-file", "event-log-grpc"])
def test_preview_reports_each_step_from_the_engine_events(cli, workdir, fake_pulumi, tmp_path, monkeypatch, version):
    # up to v3.205 the CLI writes events to a file; after it, to the SDK's gRPC server: the report is the same
    monkeypatch.setenv("FAKE_PULUMI_VERSION", version)
    deployed(workdir, "bioconda")
    repo = urn_of(workdir, "bioconda", "repository:Repository", "bioconda-recipes")
    scenario(tmp_path, monkeypatch, {"bioconda": {"preview": [
        step("same", urn_of(workdir, "bioconda", "team:Team")),
        step("update", repo, old={"description": "old words", "topics": ["a"]}, new={"description": "new words", "topics": ["a"]}, diffs=["description"]),
    ]}})
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 2, result.err
    assert "Repository bioconda-recipes description:" in result.out and "old words" in result.out and "new words" in result.out
    report = json.loads(cli("preview", "--stack", "bioconda", "--format", "json", "--root", str(workdir)).out)
    (stack,) = report["stacks"]
    assert stack["create"] == [] and stack["delete"] == []
    (change,) = stack["update"]
    assert change["urn"] == repo and change["changes"] == [{"key": "description", "old": "old words", "new": "new words"}]


def test_preview_argv_backend_and_working_folder(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    deployed(workdir, "bioconda")
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 0, result.err
    calls = fake_pulumi()
    assert commands(calls) == ["version", "stack select", "stack export", "preview"]
    preview = calls[-1]["args"]
    assert calls[1]["args"][0] == "--non-interactive"
    assert preview[preview.index("--stack") + 1] == "bioconda"
    assert "--diff" in preview and preview[preview.index("--exec-kind") + 1] == "auto.local"
    assert not any(a.startswith("--client") for a in preview)  # the program named in Pulumi.yaml, not an inline one
    assert all(Path(c["cwd"]).resolve() == workdir.resolve() for c in calls[1:])  # all but `pulumi version`
    # the embedded default: the checkout's own file backend, and the passphrase handed to the engine
    assert {c["backend"] for c in calls[1:]} == {(workdir / ".condainfra" / "state").absolute().as_uri()}
    assert all(c["passphrase"] for c in calls[1:])
    assert "bioconda: no changes" in result.out or "No changes" in result.out


def test_preview_never_creates_a_stack(cli, workdir, fake_pulumi):
    result = cli("preview", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1
    (line,) = [x for x in result.err.splitlines() if "conda-forge" in x and "does not exist" in x]
    assert "condainfra init --stack conda-forge" in line and "condainfra up --stack conda-forge" in line
    assert "stack init" not in commands(fake_pulumi()) and not stack_file(workdir, "conda-forge").exists()
    assert "Traceback" not in result.err


def test_drift_never_creates_a_stack(cli, workdir, fake_pulumi):
    result = cli("drift", "--deep", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1 and "does not exist" in result.err
    assert "stack init" not in commands(fake_pulumi())


def test_up_creates_a_new_stack_with_the_passphrase_provider_and_applies(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    repo = urn_of(workdir, "bioconda", "repository:Repository", "bioconda-recipes")
    scenario(tmp_path, monkeypatch, {"bioconda": {"up": [step("create", repo, new={"name": "bioconda-recipes"}), step("create", repo, new={"name": "bioconda-recipes"}, outputs=True)]}})
    result = cli("up", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 0, result.err
    calls = fake_pulumi()
    assert commands(calls)[:3] == ["version", "stack select", "stack init"]
    init = [a for a in calls[2]["args"] if a != "--non-interactive"]
    assert init[:5] == ["stack", "init", "bioconda", "--secrets-provider", "passphrase"]
    assert commands(calls)[3:5] == ["stack export", "up"]  # then the SDK reads outputs and history back
    up = calls[4]["args"]
    assert "--yes" in up and "--skip-preview" in up and up[up.index("--stack") + 1] == "bioconda"
    assert stack_file(workdir, "bioconda").is_file()
    assert "encryptionsalt" in (workdir / "stacks" / "Pulumi.bioconda.yaml").read_text()
    # applied, said as done (it said "1 to create" after the fact)
    assert result.out.startswith("Up: 1 created, 0 updated, 0 deleted in 1 of 1 stack(s)") and "to create" not in result.out


def test_up_is_refused_before_pulumi_runs_when_the_state_shows_a_mass_removal(cli, workdir, fake_pulumi):
    def add_members(resources):
        # the live org has 40 more members than the config declares: up would remove them all
        template = next(r for r in resources if r["type"] == "github:index/membership:Membership")
        extra = []
        for i in range(40):
            item = json.loads(json.dumps(template))
            item["urn"] = template["urn"].rsplit("::", 1)[0] + f"::extra{i}"
            item["inputs"] = {"role": "member", "username": f"extra{i}"}
            extra.append(item)
        return resources + extra

    deployed(workdir, "conda-forge", add_members)
    result = cli("up", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1
    assert "the plan removes 40 of" in result.err and "--allow-member-removal" in result.err
    assert "up" not in commands(fake_pulumi())
    allowed = cli("up", "--stack", "conda-forge", "--allow-member-removal", "--root", str(workdir))
    assert allowed.code == 0, allowed.err
    assert "up" in commands(fake_pulumi())


def test_up_refuses_deleting_a_repository_found_in_state(cli, workdir, fake_pulumi):
    def add_repo(resources):
        template = next(r for r in resources if r["type"] == "github:index/repository:Repository")
        item = json.loads(json.dumps(template))
        item["urn"] = template["urn"].rsplit("::", 1)[0] + "::old-tool"
        item["inputs"] = {**template["inputs"], "name": "old-tool", "value": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "\"hunter2\""}}
        return resources + [item]

    deployed(workdir, "bioconda", add_repo)
    result = cli("up", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1 and "deletes 1 repository (old-tool)" in result.err
    assert "hunter2" not in result.out + result.err
    assert "up" not in commands(fake_pulumi())


def test_drift_is_a_refresh_preview_reporting_what_the_live_org_changed(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    deployed(workdir, "conda-forge")
    team = urn_of(workdir, "conda-forge", "team:Team", "core")
    repo = urn_of(workdir, "conda-forge", "repository:Repository")
    scenario(tmp_path, monkeypatch, {"conda-forge": {"refresh": [
        step("refresh", team, old={"privacy": "closed"}, new={"privacy": "secret"}),
        step("refresh", repo, old={"name": "x"}, new={"name": "x"}),  # read, unchanged: not drift
    ]}})
    result = cli("drift", "--deep", "--stack", "conda-forge", "--format", "json", "--root", str(workdir))
    assert result.code == 2, result.err
    refresh = next(c["args"] for c in fake_pulumi() if "refresh" in c["args"][:2])
    assert "--preview-only" in refresh
    (stack,) = json.loads(result.out)["stacks"]
    (drift,) = stack["drift"]
    assert drift["urn"] == team and drift["changes"] == [{"key": "privacy", "old": "closed", "new": "secret"}]


def test_a_failed_update_names_the_resource_and_the_engine_reason(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    deployed(workdir, "bioconda")
    repo = urn_of(workdir, "bioconda", "repository:Repository", "bioconda-recipes")
    scenario(tmp_path, monkeypatch, {"bioconda": {
        "up": [step("update", repo, old={"description": "a"}, new={"description": "b"}, diffs=["description"]), failed(repo),
               diagnostic("PATCH https://api.github.com/repos/bioconda/bioconda-recipes: 403 Resource not accessible by integration", "error", repo)],
        "up_error": "error: update failed",
    }})
    result = cli("up", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1
    (line,) = [x for x in result.err.splitlines() if x.startswith("error: bioconda:")]
    assert "403 Resource not accessible by integration" in line and "(failed: bioconda-recipes)" in line
    assert "Traceback" not in result.err


def test_engine_errors_are_one_line_and_exit_1(cli, workdir, fake_pulumi, monkeypatch):
    deployed(workdir, "conda-forge")
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "refresh")
    result = cli("drift", "--deep", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1
    assert "error: conda-forge: error: GET https://api.github.com/orgs/conda-forge: 401 Bad credentials" in result.err
    assert "Traceback" not in result.err


def test_no_pulumi_cli_is_a_clear_error(cli, workdir, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("preview", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1 and "the Pulumi CLI is not installed" in result.err
