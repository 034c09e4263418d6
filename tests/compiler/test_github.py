from __future__ import annotations

from pathlib import Path

from condainfra.compiler import github as gh
from condainfra.compiler.resources import SECRET
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]


def by_type(resources, type_):
    return {r.name: r for r in resources if r.type == type_}


def test_urns_carry_the_full_parent_type_chain():
    project = Project.load(REPO)
    spec = next(s for s in project.stacks() if s.kind == "feedstocks" and any(f.name == "numpy" for f in project.feedstocks_of(s)))
    resources = project.compile(spec)
    repo = by_type(resources, gh.REPOSITORY)["numpy-feedstock"]
    assert repo.urn == (
        f"urn:pulumi:{spec.name}::condainfra::"
        "condainfra:github:FeedstockShard$condainfra:github:Feedstock$github:index/repository:Repository::numpy-feedstock"
    )
    parent = next(r for r in resources if r.urn == repo.parent)
    assert parent.type == gh.FEEDSTOCK and parent.name == "numpy" and not parent.custom
    assert len({r.urn for r in resources}) == len(resources)


def test_feedstock_resources(minimal):
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text(
        "numpy: [Alice, bob, acme/core]\nold-thing:\n  maintainers: [carol]\n  archived: true\n"
    )
    project = Project.load(minimal)
    resources = [r for s in project.stacks() if s.kind == "feedstocks" for r in project.compile(s)]
    repos = by_type(resources, gh.REPOSITORY)
    assert repos["numpy-feedstock"].inputs["archived"] is False
    assert repos["numpy-feedstock"].inputs["archiveOnDestroy"] is True and repos["numpy-feedstock"].protect
    assert repos["old-thing-feedstock"].inputs["archived"] is True
    rulesets = by_type(resources, gh.RULESET)
    assert set(rulesets) == {"numpy-feedstock"}  # archived repositories get no ruleset
    assert rulesets["numpy-feedstock"].inputs["rules"] == {"deletion": True, "nonFastForward": True}
    assert rulesets["numpy-feedstock"].inputs["conditions"]["refName"]["includes"] == ["refs/heads/main"]
    members = by_type(resources, gh.TEAM_MEMBERS)["numpy"].inputs["members"]
    assert members == [{"role": "member", "username": "Alice"}, {"role": "member", "username": "bob"}]
    access = by_type(resources, gh.TEAM_REPOSITORY)
    assert access["numpy-feedstock/numpy"].inputs == {"permission": "push", "repository": "numpy-feedstock", "teamId": "numpy"}
    assert access["numpy-feedstock/core"].inputs["teamId"] == "core"


def test_org_resources(minimal):
    project = Project.load(minimal)
    resources = project.compile(project.stack("acme"))
    memberships = by_type(resources, gh.MEMBERSHIP)
    assert {n: m.inputs["role"] for n, m in memberships.items()} == {"alice": "admin", "bob": "admin", "carol": "member"}
    settings = by_type(resources, gh.ORG_SETTINGS)["acme"].inputs
    assert settings["membersCanCreateRepositories"] is False and settings["defaultRepositoryPermission"] == "read"
    provider = by_type(resources, gh.PROVIDER)["acme"]
    assert provider.inputs["owner"] == "acme"
    assert all(r.provider == provider.urn for r in resources if r.custom and r.type != gh.PROVIDER)


def test_secrets_are_references_never_values():
    project = Project.load(REPO)
    resources = project.compile(project.stack("conda-forge"))
    secrets = by_type(resources, gh.ORG_SECRET)
    assert secrets["STAGING_BINSTAR_TOKEN"].inputs["value"] == {SECRET: "config:STAGING_BINSTAR_TOKEN"}
    assert secrets["CF_ADMIN_GITHUB_TOKEN"].inputs["value"] == {SECRET: "env:CF_ADMIN_GITHUB_TOKEN"}
    selected = by_type(resources, gh.ORG_SECRET_REPOSITORIES)["STAGING_BINSTAR_TOKEN"]
    assert [v["$ref"].rsplit("::", 1)[1] for v in selected.inputs["selectedRepositoryIds"]] == ["staged-recipes", "admin-requests"]


def test_parent_teams_are_registered_before_children():
    project = Project.load(REPO)
    teams = [r.name for r in project.compile(project.stack("conda-forge")) if r.type == gh.TEAM]
    assert teams.index("help-r") < teams.index("r")
