"""Authoritative mode end to end: `drift` finds what GitHub holds and org.yaml does not list (an
unlisted owner, an outside collaborator, a team's extra grant), and `up` removes it only within the
safety rails. Mocks: GitHub (the stand-in server of condainfra.devtools on 127.0.0.1) and the Pulumi
CLI (tests/engine/fake_pulumi.py); the bulk reader, the comparison, the rails and the CLI are real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condainfra.devtools.github_org import generated_org, granted, write_config
from condainfra.devtools.github_stand_in import TOKEN, StandIn

from .conftest import deployed

ALL_ON = {"members": True, "team_repos": True, "outside_collaborators": True}


@pytest.fixture
def org(tmp_path: Path, monkeypatch):
    """A generated org declared as it is, authoritative; then GitHub gains what nobody declared."""
    generated = generated_org(repos=26, teams=24, members=30)
    root = write_config(tmp_path / "org", generated, ALL_ON, shards=2)
    data = generated.data
    data.admins.append("mallory")  # an owner added by hand in the UI
    data.outside_collaborators.append("eve")
    docs = next(r for r in data.repos if r["name"] == "docs")
    data.team_repos["core"].append(granted(docs, "admin"))
    server = StandIn(data).start()
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    yield root, server
    server.stop()


def extras(report: dict) -> list[tuple[str, str]]:
    return sorted((c["type"].rsplit(":", 1)[-1], c["name"]) for s in report["stacks"] for c in s["drift"]
                  if c["changes"] == [{"key": "(exists)", "old": False, "new": True}])


def test_drift_reports_what_github_holds_beyond_the_config(cli, org):
    root, server = org
    result = cli("drift", "--all", "--format", "json", "--root", str(root))
    assert result.code == 2, result.err
    report = json.loads(result.out)
    assert extras(report) == [("Membership", "mallory"), ("OutsideCollaborator", "eve"), ("TeamRepository", "docs/core")]
    assert report["counts"]["drift"] == 3  # the rest of the org is as declared
    assert server.behaviour.points <= 6 and len(server.behaviour.requests) <= 8  # one bulk read, not a call per resource


def test_drift_without_authoritative_reports_no_extras(cli, org):
    root, _ = org
    org_yaml = root / "stacks" / "bigorg" / "org.yaml"
    org_yaml.write_text(org_yaml.read_text().replace("members: true", "members: false").replace("outside_collaborators: true", "outside_collaborators: false"))
    report = json.loads(cli("drift", "--stack", "bigorg", "--format", "json", "--root", str(root)).out)
    assert extras(report) == [("TeamRepository", "docs/core")]


def test_up_removes_them_within_the_rails(cli, org, fake_pulumi):
    root, server = org
    deployed(root, "bigorg")
    data = server.data
    # 10 of 41 people unlisted (with eve): past the 25% rail
    data.members.extend(f"walk-in{i}" for i in range(9))
    refused = cli("up", "--stack", "bigorg", "--root", str(root))
    assert refused.code == 1
    assert "--allow-member-removal" in refused.err and "authoritative mode removes 11 of 41" in refused.err
    assert server.behaviour.deleted == []  # refused: nothing removed

    allowed = cli("up", "--stack", "bigorg", "--allow-member-removal", "--format", "json", "--root", str(root))
    assert allowed.code == 0, allowed.err
    assert sorted(server.behaviour.deleted) == sorted([
        "/orgs/bigorg/memberships/mallory", "/orgs/bigorg/outside_collaborators/eve", "/orgs/bigorg/teams/core/repos/bigorg/docs",
        *(f"/orgs/bigorg/memberships/walk-in{i}" for i in range(9)),
    ])
    report = json.loads(allowed.out)
    (org_stack,) = [s for s in report["stacks"] if s["stack"] == "bigorg"]
    assert {c["name"] for c in org_stack["delete"]} >= {"mallory", "eve", "docs/core"}
    assert "mallory" not in data.admins and data.outside_collaborators == []

    after = cli("drift", "--stack", "bigorg", "--root", str(root))
    assert after.code == 0, after.out + after.err


def test_up_keeps_two_owners(cli, org, fake_pulumi):
    """An unlisted owner is removed only while two listed owners stay on GitHub."""
    root, server = org
    deployed(root, "bigorg")
    data = server.data
    data.admins[:] = ["user00000", "mallory"]  # the other listed owners were demoted by hand
    data.outside_collaborators.clear()
    result = cli("up", "--stack", "bigorg", "--root", str(root))
    assert result.code == 1 and "--allow-few-owners" in result.err
    assert server.behaviour.deleted == []
