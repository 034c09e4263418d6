"""The Pulumi program: compile the selected stack, then register exactly what was compiled."""

from __future__ import annotations

from pathlib import Path

import pulumi

from ..components.factory import build_stack
from ..project import Project, find_root


def run(root: Path | None = None) -> None:
    project = Project.load(root or find_root(Path(__file__).parent))
    spec = project.stack(pulumi.get_stack())
    resources = project.compile(spec)
    build_stack(resources, pulumi.Config(project.name))
    pulumi.export("mission", spec.mission)
    pulumi.export("resources", len(resources))
