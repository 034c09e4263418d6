"""The cross-file rules of config/checks.py, called directly on a declaration built in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from condainfra.config.checks import check_org, team_slug
from condainfra.config.loader import OrgDeclaration, Where
from condainfra.config.models import Feedstock, OrgConfig
from condainfra.config.yamlfile import load_yaml

BASE = """\
org: acme
settings: {billing_email: a@acme.example}
owners: [alice, bob]
members: [carol]
repositories:
  tools: {}
teams:
  core:
    members: [alice]
feedstocks: {}
"""


def declare(tmp_path: Path, org_yaml: str = BASE, feedstocks: dict[str, list[str]] | None = None) -> OrgDeclaration:
    path = tmp_path / "org.yaml"
    path.write_text(org_yaml)
    doc, issues = load_yaml(path, "acme/org.yaml")
    assert doc is not None and not issues
    config = OrgConfig.model_validate(doc.data)
    found = {name: Feedstock(name=name, maintainers=tuple(m)) for name, m in (feedstocks or {}).items()}
    origin = {name: Where("acme/feedstocks/a.yaml", i + 1) for i, name in enumerate(found)}
    return OrgDeclaration(config, found, doc, origin)


def messages(decl: OrgDeclaration) -> list[str]:
    return [str(i) for i in check_org(decl)]


def test_a_clean_declaration_has_no_issue(tmp_path):
    assert messages(declare(tmp_path, feedstocks={"numpy": ["alice", "acme/core"], "scipy": ["acme/numpy"]})) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("members: [carol]", "members: [carol, Alice]", "acme/org.yaml:4: members: 'Alice' is already listed in owners"),
        ("owners: [alice, bob]", "owners: [alice, bob, alice]", "acme/org.yaml:3: owners: 'alice' is listed twice"),
        ("  core:\n", "  Core Team:\n    members: []\n  core-team: {}\n  core:\n", "acme/org.yaml:10: teams: 'core-team' has the same slug 'core-team' as team 'Core Team'"),
        ("    members: [alice]", "    parent: nowhere", "acme/org.yaml:9: teams.core.parent: team 'nowhere' is not declared"),
        ("    members: [alice]", "    parent: core", "acme/org.yaml:9: teams.core.parent: parent teams form a cycle"),
        ("    members: [alice]", "    maintainers: [alice]\n    members: [alice]", "acme/org.yaml:10: teams.core: 'alice' is already listed in maintainers"),
        ("    members: [alice]", "    repositories: {elsewhere: push}", "acme/org.yaml:9: teams.core.repositories: repository 'elsewhere' is not declared (declare it, with `manage: false` if the config should only refer to it)"),
    ],
    ids=["two-roles", "listed-twice", "slug-collision", "undeclared-parent", "parent-cycle", "two-team-roles", "undeclared-repo"],
)
def test_org_rules(tmp_path, old, new, expected):
    assert old in BASE
    assert expected in messages(declare(tmp_path, BASE.replace(old, new)))


def test_a_longer_parent_cycle_is_reported_for_each_member(tmp_path):
    text = BASE.replace("  core:\n    members: [alice]\n", "  a: {parent: b}\n  b: {parent: c}\n  c: {parent: a}\n  d: {parent: a}\n")
    found = messages(declare(tmp_path, text))
    assert [m.split(": ")[1] for m in found] == ["teams.a.parent", "teams.b.parent", "teams.c.parent"]


def test_team_access_to_a_feedstock_repository_is_allowed(tmp_path):
    text = BASE.replace("    members: [alice]", "    repositories: {numpy-feedstock: push}")
    assert messages(declare(tmp_path, text, {"numpy": ["alice"]})) == []


@pytest.mark.parametrize(
    "secret, expected",
    [
        ("X: {visibility: selected}", "acme/org.yaml:12: secrets.X: visibility 'selected' needs a repositories list"),
        ("X: {visibility: selected, repositories: [tools, other]}", "acme/org.yaml:12: secrets.X.repositories: repository 'other' is not declared in repositories"),
        ("X: {visibility: all, repositories: [tools]}", "acme/org.yaml:12: secrets.X: repositories are only allowed with visibility 'selected'"),
    ],
)
def test_secret_rules(tmp_path, secret, expected):
    assert messages(declare(tmp_path, BASE + "secrets:\n  " + secret + "\n")) == [expected]


@pytest.mark.parametrize(
    "feedstocks, expected",
    [
        ({"tools": [], "x": []}, []),  # a feedstock named like a repository gets `tools-feedstock`: no clash
        # a key is the package name: `tools-feedstock` would create tools-feedstock-feedstock (issue 16)
        ({"x": [], "tools-feedstock": []}, ["acme/feedstocks/a.yaml:2: feedstock 'tools-feedstock': write the package name 'tools'; "
                                            "the key 'tools-feedstock' would create the repository 'tools-feedstock-feedstock' "
                                            "(if that repository really exists, confirm it: `tools-feedstock: {maintainers: [...], repository: tools-feedstock-feedstock}`)"]),
        ({"core": ["alice"]}, []),  # the team org.yaml declares is the feedstock's team too (conda-forge's `r`, `cuda`)
        ({"Core": ["alice"]}, ["acme/feedstocks/a.yaml:1: feedstock 'Core': its team 'Core' has the slug 'core' of declared team 'core'; "
                               "to share that team write `team: core`, else give the feedstock a team of its own with `team: <name>`"]),
        ({"a.b": [], "a-b": []}, ["acme/feedstocks/a.yaml:2: feedstocks 'a.b' (acme/feedstocks/a.yaml:1), 'a-b' (acme/feedstocks/a.yaml:2) would all have the team slug 'a-b'; "
                                  "give all but one the team it has on GitHub with `team: <name>`, or remove the entries of feedstocks that no longer exist"]),
        ({"numpy": ["other/core"]}, []),  # a warning, see test_bad_input
        ({"numpy": ["acme/ghost"]}, ["acme/feedstocks/a.yaml:1: feedstock 'numpy': team 'acme/ghost' is neither declared in acme/org.yaml nor a feedstock's team"]),
        ({"numpy": ["ACME/core"]}, []),  # org logins are case-insensitive
    ],
)
def test_feedstock_rules(tmp_path, feedstocks, expected):
    assert messages(declare(tmp_path, feedstocks=feedstocks)) == expected


def test_a_feedstock_whose_repository_is_also_declared(tmp_path):
    text = BASE.replace("  tools: {}", "  numpy-feedstock: {}")
    assert messages(declare(tmp_path, text, {"numpy": ["alice"]})) == [
        "acme/feedstocks/a.yaml:1: feedstock 'numpy': repository 'numpy-feedstock' is also declared in repositories"
    ]


@pytest.mark.parametrize("name, slug", [("core", "core"), ("Core Team", "core-team"), ("a.b", "a-b"), ("_x_", "_x_"), ("--A--", "a"), ("x  y", "x-y")])
def test_team_slug(name, slug):
    assert team_slug(name) == slug
