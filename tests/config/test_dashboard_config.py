"""Bad input in stacks/dashboard/dashboard.yaml: `path:line: message`, exit 2, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILE = "stacks/dashboard/dashboard.yaml"


@pytest.fixture
def project(minimal: Path) -> Path:
    (minimal / "stacks" / "dashboard").mkdir()
    shutil.copy(REPO / FILE, minimal / FILE)
    return minimal


def line_of(root: Path, text: str) -> int:
    return next(i for i, line in enumerate((root / FILE).read_text().splitlines(), 1) if text in line)


def edit(root: Path, old: str, new: str) -> None:
    path = root / FILE
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize(
    "old, new, anchor, message",
    [
        ("backup_retention_days: 7", "backup_retention_days: 3", "backup_retention_days", "greater than or equal to 7"),
        ("  memory: 2048", "  memory: 3000", "service:", "not a Fargate size"),
        ("domain: dashboard.conda-forge.org", "domain: 'dash board'", "domain:", "should match pattern"),
        ("availability_zones: [us-east-2a, us-east-2b]", "availability_zones: [us-east-2a, eu-west-1a]", "region:", "not in region us-east-2"),
        ("  bucket: condainfra-quetz-packages", "  bucket: Not_A_Bucket", "  bucket:", "should match pattern"),
        ("region: us-east-2", "region: us-east-2\nsecret_value: hunter2", "secret_value", "unknown key 'secret_value'"),
        ("  github_requests_per_run: 300", "  github_requests_per_run: 4000", "plugin:", "is 16,000 requests an hour, above the 12,500"),
    ],
)
def test_bad_dashboard_config(cli, project, tmp_path, old, new, anchor, message):
    edit(project, old, new)
    result = cli("validate", "--root", str(project))
    assert result.code == 2, result.err
    expected_line = line_of(project, anchor) if anchor != "region:" else None
    where = f"{FILE}:{expected_line}:" if expected_line else f"{FILE}:"
    assert where in result.err and message in result.err, result.err
    assert "Traceback" not in result.err
    out = tmp_path / "plan.md"
    planned = cli("plan", "--stack", "dashboard", "--from-scratch", "--root", str(project), "--out", str(out))
    assert planned.code == 1 and not out.exists()


def test_shipped_dashboard_config_validates(cli, project):
    result = cli("validate", "--root", str(project))
    assert result.code == 0, result.err
    listed = cli("stacks", "--root", str(project), "--format", "json")
    assert any(s["stack"] == "dashboard" and s["mission"] == "dashboard" for s in __import__("json").loads(listed.out))


def test_a_folder_in_place_of_the_file_is_reported(cli, minimal):
    (minimal / FILE).mkdir(parents=True)
    result = cli("validate", "--root", str(minimal))
    assert result.code == 2
    assert f"{FILE}:1: not a file" in result.err
