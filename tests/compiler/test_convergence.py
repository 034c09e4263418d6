"""The shipped stacks compile to what GitHub reports back, so a refresh after adoption shows nothing:
owners are team maintainers, every team has a maintainer, team references are ids (not slugs),
declared org settings are all sent, and nothing the provider would fill in on its own is left to diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from condainfra.compiler import github as gh
from condainfra.compiler.resources import LOOKUP, REF
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]
PROJECT = Project.load(REPO)
GITHUB_STACKS = [s for s in PROJECT.stacks() if s.kind in ("org", "feedstocks") and (s.kind == "org" or PROJECT.feedstocks_of(s))]


def compiled(spec):
    return PROJECT.compile(spec)


@pytest.mark.parametrize("spec", GITHUB_STACKS, ids=lambda s: s.name)
def test_no_owner_is_listed_as_a_plain_team_member(spec):
    owners = {o.lower() for o in PROJECT.orgs[spec.org].config.owners}
    wrong = [(r.name, m["username"]) for r in compiled(spec) if r.type == gh.TEAM_MEMBERS
             for m in r.inputs["members"] if m["role"] == "member" and m["username"].lower() in owners]
    assert wrong == []


@pytest.mark.parametrize("spec", GITHUB_STACKS, ids=lambda s: s.name)
def test_every_team_whose_members_are_managed_has_a_maintainer(spec):
    resources = compiled(spec)
    managed = [r for r in resources if r.type == gh.TEAM_MEMBERS]
    assert managed and [r.name for r in managed if not any(m["role"] == "maintainer" for m in r.inputs["members"])] == []
    if spec.kind == "org":  # the teams that list anyone
        teams = PROJECT.orgs[spec.org].config.teams
        assert {n for n, t in teams.items() if t.maintainers or t.members} == {r.name for r in managed}


def test_a_feedstock_without_known_maintainers_leaves_its_team_members_alone(minimal):
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text("numpy: []\nscipy: [acme/core]\n")
    project = Project.load(minimal)
    resources = [r for s in project.stacks() if s.kind == "feedstocks" for r in project.compile(s)]
    assert {r.name for r in resources if r.type == gh.TEAM} == {"numpy", "scipy"}
    assert [r.name for r in resources if r.type == gh.TEAM_MEMBERS] == []


@pytest.mark.parametrize("spec", GITHUB_STACKS, ids=lambda s: s.name)
def test_team_references_are_ids_not_slugs(spec):
    resources = compiled(spec)
    by_urn = {r.urn: r for r in resources}
    for r in resources:
        for key in {gh.TEAM_REPOSITORY: ("teamId",), gh.TEAM: ("parentTeamId",)}.get(r.type, ()):
            if key not in r.inputs:
                continue
            value = r.inputs[key]
            assert isinstance(value, dict), f"{r.name}: {key} is {value!r}"
            if REF in value:  # a Team of the same stack
                assert by_urn[value[REF]].type == gh.TEAM and value["output"] == "id"
            else:  # a team another stack owns
                assert value[LOOKUP] == gh.GET_TEAM and value["output"] == "id" and value["args"]["slug"]


@pytest.mark.parametrize("spec", GITHUB_STACKS, ids=lambda s: s.name)
def test_no_deprecated_team_or_repository_input(spec):
    for r in compiled(spec):
        assert "createDefaultMaintainer" not in r.inputs
        assert not {"vulnerabilityAlerts", "defaultBranch", "hasDownloads", "pages", "private", "ignoreVulnerabilityAlertsDuringRead"} & r.inputs.keys()


@pytest.mark.parametrize("org", sorted(PROJECT.orgs))
def test_declared_org_settings_are_sent_false_booleans_included(org):
    settings = PROJECT.orgs[org].config.settings
    inputs = next(r for r in compiled(PROJECT.stack(org)) if r.type == gh.ORG_SETTINGS).inputs
    declared_booleans = [f for f in settings.model_fields_set if isinstance(getattr(settings, f), bool) and f != "two_factor_required"]
    assert declared_booleans and any(getattr(settings, f) is False for f in declared_booleans)
    for field in declared_booleans:
        assert inputs[gh._ORG_INPUTS[field]] is getattr(settings, field)


@pytest.mark.parametrize("spec", GITHUB_STACKS, ids=lambda s: s.name)
def test_what_is_not_sent_is_ignored_and_what_is_sent_is_not(spec):
    for r in compiled(spec):
        assert not set(r.ignore_changes) & r.inputs.keys(), r.name
        if r.type == gh.REPOSITORY:
            assert set(r.ignore_changes) | r.inputs.keys() >= set(gh.REPOSITORY_SETTABLE)


def test_the_shipped_orgs_load_without_warnings():
    assert {name: [str(w) for w in decl.warnings] for name, decl in PROJECT.orgs.items()} == {name: [] for name in PROJECT.orgs}
