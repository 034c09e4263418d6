"""Manage only what is declared: reference-only repositories, the applying identity, vulnerability alerts as
a resource of their own, and what validate says beside its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from condainfra.compiler import github as gh
from condainfra.compiler.resources import LOOKUP, REF
from condainfra.config.loader import validation_notes
from condainfra.config.models import Feedstock
from condainfra.errors import ConfigError
from condainfra.project import Project

ORG = "stacks/acme/org.yaml"


def edit(root: Path, old: str, new: str) -> None:
    path = root / ORG
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Project.load(root)
    return [str(i) for i in caught.value.issues]


def test_a_reference_only_repository_is_granted_but_never_created(minimal):
    edit(minimal, "teams:\n  core:\n", "repositories:\n  website: {manage: false}\nteams:\n  core:\n    repositories: {website: push}\n")
    project = Project.load(minimal)
    resources = project.compile(project.stack("acme"))
    assert [r.name for r in resources if r.type == gh.REPOSITORY] == []
    grant = next(r for r in resources if r.type == gh.TEAM_REPOSITORY)
    assert grant.inputs["repository"] == "website" and all("Repository::website" not in d for d in grant.dependencies)


def test_a_reference_only_repository_takes_no_settings(minimal):
    edit(minimal, "teams:\n", "repositories:\n  website: {manage: false, description: x}\nteams:\n")
    assert problems(minimal) == [f"{ORG}:7: repositories.website: a reference-only repository (manage: false) takes no other settings"]


def test_a_secret_scoped_to_a_reference_only_repository_reads_its_id_from_github(minimal):
    edit(minimal, "teams:\n", "repositories:\n  docs: {manage: false}\n  tools: {}\n"
         "secrets:\n  TOKEN: {visibility: selected, repositories: [docs, tools]}\nteams:\n")
    project = Project.load(minimal)
    resources = project.compile(project.stack("acme"))
    scoped = next(r for r in resources if r.type == gh.ORG_SECRET_REPOSITORIES)
    tools = next(r for r in resources if r.type == gh.REPOSITORY and r.name == "tools")
    assert scoped.inputs["selectedRepositoryIds"] == [
        {LOOKUP: gh.GET_REPOSITORY, "args": {"fullName": "acme/docs"}, "output": "repoId"},
        {REF: tools.urn, "output": "repoId"},
    ]


def test_the_apply_identity_must_be_a_declared_login(minimal):
    edit(minimal, "  billing_email: admin@acme.example\n", "  billing_email: admin@acme.example\n  apply_identity: robot\n")
    assert problems(minimal) == [f"{ORG}:4: settings.apply_identity: 'robot' is not listed in owners, members or bots"]


def test_a_team_nobody_maintains_gets_the_apply_identity_or_a_warning(minimal):
    edit(minimal, "    members: [alice, bob]\n", "    members: [carol]\n")
    project = Project.load(minimal)
    assert [str(w) for w in project.orgs["acme"].warnings] == [
        f"{ORG}:7: teams.core: no maintainer, and GitHub makes whoever creates the team one: a refresh will always differ; set settings.apply_identity"
    ]
    edit(minimal, "  billing_email: admin@acme.example\n", "  billing_email: admin@acme.example\n  apply_identity: bob\n")
    project = Project.load(minimal)
    assert project.orgs["acme"].warnings == []
    members = next(r for r in project.compile(project.stack("acme")) if r.type == gh.TEAM_MEMBERS).inputs["members"]
    assert members == [{"role": "maintainer", "username": "bob"}, {"role": "member", "username": "carol"}]


def test_vulnerability_alerts_are_a_resource_where_declared(minimal):
    edit(minimal, "feedstocks:\n  shards: 2\n", "feedstocks:\n  shards: 2\n  features: {vulnerability_alerts: true}\n")
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("numpy: [dave]\nold:\n  maintainers: [dave]\n  archived: true\n")
    project = Project.load(minimal)
    resources = [r for s in project.stacks() if s.kind == "feedstocks" for r in project.compile(s)]
    alerts = [r for r in resources if r.type == gh.VULNERABILITY_ALERTS]
    # GitHub refuses changes to an archived repository: none for `old`
    assert [(r.name, r.inputs) for r in alerts] == [("numpy-feedstock", {"enabled": True, "repository": "numpy-feedstock"})]
    assert all("vulnerabilityAlerts" not in r.inputs for r in resources)


def test_a_feedstock_team_name_is_checked_like_any_team_name(minimal):
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("numpy:\n  maintainers: [dave]\n  team: '!!!'\n")
    assert problems(minimal) == [
        "stacks/acme/feedstocks/a.yaml:3: feedstock 'numpy': team '!!!' is not a valid team name (it needs a letter or digit; no control characters, no space at either end)"
    ]


def test_validation_notes_count_feedstocks_without_known_maintainers(minimal):
    edit(minimal, "    members: [alice, bob]\n", "    maintainers: [alice, bob]\n")
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("numpy: []\nscipy: [dave]\nzlib: [x@y.org]\n")
    notes = validation_notes(Project.load(minimal).orgs)
    assert notes == [
        "warning: stacks/acme/feedstocks/a.yaml:3: feedstock 'zlib': 'x@y.org' is an e-mail address, not a GitHub account; it is granted nothing",
        "acme: 2 of 3 feedstock(s) have no known maintainer",  # an address is no maintainer GitHub knows
    ]


def test_a_renamed_feedstock_is_placed_by_its_first_name():
    assert Feedstock(name="new", maintainers=(), previously=("first", "second")).shard_key == "first"
    assert Feedstock(name="new", maintainers=()).shard_key == "new"


def test_config_github_would_refuse_or_fight_over(minimal):
    edit(minimal, "teams:\n  core:\n", "repositories:\n  old: {archived: true, ruleset: {}}\nteams:\n  r:\n    members: [carol]\n"
         "    repositories: {r-feedstock: push, numpy-feedstock: pull}\n  kid: {parent: core, privacy: secret}\n  core:\n")
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("r: [dave]\nnumpy: [acme/r]\nscipy: [dave]\n")
    found = problems(minimal)
    assert f"{ORG}:11: teams.r.repositories: feedstock 'r' already grants 'r-feedstock' to this team (feedstocks.team_permission); remove it here" in found
    assert f"{ORG}:11: teams.r.repositories: feedstock 'numpy' already grants 'numpy-feedstock' to this team (feedstocks.team_permission); remove it here" in found
    assert f"{ORG}:12: teams.kid: a secret team cannot have a parent or children on GitHub; make it closed" in found
    assert len(found) == 3


def test_an_archived_repository_with_a_ruleset_is_a_warning(minimal):
    edit(minimal, "teams:\n", "repositories:\n  old: {archived: true, ruleset: {}}\nteams:\n")
    project = Project.load(minimal)
    assert f"{ORG}:7: repositories.old: archived, so its ruleset is not applied (GitHub refuses changes to an archived repository)" in [str(w) for w in project.orgs["acme"].warnings]
    assert [r for r in project.compile(project.stack("acme")) if r.type == gh.RULESET] == []
