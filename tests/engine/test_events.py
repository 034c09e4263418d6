"""Engine events, in the JSON shape the CLI streams, parsed by the SDK's own EngineEvent.from_json
and collected into one stack's report. Mock: none (the events are data; no engine runs)."""

from __future__ import annotations

import json

import pytest
from pulumi.automation.events import EngineEvent

from condainfra.engine.events import EventCollector
from condainfra.plan.diff import MASK

from .conftest import diagnostic, failed, secret, step

STACK = "conda-forge"
REPO = f"urn:pulumi:{STACK}::condainfra::condainfra:github:Organization$github:index/repository:Repository::staged-recipes"
TEAM = f"urn:pulumi:{STACK}::condainfra::condainfra:github:Organization$github:index/team:Team::core"
SECRET = f"urn:pulumi:{STACK}::condainfra::condainfra:github:Organization$github:index/actionsOrganizationSecret:ActionsOrganizationSecret::BINSTAR_TOKEN"


def collect(kind: str, *events: dict) -> EventCollector:
    collector = EventCollector(STACK, "infra", kind)
    for i, event in enumerate(events):
        collector(EngineEvent.from_json(json.loads(json.dumps({"sequence": i, "timestamp": 0, **event}))))
    return collector


def test_creates_updates_and_deletes_each_become_one_step():
    diff = collect(
        "preview",
        step("same", TEAM, old={"name": "core"}, new={"name": "core"}),
        step("create", REPO, new={"name": "staged-recipes", "visibility": "public"}),
        step("update", TEAM, old={"description": "a", "privacy": "closed"}, new={"description": "b", "privacy": "closed"}, diffs=["description"]),
        step("delete", SECRET, old={"secretName": "BINSTAR_TOKEN"}),
    ).diff()
    assert [(c.action, c.resource.name) for c in diff.steps] == [("create", "staged-recipes"), ("update", "core"), ("delete", "BINSTAR_TOKEN")]
    (update,) = diff.updates
    assert [(c.key, c.old, c.new) for c in update.changes] == [("description", "a", "b")]
    assert diff.creates[0].resource.inputs == {"name": "staged-recipes", "visibility": "public"}
    assert diff.creates[0].resource.type == "github:index/repository:Repository"


def test_an_update_reported_twice_is_one_step_and_keys_come_from_the_detailed_diff():
    old, new = {"topics": ["a"], "description": "x"}, {"topics": ["a", "b"], "description": "x"}
    diff = collect(
        "up",
        step("update", REPO, old=old, new=new, detailed={"topics[1]": "add"}),
        step("update", REPO, old=old, new=new, detailed={"topics[1]": "add"}, outputs=True),
    ).diff()
    (update,) = diff.updates
    assert [(c.key, c.old, c.new) for c in update.changes] == [("topics", ["a"], ["a", "b"])]


def test_a_replacement_is_one_replace_with_its_reasons():
    old, new = {"name": "staged-recipes", "repoId": 1}, {"name": "staged-recipes2", "repoId": 1}
    diff = collect(
        "up",
        step("create-replacement", REPO, old=old, new=new, keys=["name"], detailed={"name": "update-replace"}),
        step("replace", REPO, old=old, new=new, keys=["name"], detailed={"name": "update-replace"}),
        step("delete-replaced", REPO, old=old, new=new),
    ).diff()
    assert diff.creates == diff.deletes == []
    (replace,) = diff.replaces
    assert replace.replace_reasons == ["name"]
    assert [(c.key, c.old, c.new) for c in replace.changes] == [("name", "staged-recipes", "staged-recipes2")]


def test_secret_values_are_masked_as_they_arrive():
    hunter = secret("hunter2")
    diff = collect(
        "up",
        step("create", SECRET, new={"secretName": "BINSTAR_TOKEN", "plaintextValue": hunter}),
        step("update", REPO, old={"description": hunter}, new={"description": "[secret]"}, diffs=["description"]),
        step("create", SECRET, new={"secretName": "BINSTAR_TOKEN", "plaintextValue": hunter}, outputs=True),
    ).diff()
    assert "hunter2" not in json.dumps([c.to_json() for c in diff.steps])
    assert diff.creates[0].resource.inputs["plaintextValue"] == MASK
    assert diff.updates[0].changes[0].old == MASK


def test_a_refresh_reports_only_what_drifted():
    diff = collect(
        "drift",
        step("refresh", TEAM, old={"privacy": "closed"}, new={"privacy": "secret"}),
        step("refresh", REPO, old={"name": "staged-recipes"}, new={"name": "staged-recipes"}),
        step("delete", SECRET, old={"secretName": "BINSTAR_TOKEN"}),  # deleted outside condainfra
    ).diff()
    assert [(c.action, c.resource.name) for c in diff.steps] == [("drift", "core"), ("drift", "BINSTAR_TOKEN")]
    assert [(c.key, c.old, c.new) for c in diff.drifts[0].changes] == [("privacy", "closed", "secret")]
    assert [(c.key, c.old, c.new) for c in diff.drifts[1].changes] == [("(exists)", True, False)]


def test_a_failed_update_keeps_the_steps_reached_and_names_the_resource():
    collector = collect(
        "up",
        step("create", TEAM, new={"name": "core"}),
        step("update", REPO, old={"description": "a"}, new={"description": "b"}, diffs=["description"]),
        failed(REPO),
        diagnostic("PATCH https://api.github.com/repos/conda-forge/staged-recipes: 403", "error", REPO),
    )
    diff = collector.diff(error="error: update failed")
    assert [c.action for c in diff.steps] == ["create", "update"]
    assert diff.error == "staged-recipes: PATCH https://api.github.com/repos/conda-forge/staged-recipes: 403 (failed: staged-recipes)"


def test_warnings_are_kept_and_ephemeral_or_info_messages_are_not():
    events = [
        diagnostic("<{%reset%}>Repository.vulnerabilityAlerts is deprecated<{%reset%}>", "warning", REPO),
        diagnostic("resolving provider", "info"),
        {"diagnosticEvent": {"message": "downloading plugin", "color": "never", "severity": "warning", "ephemeral": True}},
    ]
    diff = collect("preview", *events).diff()
    assert diff.diagnostics == ["staged-recipes: Repository.vulnerabilityAlerts is deprecated"]
    assert diff.error is None


@pytest.mark.parametrize("op", ["read", "discard", "remove-pending-replace"])
def test_steps_that_change_nothing_are_not_reported(op):
    assert collect("preview", step(op, REPO, old={"name": "x"}, new={"name": "x"})).diff().steps == []


def test_the_stack_itself_is_not_a_step():
    root = f"urn:pulumi:{STACK}::condainfra::pulumi:pulumi:Stack::condainfra-{STACK}"
    assert collect("up", step("create", root, new={})).diff().steps == []


def test_an_alias_at_work_is_reported_as_a_rename():
    old_urn = TEAM.replace("::core", "::core-team")
    diff = collect("preview", step("update", TEAM, old={"name": "core-team"}, new={"name": "core"}, diffs=["name"], old_urn=old_urn)).diff()
    (update,) = diff.updates
    assert update.renamed_from == old_urn and [(c.key, c.old, c.new) for c in update.changes] == [("name", "core-team", "core")]
    plain = collect("preview", step("update", TEAM, old={"name": "a"}, new={"name": "b"}, diffs=["name"])).diff()
    assert plain.updates[0].renamed_from is None
