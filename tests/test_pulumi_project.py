"""Pulumi.yaml is a valid Pulumi project file that keeps its stack files in stacks/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO.parent / "shared" / "schemas" / "pulumi-project.json"


def project() -> dict:
    return yaml.safe_load((REPO / "Pulumi.yaml").read_text())


def test_essentials():
    data = project()
    assert data["name"] == "condainfra"
    runtime = data["runtime"]
    assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python"
    assert data["stackConfigDir"] == "stacks"
    assert (REPO / data["main"] / "__main__.py").is_file()


@pytest.mark.skipif(not SCHEMA.is_file(), reason="Pulumi's project schema is only in ../shared (not part of this repository)")
def test_validates_against_pulumis_own_schema():
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(project())


@pytest.mark.skipif(not SCHEMA.is_file(), reason="Pulumi's project schema is only in ../shared (not part of this repository)")
def test_schema_check_rejects_a_wrong_project_file():
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    broken = {**project(), "stackConfigDir": ["stacks"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)
