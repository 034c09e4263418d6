"""The render document: every compiled resource of some stacks, as JSON a later plan can diff against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..errors import CondainfraError
from ..project import Project

FORMAT = "condainfra-render/1"


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
    """A saved render, checked enough that a wrong file gives a clear message, not a KeyError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CondainfraError(f"{path}: cannot read saved render: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CondainfraError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise CondainfraError(f"{path}: not a text file") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("stacks"), dict):
        raise CondainfraError(f"{path}: not a condainfra render (expected \"format\": \"{FORMAT}\"; write one with `condainfra render`)")
    out: dict[str, list[Resource]] = {}
    for name, stack in data["stacks"].items():
        try:
            out[name] = [Resource.from_json(r) for r in stack["resources"]]
        except (KeyError, TypeError, AttributeError):
            raise CondainfraError(f"{path}: stack {name!r}: malformed resource list") from None
    return out
