"""Each kind the bulk read covers is compared with the compiled stacks: a change made by hand on GitHub is
one drift step (desired -> live) on the right resource, and an org declared as it is shows none.
Mock: GitHub (condainfra.devtools' stand-in on 127.0.0.1); the loader, compiler and comparison are real."""

from __future__ import annotations

import asyncio

from condainfra.devtools.github_org import generated_org, write_config
from condainfra.devtools.github_stand_in import TOKEN, StandIn
from condainfra.importers.github_api import GitHubClient
from condainfra.importers.github_reader import read_org_state
from condainfra.orgstate.drift import compare_org
from condainfra.project import Project


def drift(root, data):
    with StandIn(data) as server:
        async def go():
            async with GitHubClient(server.url, TOKEN, None, lambda _: None) as client:
                return await read_org_state(client, data.login)

        state = asyncio.run(go())
    found = compare_org(Project.load(root), data.login, state)
    return {(c.resource.type.rsplit(":", 1)[-1], c.resource.name): [(x.key, x.old, x.new) for x in c.changes]
            for d in found.diffs.values() for c in d.drifts}


def test_each_hand_made_change_is_one_step(tmp_path):
    generated = generated_org(repos=30, teams=30, members=24)
    root = write_config(tmp_path / "org", generated, shards=2)
    data = generated.data
    assert drift(root, data) == {}  # declared as it is

    data.org["billing_email"] = "someone@else.example"
    data.admins.remove("user00003")
    data.members.append("user00003")  # an owner demoted by hand
    core = next(t for t in data.teams if t["slug"] == "core")
    core["description"] = "renamed by hand"
    data.team_members["pkg00002"]["member"].append("user00020")
    data.team_repos["core"][0] = {**data.team_repos["core"][0], "permissions": {"pull": True, "triage": True, "push": True, "maintain": False, "admin": False}}
    found = drift(root, data)
    assert found[("OrganizationSettings", "bigorg")] == [("billingEmail", "admin@bigorg.example", "someone@else.example")]
    assert found[("Membership", "user00003")] == [("role", "admin", "member")]
    assert found[("Team", "core")] == [("description", "The core team", "renamed by hand")]
    assert found[("TeamRepository", "website/core")] == [("permission", "admin", "push")]
    (members,) = found[("TeamMembers", "pkg00002")]
    assert members[0] == "members" and "user00020 (member)" in members[2] and "user00020 (member)" not in members[1]
    assert set(found) == {("OrganizationSettings", "bigorg"), ("Membership", "user00003"), ("Team", "core"),
                          ("TeamRepository", "website/core"), ("TeamMembers", "pkg00002")}
