"""The render document: every compiled resource of some stacks, as JSON a later plan can diff against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..errors import CondainfraError
from ..inputfile import read_capped
from ..jsondoc import JsonDocumentError, loads
from ..project import Project

FORMAT = "condainfra-render/1"
# conda-forge's whole render (about 170,000 resources) is about 100 MB
MAX_RENDER_BYTES = 1 << 30


def render(project: Project, specs: list[StackSpec]) -> dict[str, list[Resource]]:
    return {spec.name: project.compile(spec) for spec in specs}


def to_document(project: Project, specs: list[StackSpec], rendered: dict[str, list[Resource]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "project": project.name,
        "stacks": {
            spec.name: {
                "mission": spec.mission,
                "org": spec.org,
                "resources": [r.to_json() for r in rendered[spec.name]],
            }
            for spec in specs
        },
    }


def read_document(path: Path) -> dict[str, list[Resource]]:
    """A saved render, checked enough that a wrong or hostile file gives one clear message, not a
    KeyError or a RecursionError: size-capped, depth-limited (jsondoc), every resource's names strings."""
    try:
        data = loads(read_capped(path, MAX_RENDER_BYTES, str(path)), str(path))
    except JsonDocumentError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise CondainfraError(f"{where}: {'not valid JSON: ' if exc.line else ''}{exc.reason}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("stacks"), dict):
        raise CondainfraError(f"{path}: not a condainfra render (expected \"format\": \"{FORMAT}\"; write one with `condainfra render`)")
    out: dict[str, list[Resource]] = {}
    for name, stack in data["stacks"].items():
        try:
            resources = [Resource.from_json(r) for r in stack["resources"]]
        except (KeyError, TypeError, AttributeError):
            raise CondainfraError(f"{path}: stack {name!r}: malformed resource list") from None
        for r in resources:
            if not all(isinstance(v, str) for v in (r.urn, r.type, r.name)) or not isinstance(r.inputs, dict) or not r.urn.startswith("urn:pulumi:"):
                raise CondainfraError(f"{path}: stack {name!r}: malformed resource (urn, type and name are strings, inputs a mapping)")
        out[name] = resources
    return out
