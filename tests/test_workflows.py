"""The repository's own workflows and the generated mirror-sync.yml: plans on pull requests without
secrets, applies on merge, and no value from config or from a user reaches a shell as code."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from condainfra.compiler import mirror as mi
from condainfra.config.mirror import MirrorConfig
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"

# `${{ }}` is pasted into a script before the shell sees it, so a value that an outsider or a config file
# controls becomes code. Values go through `env:` and are quoted instead. Allowed in `run:` are only contexts
# whose value GitHub itself chooses and that hold no secret: paths on the runner.
SAFE_IN_RUN = {"github.workspace", "runner.temp"}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)


def load(name: str) -> tuple[str, dict]:
    text = (WORKFLOWS / name).read_text()
    return text, yaml.safe_load(text)


def hostile_mirror() -> MirrorConfig:
    """The shipped mirror config, with every optional list filled, so that each generated path is seen."""
    data = yaml.safe_load((REPO / "stacks/mirror/mirror.yaml").read_text())
    data["channels"][1]["packages"] = ["numpy*", "python-3.1?", "_libgcc_mutex"]
    return MirrorConfig.model_validate(data)


@functools.cache  # compiling the project once serves every parametrised case
def every_workflow() -> dict[str, str]:
    texts = {p.name: p.read_text() for p in sorted(WORKFLOWS.glob("*.yml"))}
    project = Project.load(REPO)
    shipped = next(r for r in project.compile(project.stack("mirror")) if r.type == mi.REPOSITORY_FILE)
    texts["generated: mirror-sync.yml (shipped config)"] = shipped.inputs["content"]
    texts["generated: mirror-sync.yml (with packages)"] = mi.workflow(hostile_mirror())
    return texts


def steps_of(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def unquoted_expansions(script: str) -> list[str]:
    """Parameter expansions outside double quotes: word splitting and globbing apply to them.
    `$?`, `$#`, `$$` and `$!` are numbers, `$(...)` is a command the script itself wrote."""
    found, quote, i = [], None, 0
    while i < len(script):
        c = script[i]
        if c == "\\" and quote != "'":
            i += 2
            continue
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == '"':
            quote = None if quote == '"' else '"'
        elif quote is None and c == "'":
            quote = "'"
        elif quote is None and c == "#" and (i == 0 or script[i - 1] in " \t\n"):
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
            continue
        elif quote is None and c == "$":
            m = re.match(r"\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9@*-])", script[i:])
            if m:
                found.append(m.group(0))
        i += 1
    return found


@pytest.mark.parametrize("name", list(every_workflow()))
def test_no_expression_inside_run(name):
    workflow = yaml.safe_load(every_workflow()[name])
    for job, step in steps_of(workflow):
        for expression in EXPRESSION.findall(step.get("run", "")):
            assert expression in SAFE_IN_RUN, f"{name}: job {job}, step {step.get('name')!r}: ${{{{ {expression} }}}} inside run:; pass it through env: and quote it"


@pytest.mark.parametrize("name", list(every_workflow()))
def test_every_expansion_in_run_is_quoted(name):
    workflow = yaml.safe_load(every_workflow()[name])
    for job, step in steps_of(workflow):
        bad = unquoted_expansions(step.get("run", ""))
        assert not bad, f"{name}: job {job}, step {step.get('name')!r}: unquoted {bad}"


def test_the_scanners_see_what_they_must():
    assert unquoted_expansions('up --all $FLAGS') == ["$FLAGS"]
    assert unquoted_expansions('x ${A} "$B" \'$C\' "${D[@]}" $? $(seq 5) # $E\n') == ["${A}"]
    assert EXPRESSION.findall("run ${{ matrix.channel.source }}") == ["matrix.channel.source"]


@pytest.mark.parametrize("name", list(every_workflow()))
def test_run_scripts_pass_shellcheck(name):
    # scripts/test installs shellcheck: a missing one fails here, it does not skip
    assert shutil.which("shellcheck"), "shellcheck is not installed (scripts/test installs it with apt-get)"
    workflow = yaml.safe_load(every_workflow()[name])
    for job, step in steps_of(workflow):
        if "run" not in step:
            continue
        script = EXPRESSION.sub("x", step["run"])
        result = subprocess.run(["shellcheck", "--shell=bash", "--severity=warning", "-"], input=script, capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: job {job}, step {step.get('name')!r}:\n{result.stdout}"


def _run_step(step: dict, env: dict[str, str], tmp_path: Path) -> list[str]:
    """Run a step's script with bash, as the runner would, against a `condainfra` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / "argv"
    fake = bin_dir / "condainfra"
    fake.write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {record}\n")
    fake.chmod(0o755)
    (tmp_path / "numpy-would-be-globbed").write_text("")
    path = f"{bin_dir}:{os.environ['PATH']}"
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={**env, "PATH": path}, check=True)
    return record.read_text().splitlines()


def test_the_generated_sync_step_passes_each_value_as_one_argument(tmp_path):
    workflow = yaml.safe_load(mi.workflow(hostile_mirror()))
    step = next(s for _, s in steps_of(workflow) if s.get("name") == "Sync")
    channel = workflow["jobs"]["sync"]["strategy"]["matrix"]["channel"][1]

    def resolve(value: str) -> str:
        return EXPRESSION.sub(lambda m: str(channel[m.group(1).removeprefix("matrix.channel.")]), str(value))

    env = {**workflow["jobs"]["sync"]["env"], **step["env"]}
    argv = _run_step(step, {k: resolve(v) for k, v in env.items()}, tmp_path)
    assert argv == [
        "mirror", "sync", "--from", "https://conda.anaconda.org/bioconda", "--to", "oci://127.0.0.1:5000/mirrors",
        "--channel", "bioconda", "--insecure", "--jobs", "16",
        "--subdir", "noarch", "--subdir", "linux-64", "--subdir", "linux-aarch64", "--subdir", "osx-64", "--subdir", "osx-arm64",
        "--package", "numpy*", "--package", "python-3.1?", "--package", "_libgcc_mutex",
    ]


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
    assert any(".venv/bin/condainfra up --all" in r for r in runs)
    assert any(r.startswith(".venv/bin/condainfra drift --all") for r in runs)
    assert workflow["concurrency"]["cancel-in-progress"] is False


def _up_step() -> dict:
    _, workflow = load("apply.yml")
    return next(s for s in workflow["jobs"]["up"]["steps"] if s.get("name") == "Up")


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("", ["up", "--all"]),
        ("--allow-repo-delete  --allow-few-owners", ["up", "--all", "--allow-repo-delete", "--allow-few-owners"]),
    ],
)
def test_apply_passes_only_known_flags(tmp_path, flags, expected):
    argv = _run_step_at(_up_step(), {"FLAGS": flags}, tmp_path)
    assert argv == expected


@pytest.mark.parametrize("flags", ["--allow-repo-delete *", "--stack x", "; id", "$(id)", "--allow-repo-delete=yes", "--allow-few-owners\n--stack x"])
def test_apply_refuses_anything_else_in_flags(tmp_path, flags):
    with pytest.raises(subprocess.CalledProcessError):
        _run_step_at(_up_step(), {"FLAGS": flags}, tmp_path)
    assert not (tmp_path / "argv").exists()


def _run_step_at(step: dict, env: dict[str, str], tmp_path: Path) -> list[str]:
    # apply.yml calls the CLI from the job's venv
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "condainfra").write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {tmp_path / 'argv'}\n")
    (venv_bin / "condainfra").chmod(0o755)
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={**env, "PATH": os.environ["PATH"]}, check=True, capture_output=True)
    return (tmp_path / "argv").read_text().splitlines()
