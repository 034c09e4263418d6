"""The dashboard's container: the Dockerfile the dashboard stack's image is built from, and its
entry point. No Docker engine runs here, so the image itself is not built in the tests; what the
stack relies on is checked against the files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from condainfra.compiler import dashboard as da
from condainfra.compiler.resources import JSON
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()
ENTRYPOINT = REPO / "docker" / "quetz-entrypoint.sh"


def instructions(keyword: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(keyword + " ")]


def test_dockerfile_installs_the_dashboard_extra_and_runs_as_the_tasks_user():
    assert any("'.[dashboard]'" in run for run in instructions("RUN"))
    project = Project.load(REPO)
    [task] = [r for r in project.compile(project.stack("dashboard")) if r.type == da.TASK_DEFINITION]
    [container] = task.inputs["containerDefinitions"][JSON]
    assert instructions("USER") == [container["user"]]
    assert instructions("EXPOSE") == [str(container["portMappings"][0]["containerPort"])]
    assert any(line.startswith("stacks ") for line in instructions("COPY"))  # the plugin's project_root
    assert instructions("ENTRYPOINT") == ['["/usr/local/bin/quetz-entrypoint"]']
    assert os.access(ENTRYPOINT, os.X_OK)


def test_entrypoint_passes_shellcheck():
    path = shutil.which("shellcheck")
    assert path, "shellcheck is not installed (scripts/test installs it with apt-get)"
    result = subprocess.run([path, "--severity=style", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_image_installs_only_the_extra_which_declares_what_production_loads():
    """tests/dashboard/test_production.py runs the entry point with what this extra installs: these are
    the declarations the image build relies on."""
    import tomllib

    [install] = [run for run in instructions("RUN") if "pip install" in run]
    assert install == "pip install '.[dashboard]'"
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dashboard"]
    names = {re.split(r"[<>=\[ ]", req, maxsplit=1)[0].lower(): req for req in extra}
    # SQLAlchemy 2.1's postgresql:// loads psycopg 3; Quetz 0.10.4 (its database_extensions) uses psycopg2
    assert names["sqlalchemy"].endswith("<2.1") and "psycopg2-binary" in names and "psycopg" not in names
    assert "s3fs" in names  # the rendered config uses Quetz's S3 package store
