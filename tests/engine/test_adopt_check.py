"""Adoption checks every import ID against one bulk read of the org before `pulumi import` (which fails
whole on a missing ID), and goes on shard by shard: a stack adopted already is skipped.
Mocks: GitHub (condainfra.devtools' stand-in on 127.0.0.1) and the Pulumi CLI (tests/engine/fake_pulumi.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condainfra.devtools.github_org import generated_org, write_config
from condainfra.devtools.github_stand_in import TOKEN, StandIn
from condainfra.project import Project


@pytest.fixture
def org(tmp_path: Path, monkeypatch):
    generated = generated_org(repos=26, teams=24, members=30)
    root = write_config(tmp_path / "org", generated, shards=2)
    server = StandIn(generated.data).start()
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    yield root, server
    server.stop()


def shard_of(root: Path, repo: str) -> str:
    project = Project.load(root)
    return next(s.name for s in project.stacks() if s.kind == "feedstocks" and any(r.name == repo for r in project.compile(s)))


def test_adopt_check_leaves_out_what_github_lacks(cli, org, tmp_path):
    root, server = org
    server.data.repos[:] = [r for r in server.data.repos if r["name"] != "pkg00003-feedstock"]  # deleted since
    stack = shard_of(root, "pkg00003-feedstock")
    plain, checked = tmp_path / "plain.json", tmp_path / "checked.json"
    assert cli("adopt", "--stack", stack, "--out", str(plain), "--root", str(root)).code == 0
    result = cli("adopt", "--stack", stack, "--check", "--out", str(checked), "--root", str(root))
    assert result.code == 0, result.err
    assert "1 resource(s) of the import file are not on GitHub" in result.out
    before, after = json.loads(plain.read_text()), json.loads(checked.read_text())
    ids = lambda doc: {(e["type"], e["id"]) for e in doc["resources"] if "id" in e}  # noqa: E731
    assert ids(before) - ids(after) == {("github:index/repository:Repository", "pkg00003-feedstock")}
    assert any(n["urn"].endswith("::pkg00003-feedstock") and "not on GitHub" in n["reason"] for n in after["notImported"])
    assert after["counts"]["import"] == before["counts"]["import"] - 1


def test_up_adopt_imports_only_what_exists_and_resumes_shard_by_shard(cli, org, fake_pulumi):
    root, server = org
    server.data.admins.remove("user00005")  # an owner who left: no membership to import
    first = cli("up", "--stack", "bigorg", "--adopt", "--root", str(root))
    assert first.code == 0, first.err
    (record,) = fake_pulumi("imported")
    ids = {(e["type"].rsplit(":", 1)[-1], e["id"]) for e in record["imported"]["resources"] if "id" in e}
    assert ("Membership", "bigorg:user00000") in ids and ("Membership", "bigorg:user00005") not in ids
    assert "not on GitHub" in first.err
    # the whole org: the org stack was adopted already, so only the shards import
    again = cli("up", "--all", "--adopt", "--root", str(root))
    assert again.code == 0, again.err
    imports = fake_pulumi("imported")
    assert sorted(r["imported"]["stack"] for r in imports[1:]) == ["bigorg-feedstocks-00", "bigorg-feedstocks-01"]
    assert "bigorg: --adopt skipped" in again.err
