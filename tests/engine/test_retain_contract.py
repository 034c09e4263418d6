"""An emptied maintainer list through the engine path: `up` forgets the team's members resource and GitHub
keeps the members (issue 16).

Mock: the Pulumi CLI (tests/engine/fake_pulumi.py). The Automation API, our engine modules, the compiler
and the rails are real."""

from __future__ import annotations

import json

from condainfra.compiler import github as gh
from condainfra.project import Project

from .conftest import commands, deployed, scenario, step, urn_of

CORE = "stacks/conda-forge/feedstocks/core.yaml"
NUMPY = "numpy: [h-vetinari, isuruf, jakirkham, msarahan, ocefpaf, pelson, rgommers, xhochy]"


def _shard(root) -> str:
    project = Project.load(root)
    return next(s.name for s in project.stacks() if s.kind == "feedstocks" and any(f.name == "numpy" for f in project.feedstocks_of(s)))


def _retained_delete(urn: str) -> dict:
    event = step("delete", urn, old={"teamSlug": "numpy"})
    event["resourcePreEvent"]["metadata"]["old"]["retainOnDelete"] = True
    return event


def test_an_emptied_list_is_applied_as_no_longer_managed_with_members_kept(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    shard = _shard(workdir)
    state = deployed(workdir, shard)  # as the last `up` left it: every team's members retained on delete
    members = urn_of(workdir, shard, "teamMembers:TeamMembers", "numpy")
    assert next(r for r in state if r["urn"] == members)["retainOnDelete"] is True
    (workdir / CORE).write_text((workdir / CORE).read_text().replace(NUMPY, "numpy: []"))
    scenario(tmp_path, monkeypatch, {shard: {"up": [_retained_delete(members)]}})

    result = cli("up", "--stack", shard, "--root", str(workdir))
    assert result.code == 0, result.err
    assert "up" in commands(fake_pulumi())
    assert "(-) TeamMembers numpy: no longer managed: members kept" in result.out
    assert "- TeamMembers numpy" not in result.out and "0 deleted" in result.out.splitlines()[0]

    report = json.loads(cli("up", "--stack", shard, "--format", "json", "--root", str(workdir)).out)
    (stack,) = report["stacks"]
    assert [c["name"] for c in stack["release"]] == ["numpy"] and stack["delete"] == []


def test_a_state_without_retain_counts_the_members_the_delete_would_remove(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    # a stack last applied before retain-on-delete existed: deleting its members resource empties the team
    shard = _shard(workdir)

    def without_retain(resources):
        for r in resources:
            r.pop("retainOnDelete", None)
        return resources

    state = deployed(workdir, shard, without_retain)
    total = sum(len(r["inputs"]["members"]) for r in state if r["type"] == gh.TEAM_MEMBERS)
    assert 8 / total > 0.25, "the shard is small enough for numpy's 8 members to be over the rail"
    (workdir / CORE).write_text((workdir / CORE).read_text().replace(NUMPY, "numpy: []"))
    result = cli("up", "--stack", shard, "--root", str(workdir))
    assert result.code == 1
    assert f"the plan removes 8 of {total} team memberships" in result.err and "numpy (-8)" in result.err
    assert "--allow-member-removal" in result.err
    assert "up" not in commands(fake_pulumi())


def test_a_refused_up_reports_no_phantom_secret_updates(cli, workdir, fake_pulumi):
    # the state holds each org secret as Pulumi's secret value; the config names it {"$secret": ...}:
    # they are the same secret, not `[secret] → [secret]` updates (the refused `up` listed one per secret)
    from .conftest import secret

    def secrets_as_state_and_extra_members(resources):
        for r in resources:
            if r["type"] == gh.ORG_SECRET:
                r["inputs"] = {**r["inputs"], "value": secret("the-live-value")}
        template = next(r for r in resources if r["type"] == gh.MEMBERSHIP)
        for i in range(40):
            resources.append({**template, "urn": template["urn"].rsplit("::", 1)[0] + f"::extra{i}", "inputs": {"role": "member", "username": f"extra{i}"}})
        return resources

    deployed(workdir, "conda-forge", secrets_as_state_and_extra_members)
    result = cli("up", "--stack", "conda-forge", "--format", "json", "--root", str(workdir))
    assert result.code == 1 and "up" not in commands(fake_pulumi())
    (stack,) = json.loads(result.out)["stacks"]
    assert stack["update"] == [] and len(stack["delete"]) == 40 and stack["applied"] is False
    assert "the-live-value" not in result.out + result.err
    summary = json.loads(result.out)["summary"]
    assert summary.startswith("Up: No changes") is False and "NOT APPLIED in 1 refused stack(s) (0 to create, 0 to update, 40 to delete)" in summary
