from __future__ import annotations

from pathlib import Path

from condainfra.compiler import github as gh
from condainfra.compiler.resources import LOOKUP, REF, SECRET
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
    org = minimal / "stacks/acme/org.yaml"
    org.write_text(org.read_text().replace("  shards: 2\n", "  shards: 2\n  ruleset: {}\n  features: {has_wiki: false}\n"))
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text(
        "numpy: [Alice, dave, acme/core]\nold-thing:\n  maintainers: [carol]\n  archived: true\n"
    )
    project = Project.load(minimal)
    resources = [r for s in project.stacks() if s.kind == "feedstocks" for r in project.compile(s)]
    repos = by_type(resources, gh.REPOSITORY)
    assert repos["numpy-feedstock"].inputs["archived"] is False
    assert repos["numpy-feedstock"].inputs["archiveOnDestroy"] is True and repos["numpy-feedstock"].protect
    assert repos["old-thing-feedstock"].inputs["archived"] is True
    # only what org.yaml declares is sent; the rest is left as GitHub has it
    assert repos["numpy-feedstock"].inputs["hasWiki"] is False and "hasIssues" not in repos["numpy-feedstock"].inputs
    assert "hasIssues" in repos["numpy-feedstock"].ignore_changes and "hasWiki" not in repos["numpy-feedstock"].ignore_changes
    assert "description" not in repos["numpy-feedstock"].inputs  # `feedstocks.description` is not written
    rulesets = by_type(resources, gh.RULESET)
    assert set(rulesets) == {"numpy-feedstock"}  # archived repositories get no ruleset
    assert rulesets["numpy-feedstock"].inputs["rules"] == {"deletion": True, "nonFastForward": True}
    assert rulesets["numpy-feedstock"].inputs["conditions"]["refName"]["includes"] == ["refs/heads/main"]
    members = by_type(resources, gh.TEAM_MEMBERS)["numpy"].inputs["members"]
    # alice is an org owner: GitHub reports her as a maintainer
    assert members == [{"role": "maintainer", "username": "Alice"}, {"role": "member", "username": "dave"}]
    access = by_type(resources, gh.TEAM_REPOSITORY)
    team = by_type(resources, gh.TEAM)["numpy"]
    assert access["numpy-feedstock/numpy"].inputs == {"permission": "push", "repository": "numpy-feedstock", "teamId": {REF: team.urn, "output": "id"}}
    # the org stack's team, from a shard: looked up by its slug
    assert access["numpy-feedstock/core"].inputs["teamId"] == {LOOKUP: gh.GET_TEAM, "args": {"slug": "core", "summaryOnly": True}, "output": "id"}


def test_org_resources(minimal):
    project = Project.load(minimal)
    resources = project.compile(project.stack("acme"))
    memberships = by_type(resources, gh.MEMBERSHIP)
    assert {n: m.inputs["role"] for n, m in memberships.items()} == {"alice": "admin", "bob": "admin", "carol": "member"}
    settings = by_type(resources, gh.ORG_SETTINGS)["acme"]
    # only billing_email is written: nothing else is sent, and nothing else is overwritten after an import
    assert settings.inputs == {"billingEmail": "admin@acme.example"}
    assert "membersCanCreateRepositories" in settings.ignore_changes and "billingEmail" not in settings.ignore_changes
    provider = by_type(resources, gh.PROVIDER)["acme"]
    assert provider.inputs["owner"] == "acme"
    assert all(r.provider == provider.urn for r in resources if r.custom and r.type != gh.PROVIDER)


def test_declared_org_settings_are_all_sent_false_ones_included(minimal):
    org = minimal / "stacks/acme/org.yaml"
    org.write_text(org.read_text().replace(
        "  billing_email: admin@acme.example\n",
        "  billing_email: admin@acme.example\n  name: Acme Inc.\n  email: hello@acme.example\n  location: Earth\n  company: Acme\n"
        "  has_organization_projects: false\n  has_repository_projects: true\n  repository_creation: owners\n"
        "  members_can_fork_private_repositories: false\n",
    ))
    project = Project.load(minimal)
    settings = by_type(project.compile(project.stack("acme")), gh.ORG_SETTINGS)["acme"].inputs
    assert settings == {
        "billingEmail": "admin@acme.example", "company": "Acme", "email": "hello@acme.example", "hasOrganizationProjects": False,
        "hasRepositoryProjects": True, "location": "Earth", "membersCanCreatePrivateRepositories": False,
        "membersCanCreatePublicRepositories": False, "membersCanCreateRepositories": False,
        "membersCanForkPrivateRepositories": False, "name": "Acme Inc.",
    }


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
