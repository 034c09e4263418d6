"""`drift` by bulk read: no Pulumi CLI needed for org stacks; a missing token or an unreachable API is one
message. Mock: GitHub (condainfra.devtools' stand-in on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest

from condainfra.devtools.github_org import generated_org, write_config
from condainfra.devtools.github_stand_in import TOKEN, StandIn


@pytest.fixture
def org(tmp_path):
    generated = generated_org(repos=16, teams=14, members=20)
    root = write_config(tmp_path / "org", generated, shards=2, feedstocks={"ruleset": {"name": "protect-default-branch"}})
    with StandIn(generated.data) as server:
        yield root, server


def one_error(result) -> str:
    assert result.code == 1 and "Traceback" not in result.err, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    return errors[0]


def test_drift_reports_each_difference_per_stack(cli, org, monkeypatch):
    root, server = org
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("PATH", "/nonexistent")  # no Pulumi CLI: org stacks do not need it
    server.data.repos[3]["description"] = "changed by hand"
    gone = server.data.teams.pop(5)["slug"]
    result = cli("drift", "--all", "--api-url", server.url, "--format", "json", "--root", str(root))
    assert result.code == 2, result.err
    steps = {(s["stack"], c["name"], c["changes"][0]["key"]) for s in json.loads(result.out)["stacks"] for c in s["drift"]}
    name = server.data.repos[3]["name"]
    assert (next(st for st, n, _ in steps if n == name), name, "description") in steps
    assert any(n == gone and k == "(exists)" for _, n, k in steps)
    assert "resource(s) the bulk read does not cover" in result.err and "GraphQL point(s)" in result.err


def test_no_token_is_one_message(cli, org, monkeypatch):
    root, _ = org
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert "GITHUB_TOKEN is not set" in one_error(cli("drift", "--stack", "bigorg", "--root", str(root)))


def test_an_api_that_is_not_there_is_one_message(cli, org, monkeypatch):
    root, server = org
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    url = server.url
    server.stop()
    error = one_error(cli("drift", "--stack", "bigorg", "--api-url", url, "--root", str(root)))
    assert "127.0.0.1" in error and TOKEN not in error
