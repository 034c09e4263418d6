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
    assert [(c.key, c.old, c.new) for c in update.changes] == [("(name)", "python-helpers", "py-helpers"), ("name", "python-helpers", "py-helpers")]


def test_a_rename_also_shows_what_else_changed():
    d = diff_stack(STACK, [_team("old")], [_team("new", previously=("old",), description="renamed")])
    (update,) = d.updates
    assert {c.key for c in update.changes} == {"(name)", "name", "description"}


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
    assert "~ Team py-helpers (name): python-helpers → py-helpers" in text
    markdown = render(plan, "markdown")
    assert "| ~ | Team | `py-helpers` | `(name)`: python-helpers → py-helpers" in markdown
    document = json.loads(render(plan, "json"))
    (stack,) = document["stacks"]
    (update,) = stack["update"]
    assert update["renamed_from"] == _urn(gh.TEAM, "python-helpers")
    assert {"key": "(name)", "old": "python-helpers", "new": "py-helpers"} in update["changes"]
    assert stack["delete"] == [] and stack["create"] == []
    # an ordinary update carries no rename marker
    assert "renamed_from" not in diff_stack(STACK, [_team("x")], [_team("x", description="d")]).updates[0].to_json()
