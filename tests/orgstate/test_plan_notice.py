"""A pull request that turns authoritative mode on says, in its plan, that the next `up` removes whoever
GitHub holds beyond the config (plan is offline: `drift` names them); a plan that leaves it on says nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args], cwd=root, check=True, capture_output=True)


def test_turning_authoritative_on_is_said_in_the_plan(cli, workdir):
    org_yaml = workdir / "stacks" / "bioconda" / "org.yaml"
    org_yaml.write_text(org_yaml.read_text() + "authoritative:\n  members: true\n")
    result = cli("plan", "--stack", "bioconda", "--format", "json", "--root", str(workdir))
    assert result.code in (0, 2), result.err
    notices = json.loads(result.out)["notices"]
    assert len(notices) == 1 and "turns on authoritative members" in notices[0] and "condainfra drift --stack bioconda" in notices[0]

    git(workdir, "commit", "-qam", "authoritative")
    again = cli("plan", "--stack", "bioconda", "--format", "json", "--root", str(workdir))
    assert json.loads(again.out)["notices"] == []
