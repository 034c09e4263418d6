"""A rename (`previously:` compiled to Pulumi aliases) is an update in place, shown as a rename, never delete + create."""

from __future__ import annotations

import json
from dataclasses import dataclass

from condainfra.compiler import github as gh
from condainfra.compiler.resources import Resource
from condainfra.plan.diff import diff_stack
from condainfra.plan.report import Plan, render

STACK = "acme"


@dataclass(slots=True)
class Aliased(Resource):
    """A compiled resource with Pulumi aliases (the compiler fills them from `previously:`)."""

    aliases: tuple[str, ...] = ()


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::condainfra::{gh.ORGANIZATION}${type_}::{name}"


def _team(name: str, *, previously: tuple[str, ...] = (), description: str = "helpers") -> Resource:
    org = f"urn:pulumi:{STACK}::condainfra::{gh.ORGANIZATION}::{STACK}"
    inputs = {"description": description, "name": name, "privacy": "closed"}
    return Aliased(_urn(gh.TEAM, name), gh.TEAM, name, org, inputs, aliases=tuple(_urn(gh.TEAM, old) for old in previously))


def test_a_renamed_team_is_one_update_with_its_name_change():
    d = diff_stack(STACK, [_team("python-helpers")], [_team("py-helpers", previously=("python-helpers",))])
    assert (len(d.creates), len(d.deletes), len(d.updates)) == (0, 0, 1)
    (update,) = d.updates
    assert update.renamed_from == _urn(gh.TEAM, "python-helpers")
    # the rename is said once, by renamed_from; the changes are the inputs' own
    assert [(c.key, c.old, c.new) for c in update.changes] == [("name", "python-helpers", "py-helpers")]


def test_a_rename_also_shows_what_else_changed():
    d = diff_stack(STACK, [_team("old")], [_team("new", previously=("old",), description="renamed")])
    (update,) = d.updates
    assert {c.key for c in update.changes} == {"name", "description"}


def _grant(team: Resource, repo: str, *, previously: tuple[str, ...] = ()) -> Resource:
    """A TeamRepository that refers to the team's id, as the compiler writes it."""
    name = f"{repo}/{team.name}"
    inputs = {"permission": "push", "repository": repo, "teamId": {"$ref": team.urn, "output": "id"}}
    return Aliased(_urn(gh.TEAM_REPOSITORY, name), gh.TEAM_REPOSITORY, name, team.parent, inputs, aliases=tuple(_urn(gh.TEAM_REPOSITORY, f"{repo}/{o}") for o in previously))


def test_a_reference_to_a_renamed_resource_is_unchanged():
    """A renamed team keeps its id: a grant that refers to it is not an update, renamed or not."""
    old_team, new_team = _team("old"), _team("new", previously=("old",))
    d = diff_stack(STACK, [old_team, _grant(old_team, "site"), _grant(old_team, "docs")],
                   [new_team, _grant(new_team, "site", previously=("old",)), _grant(new_team, "docs", previously=("old",))])
    assert not d.creates and not d.deletes
    grants = [c for c in d.updates if c.resource.type == gh.TEAM_REPOSITORY]
    assert len(grants) == 2 and all(c.renamed_from and c.changes == [] for c in grants)
    # a reference that really moves to another resource is still a change
    other = _team("other")
    d = diff_stack(STACK, [old_team, other, _grant(old_team, "site")], [old_team, other, _grant(other, "site", previously=("old",))])
    (moved,) = [c for c in d.updates if c.resource.type == gh.TEAM_REPOSITORY]
    assert [c.key for c in moved.changes] == ["teamId"]


def test_an_alias_that_is_not_deployed_is_a_create():
    d = diff_stack(STACK, [_team("other")], [_team("other"), _team("new", previously=("never-deployed",))])
    assert [c.resource.name for c in d.creates] == ["new"] and not d.deletes and not d.updates


def test_an_alias_still_desired_under_its_own_name_is_not_taken_over():
    d = diff_stack(STACK, [_team("old")], [_team("old"), _team("new", previously=("old",))])
    assert [c.resource.name for c in d.creates] == ["new"] and not d.deletes and not d.updates


def test_one_deployed_resource_is_renamed_once():
    d = diff_stack(STACK, [_team("old")], [_team("a", previously=("old",)), _team("b", previously=("old",))])
    assert [c.resource.name for c in d.updates] == ["a"]
    assert [c.resource.name for c in d.creates] == ["b"]
    assert not d.deletes


def test_without_an_alias_a_rename_is_delete_and_create():
    d = diff_stack(STACK, [_team("old")], [_team("new")])
    assert [c.resource.name for c in d.creates] == ["new"] and [c.resource.name for c in d.deletes] == ["old"]


def _plan() -> Plan:
    d = diff_stack(STACK, [_team("python-helpers")], [_team("py-helpers", previously=("python-helpers",))])
    d.mission = "infra"
    return Plan("main", [d])


def test_every_report_format_shows_the_rename():
    plan = _plan()
    assert plan.summary().startswith("Plan: 0 to create, 1 to update, 0 to delete")
    text = render(plan, "text")
    assert "~ Team py-helpers: renamed from python-helpers\n" in text and "(name)" not in text
    assert "acme: 1 update (1 renamed)" in text
    markdown = render(plan, "markdown")
    assert "| ~ | `Team` | `py-helpers` | renamed from `python-helpers`<br>`name`: `python-helpers` → `py-helpers` |" in markdown
    document = json.loads(render(plan, "json"))
    (stack,) = document["stacks"]
    (update,) = stack["update"]
    assert update["renamed_from"] == _urn(gh.TEAM, "python-helpers")
    assert update["changes"] == [{"key": "name", "old": "python-helpers", "new": "py-helpers"}]
    assert stack["delete"] == [] and stack["create"] == []
    # an ordinary update carries no rename marker
    assert "renamed_from" not in diff_stack(STACK, [_team("x")], [_team("x", description="d")]).updates[0].to_json()
