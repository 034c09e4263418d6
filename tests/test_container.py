"""The dashboard's container: the Dockerfile the dashboard stack's image is built from, and its
entry point. No Docker engine runs here, so the image itself is not built in the tests; what the
stack relies on is checked against the files."""

from __future__ import annotations

import os
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


def test_entrypoint_builds_the_database_url_without_writing_the_password(tmp_path):
    """Run the entry point with stand-ins for `python3 -c migrate` and `quetz start` (recording fakes:
    no database or Quetz server is started) and check what Quetz would be started with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    python = shutil.which("python3")
    (bin_dir / "python3").write_text(
        "#!/bin/sh\n"
        # the URL snippet runs for real; the migration call is recorded instead
        f'case "$2" in *migrate*) echo "migrate $3" >> {record}; exit 0;; esac\n'
        f'exec {python} "$@"\n'
    )
    (bin_dir / "quetz").write_text(f'#!/bin/sh\necho "quetz $*" >> {record}\nenv | grep "^QUETZ_\\|^DB_" | sort >> {record}\n')
    for tool in ("python3", "quetz"):
        (bin_dir / tool).chmod(0o755)
    home = tmp_path / "srv"
    script = ENTRYPOINT.read_text().replace("deployment=/srv/quetz/deployment", f"deployment={home}")
    (tmp_path / "entry.sh").write_text(script)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin", "CONDAINFRA_QUETZ_CONFIG": '[session]\nhttps_only = true\n',
        "DB_HOST": "db.internal", "DB_PORT": "5432", "DB_NAME": "quetz", "DB_USER": "quetz", "DB_PASSWORD": "p@ss:w/rd",
    }
    result = subprocess.run(["sh", str(tmp_path / "entry.sh")], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = record.read_text().splitlines()
    assert lines[0] == f"migrate {home}"
    assert lines[1] == f"quetz start {home} --host 0.0.0.0 --port 8000 --proxy-headers --supervisor --log-level info"
    assert "QUETZ_SQLALCHEMY_DATABASE_URL=postgresql://quetz:p%40ss%3Aw%2Frd@db.internal:5432/quetz" in lines
    assert not any(line.startswith("DB_PASSWORD=") for line in lines)  # unset before Quetz starts
    assert (home / "config.toml").read_text() == '[session]\nhttps_only = true\n\n'
    assert "p@ss" not in (home / "config.toml").read_text()
