"""The JSON report validates against docs/schemas/report.schema.json, for plan and the engine's kinds."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from condainfra.compiler.resources import Resource
from condainfra.plan.diff import Change, ResourceChange, StackDiff
from condainfra.plan.report import Plan, render
from condainfra.plan.safety import Refusal

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "schemas" / "report.schema.json").read_text())


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_a_from_scratch_plan_of_the_shipped_stacks_validates(cli, workdir):
    result = cli("plan", "--all", "--from-scratch", "--format", "json", "--root", str(workdir))
    assert result.code == 2, result.err
    document = json.loads(result.out)
    validate(document)
    assert {s["mission"] for s in document["stacks"]} == {"infra", "mirror", "dashboard"}


@pytest.mark.parametrize("kind", ["preview", "up", "drift"])
def test_every_action_validates_for_the_engine_kinds(kind):
    urn = "urn:pulumi:s::condainfra::github:index/repository:Repository::"
    r = lambda name: Resource(urn=urn + name, type="github:index/repository:Repository", name=name, parent=None, inputs={"name": name})  # noqa: E731
    diff = StackDiff("s", mission="infra", diagnostics=["a warning"], error="engine failed")
    diff.add(ResourceChange("create", r("a")))
    diff.add(ResourceChange("update", r("b"), [Change("description", "x", "y")], renamed_from=urn + "old-b"))
    diff.add(ResourceChange("replace", r("c"), [Change("name", "c0", "c")], ["name"]))
    diff.add(ResourceChange("delete", r("d")))
    diff.add(ResourceChange("import", r("e")))
    diff.add(ResourceChange("drift", r("f"), [Change("private", False, True)]))
    plan = Plan("the deployed state", [diff], refusals=[Refusal("s", "repo-delete", "--allow-repo-delete", "the plan deletes 1 repository", "s")], kind=kind)
    document = json.loads(render(plan, "json"))
    validate(document)
    assert document["counts"] == {**{a: 1 for a in ("create", "update", "replace", "delete", "import", "drift")}, "release": 0, "config": 0}


def test_the_schema_rejects_what_it_should():
    good = json.loads(render(Plan("HEAD", [StackDiff("s", mission="infra")]), "json"))
    validate(good)
    for broken in ({**good, "schema_version": 2}, {**good, "kind": "apply"}, {k: v for k, v in good.items() if k != "stacks"}):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)
