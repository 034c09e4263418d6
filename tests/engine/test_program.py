"""The Pulumi entry point (engine/program.py) picks the stack by name and registers its compiled resources.

Mock: the Pulumi engine, through the SDK's own mock runtime.
"""

from __future__ import annotations

from condainfra.engine import program
from condainfra.engine.mockrun import run_with_mocks
from condainfra.project import Project


def test_program_registers_the_selected_stack(workdir, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    project = Project.load(workdir)
    spec = next(s for s in project.stacks() if s.kind == "feedstocks" and project.feedstocks_of(s))
    recorded = run_with_mocks(project.name, spec.name, lambda: program.run(workdir))
    assert sorted(r.urn for r in recorded) == sorted(r.urn for r in project.compile(spec))


def test_program_for_an_unknown_stack_fails_clearly(workdir):
    import pytest

    from condainfra.errors import CondainfraError

    with pytest.raises(CondainfraError, match="unknown stack 'staging'"):
        run_with_mocks("condainfra", "staging", lambda: program.run(workdir))
