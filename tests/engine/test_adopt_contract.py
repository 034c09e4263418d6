"""`up --adopt`: the bulk import runs through the engine wrapper before the stack's first apply.
Mock: the Pulumi CLI (tests/engine/fake_pulumi.py); the import file is plan/adopt.py's, real."""

from __future__ import annotations

from condainfra.plan.adopt import build_import_file
from condainfra.project import Project

from .conftest import commands, deployed


def test_up_adopt_imports_every_resource_then_applies(cli, workdir, fake_pulumi):
    result = cli("up", "--stack", "bioconda", "--adopt", "--root", str(workdir))
    assert result.code == 0, result.err
    calls = fake_pulumi()
    assert commands(calls)[:6] == ["version", "stack select", "stack init", "stack export", "import", "up"]
    imported = calls[4]["args"]
    assert {"--yes", "--skip-preview", "--protect=false", "--generate-code=false"} <= set(imported)
    (record,) = fake_pulumi("imported")
    project = Project.load(workdir)
    expected = build_import_file(project, project.stack("bioconda"))
    assert record["imported"] == expected.document  # the whole file: explicit providers' inputs included
    assert len(record["imported"]["resources"]) > 10
    assert "imported" in result.err and "bioconda" in result.err
    assert f"{expected.imported} imported" in result.out  # the report shows the import steps, as applied


def test_up_adopt_skips_a_stack_that_already_has_state(cli, workdir, fake_pulumi):
    deployed(workdir, "bioconda")
    result = cli("up", "--stack", "bioconda", "--adopt", "--root", str(workdir))
    assert result.code == 0, result.err
    assert "import" not in commands(fake_pulumi()) and "--adopt skipped" in result.err
