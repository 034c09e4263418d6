"""The repository's own workflows: plans on pull requests without secrets, applies on merge."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def load(name: str) -> tuple[str, dict]:
    text = (WORKFLOWS / name).read_text()
    return text, yaml.safe_load(text)


def test_pull_requests_get_a_plan_without_secrets():
    text, workflow = load("plan.yml")
    assert "pull_request" in workflow[True] and "pull_request_target" not in text
    assert "secrets." not in text
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["plan"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert any("condainfra plan --all" in s.get("run", "") for s in steps)


def test_the_comment_job_never_runs_pull_request_code():
    text, workflow = load("comment.yml")
    assert "workflow_run" in workflow[True]
    assert "actions/checkout" not in text


def test_merges_apply_every_stack_then_look_for_drift():
    _, workflow = load("apply.yml")
    assert workflow[True]["push"]["branches"] == ["main"]
    runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(r.startswith(".venv/bin/condainfra up --all") for r in runs)
    assert any(r.startswith(".venv/bin/condainfra drift --all") for r in runs)
    assert workflow["concurrency"]["cancel-in-progress"] is False
