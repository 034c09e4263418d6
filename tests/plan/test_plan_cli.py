"""`condainfra plan`: offline, against a git ref or a saved render, with exit codes 0 / 2 / 1."""

from __future__ import annotations

import json
from pathlib import Path

from condainfra.plan import markup
from condainfra.project import Project
from tests.conftest import git

FEEDS = "stacks/conda-forge/feedstocks/core.yaml"


def test_clean_tree_has_no_changes(cli, workdir):
    result = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir))
    assert result.code == 0, result.err
    stacks = len(Project.load(workdir).stacks())  # every org, shard and standalone stack
    assert stacks >= 35 and f"No changes: {stacks} stack(s) match HEAD." in result.out


def test_default_baseline_is_the_merge_base_with_main(cli, workdir):
    git(workdir, "checkout", "-qb", "feature")
    path = workdir / FEEDS
    path.write_text(path.read_text().replace("zlib: [groutr, isuruf, msarahan, ocefpaf]", "zlib: [groutr, isuruf, msarahan]"))
    git(workdir, "-c", "user.email=t@x.invalid", "-c", "user.name=t", "commit", "-qam", "drop ocefpaf from zlib")
    result = cli("plan", "--all", "--format", "json", "--root", str(workdir))
    assert result.code == 2
    plan = json.loads(result.out)
    assert plan["counts"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "import": 0, "drift": 0, "release": 0, "config": 0}


def test_one_maintainer_change_is_exactly_one_update(cli, workdir):
    path = workdir / FEEDS
    path.write_text(path.read_text().replace("zlib: [groutr, isuruf, msarahan, ocefpaf]", "zlib: [groutr, isuruf, msarahan, ocefpaf, wolfv]"))
    result = cli("plan", "--all", "--against", "HEAD", "--format", "json", "--root", str(workdir))
    assert result.code == 2, result.err
    plan = json.loads(result.out)
    assert plan["counts"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "import": 0, "drift": 0, "release": 0, "config": 0}
    changed = [s for s in plan["stacks"] if s["update"]]
    assert len(changed) == 1
    (update,) = changed[0]["update"]
    assert update["type"] == "github:index/teamMembers:TeamMembers" and update["name"] == "zlib"
    (change,) = update["changes"]
    assert change["key"] == "members"
    assert {"role": "member", "username": "wolfv"} in change["new"]
    assert {"role": "member", "username": "wolfv"} not in change["old"]
    stacks = len(Project.load(workdir).stacks())
    assert plan["summary"].startswith(f"Plan: 0 to create, 1 to update, 0 to delete in 1 of {stacks} stack(s)")

    markdown = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir))
    assert markdown.code == 2
    assert markdown.out.splitlines()[0].startswith("**Plan: 0 to create, 1 to update, 0 to delete")
    assert '| ~ | `TeamMembers` | `zlib` | `members`: + `{"role": "member", "username": "wolfv"}` |' in markdown.out


def test_new_feedstock_is_created_and_its_stack_named(cli, workdir):
    with (workdir / FEEDS).open("a") as handle:
        handle.write("brand-new: [wolfv]\n")
    result = cli("plan", "--all", "--against", "HEAD", "--format", "json", "--root", str(workdir))
    assert result.code == 2
    plan = json.loads(result.out)
    created = {c["type"].rsplit(":", 1)[1] for s in plan["stacks"] for c in s["create"]}
    assert created == {"Feedstock", "Repository", "Team", "TeamMembers", "TeamRepository", "RepositoryRuleset"}
    assert plan["counts"]["update"] == plan["counts"]["delete"] == 0


def test_secret_values_are_masked(cli, workdir):
    path = workdir / "stacks/conda-forge/org.yaml"
    path.write_text(path.read_text().replace("    source: env:CF_ADMIN_GITHUB_TOKEN\n", "    source: env:OTHER_TOKEN\n"))
    result = cli("plan", "--stack", "conda-forge", "--against", "HEAD", "--format", "json", "--root", str(workdir))
    assert result.code == 2
    (update,) = json.loads(result.out)["stacks"][0]["update"]
    assert update["changes"] == [{"key": "value", "old": "[secret]", "new": "[secret]"}]
    assert "OTHER_TOKEN" not in result.out


def test_against_a_saved_render(cli, workdir, tmp_path):
    saved = tmp_path / "render.json"
    assert cli("render", "--all", "--out", str(saved), "--root", str(workdir)).code == 0
    assert cli("plan", "--all", "--against", str(saved), "--root", str(workdir)).code == 0
    path = workdir / FEEDS
    path.write_text(path.read_text().replace("numpy: [", "numpy: [wolfv, "))
    result = cli("plan", "--all", "--against", str(saved), "--root", str(workdir))
    assert result.code == 2
    assert f"against {markup.text(str(saved))}" in result.out  # a path is data: its `_` escaped in Markdown


def test_out_file_and_summary(cli, workdir, tmp_path):
    out = tmp_path / "plan.md"
    result = cli("plan", "--all", "--from-scratch", "--out", str(out), "--root", str(workdir))
    assert result.code == 2
    assert result.out.startswith("Plan: ")
    assert out.read_text().startswith("**Plan: ")


def test_errors_exit_1(cli, workdir, tmp_path):
    assert cli("plan", "--all", "--against", "no-such-ref", "--root", str(workdir)).code == 1
    assert cli("plan", "--stack", "nope", "--root", str(workdir)).code == 1
    assert cli("plan", "--root", str(workdir)).code == 1  # neither --stack nor --all
    assert cli("plan", "--all", "--format", "yaml", "--root", str(workdir)).code == 1  # a usage error is not "changes"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "condainfra-render/1",\n "stacks": [}')
    result = cli("plan", "--all", "--against", str(bad), "--root", str(workdir))
    assert result.code == 1 and f"{bad}:2: not valid JSON" in result.err
    other = tmp_path / "other.json"
    other.write_text("{}")
    assert "not a condainfra render" in cli("plan", "--all", "--against", str(other), "--root", str(workdir)).err


def test_a_stack_removed_from_the_project_is_planned_as_deleted(cli, workdir):
    path = workdir / "stacks/conda-forge/org.yaml"
    path.write_text(path.read_text().replace("  shards: 32\n", "  shards: 31\n"))
    result = cli("plan", "--all", "--against", "HEAD", "--format", "json", "--allow-repo-delete", "--allow-team-removal", "--root", str(workdir))
    plan = json.loads(result.out)
    assert "conda-forge-feedstocks-31" in [s["stack"] for s in plan["stacks"] if s["delete"]]


def test_plan_needs_no_credentials(cli, workdir, monkeypatch):
    for var in ("GITHUB_TOKEN", "PULUMI_ACCESS_TOKEN", "AWS_ACCESS_KEY_ID", "CF_ADMIN_GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent-bin-dir:" + str(Path("/usr/bin")))  # no pulumi on PATH
    assert cli("plan", "--all", "--against", "HEAD", "--root", str(workdir)).code == 0


def test_summary_counts_each_stack_under_its_own_mission(cli, workdir):
    # the mirror stack has a github provider owned by conda-forge: it must still count as the mirror mission
    result = cli("plan", "--all", "--from-scratch", "--format", "json", "--root", str(workdir))
    assert result.code == 2, result.err
    plan = json.loads(result.out)
    missions = {s["stack"]: s["mission"] for s in plan["stacks"]}
    assert missions["mirror"] == "mirror" and missions["dashboard"] == "dashboard" and missions["conda-forge"] == "infra"
    markdown = cli("plan", "--all", "--from-scratch", "--root", str(workdir)).out
    rows = [line for line in markdown.splitlines() if line.startswith("| mirror |") or line.startswith("| dashboard |")]
    assert len(rows) == 2


def test_a_hostile_saved_render_is_one_message(cli, workdir, tmp_path):
    # nested 100,000 deep it was `internal error: RecursionError`; a resource whose type is a number a KeyError
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "condainfra-render/1", "stacks": {"s": {"resources": [{"urn": "urn:pulumi:x", "type": "t", "name": "n", "inputs": ' + "[" * 100_000 + "]" * 100_000 + "}]}}}")
    result = cli("plan", "--all", "--against", str(deep), "--root", str(workdir))
    assert result.code == 1 and "nested deeper than 64 levels" in result.err and "Traceback" not in result.err
    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps({"format": "condainfra-render/1", "stacks": {"s": {"resources": [{"urn": "urn:pulumi:x", "type": 7, "name": "n"}]}}}))
    result = cli("plan", "--all", "--against", str(typed), "--root", str(workdir))
    assert result.code == 1 and "malformed resource" in result.err
