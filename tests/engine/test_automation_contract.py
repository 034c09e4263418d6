"""Contract tests of preview / up / drift against a recording fake `pulumi` on PATH.

Mock: the Pulumi CLI (tests/engine/fake_pulumi.py). The Automation API, our
engine module, the compiler and the safety rails are all real.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from condainfra.project import Project

FAKE = Path(__file__).with_name("fake_pulumi.py")


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "pulumi-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def deployed_state(tmp_path: Path, project: Project, stack: str, monkeypatch, mutate=None) -> None:
    """A `pulumi stack export` of the stack as compiled (what a successful `up` leaves)."""
    resources = [{"urn": f"urn:pulumi:{stack}::condainfra::pulumi:pulumi:Stack::condainfra-{stack}", "type": "pulumi:pulumi:Stack", "custom": False}]
    for r in project.compile(project.stack(stack)):
        item = {"urn": r.urn, "type": r.type, "custom": r.custom, "inputs": r.inputs, "parent": r.parent or resources[0]["urn"], "protect": r.protect}
        if r.provider:
            item["provider"] = f"{r.provider}::provider-id"
        resources.append(item)
    if mutate:
        resources = mutate(resources)
    path = tmp_path / f"{stack}.state.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": resources}}))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(path))


def commands(calls):
    out = []
    for call in calls:
        args = [a for a in call["args"] if a != "--non-interactive"]
        out.append(" ".join(args[:2]) if args[0] == "stack" else args[0])
    return out


def test_preview_runs_the_project_program_in_the_project_root(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    project = Project.load(workdir)
    deployed_state(tmp_path, project, "bioconda", monkeypatch)
    monkeypatch.setenv("FAKE_PULUMI_CHANGES", '{"same": 40, "update": 1}')
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 2, result.err
    assert "bioconda: 1 update" in result.out
    calls = fake_pulumi()
    assert commands(calls) == ["version", "stack select", "stack export", "preview"]
    preview = calls[-1]["args"]
    assert calls[1]["args"][0] == "--non-interactive"
    assert preview[preview.index("--stack") + 1] == "bioconda"
    assert "--diff" in preview and preview[preview.index("--exec-kind") + 1] == "auto.local"
    assert not any(a.startswith("--client") for a in preview)  # the program named in Pulumi.yaml, not an inline one
    assert all(Path(c["cwd"]).resolve() == workdir.resolve() for c in calls[1:])  # all but `pulumi version`


def test_preview_without_changes_exits_0(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    deployed_state(tmp_path, Project.load(workdir), "bioconda", monkeypatch)
    result = cli("preview", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 0 and "bioconda: no changes" in result.out


def test_up_applies_when_the_rails_pass(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    deployed_state(tmp_path, Project.load(workdir), "conda-forge", monkeypatch)
    monkeypatch.setenv("FAKE_PULUMI_CHANGES", '{"create": 2, "same": 68}')
    result = cli("up", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 0, result.err
    assert "conda-forge: 2 create" in result.out
    up = next(c["args"] for c in fake_pulumi() if "up" in c["args"][:2])
    assert "--yes" in up and "--skip-preview" in up and up[up.index("--stack") + 1] == "conda-forge"


def test_up_is_refused_before_pulumi_runs_when_the_state_shows_a_mass_removal(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    project = Project.load(workdir)

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

    deployed_state(tmp_path, project, "conda-forge", monkeypatch, add_members)
    result = cli("up", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1
    assert "the plan removes 40 of 60 members" in result.err and "--allow-member-removal" in result.err
    assert "up" not in commands(fake_pulumi())
    allowed = cli("up", "--stack", "conda-forge", "--allow-member-removal", "--root", str(workdir))
    assert allowed.code == 0
    assert "up" in commands(fake_pulumi())


def test_up_refuses_deleting_a_repository_found_in_state(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    project = Project.load(workdir)

    def add_repo(resources):
        template = next(r for r in resources if r["type"] == "github:index/repository:Repository")
        item = json.loads(json.dumps(template))
        item["urn"] = template["urn"].rsplit("::", 1)[0] + "::old-tool"
        item["inputs"] = {**template["inputs"], "name": "old-tool", "value": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "\"hunter2\""}}
        return resources + [item]

    deployed_state(tmp_path, project, "bioconda", monkeypatch, add_repo)
    result = cli("up", "--stack", "bioconda", "--root", str(workdir))
    assert result.code == 1 and "deletes 1 repository (old-tool)" in result.err
    assert "hunter2" not in result.out + result.err


def test_drift_is_a_refresh_preview(cli, workdir, fake_pulumi, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_CHANGES", '{"same": 60, "update": 3}')
    result = cli("drift", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 2
    assert "conda-forge: 3 update" in result.out
    refresh = next(c["args"] for c in fake_pulumi() if "refresh" in c["args"][:2])
    assert "--preview-only" in refresh


def test_engine_errors_are_one_line_and_exit_1(cli, workdir, fake_pulumi, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "refresh")
    result = cli("drift", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1
    assert "error: conda-forge: error: GET https://api.github.com/orgs/conda-forge: 401 Bad credentials" in result.err
    assert "Traceback" not in result.err


def test_no_pulumi_cli_is_a_clear_error(cli, workdir, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("preview", "--stack", "conda-forge", "--root", str(workdir))
    assert result.code == 1 and "the Pulumi CLI is not installed" in result.err
