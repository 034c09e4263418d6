"""Every selected stack at once: --all, --mission, --parallel, one report, exit codes over the set.
Mock: the Pulumi CLI (tests/engine/fake_pulumi.py); the Automation API, engine, rails and renderer are real."""

from __future__ import annotations

import json

import pytest

from condainfra.plan.report import COMMENT_LIMIT
from condainfra.project import Project

from .conftest import deployed, scenario, secret, step, urn_of


def _deploy_all(root, kinds=None) -> list[str]:
    names = [s.name for s in Project.load(root).stacks() if kinds is None or s.kind in kinds or s.mission in kinds]
    for name in names:
        deployed(root, name)
    return names


def _policy(size: int, marker: str) -> str:
    statements = [{"Sid": f"S{i:04d}", "Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"} for i in range(size // 90)]
    statements.append({"Sid": "Trust", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"Service": marker}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def test_preview_all_on_a_change_touching_32_shards_is_one_comment(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    # The acceptance case: every shard changes, a 5,000-character policy changes near its end,
    # and a secret is in play; the Markdown fits one PR comment, summary first, secret masked.
    project = Project.load(workdir)
    _deploy_all(workdir)
    shards = [s.name for s in project.stacks() if s.kind == "feedstocks"]
    assert len(shards) == 32
    plan = {}
    for shard in shards:
        repo = f"urn:pulumi:{shard}::condainfra::github:index/repository:Repository::changed-feedstock"
        steps = [step("update", repo, old={"description": "old"}, new={"description": "new"}, diffs=["description"])]
        for i in range(40):  # enough resources per shard that the whole report would not fit uncollapsed
            new_repo = repo.rsplit("::", 1)[0] + f"::new-thing-{i}-feedstock"
            steps.append(step("create", new_repo, new={"name": f"new-thing-{i}-feedstock", "description": "x" * 60, "topics": ["conda-forge"]}))
        plan[shard] = {"preview": steps}
    policy_urn = urn_of(workdir, "runners", "rolePolicy:RolePolicy")
    before, after = _policy(5000, "ec2.amazonaws.com"), _policy(5000, "ssm.amazonaws.com")
    assert len(before) >= 5000 and len(after) >= 5000
    plan["runners"] = {"preview": [step("update", policy_urn, old={"policy": before}, new={"policy": after}, diffs=["policy"])]}
    token_urn = urn_of(workdir, "conda-forge", "actionsOrganizationSecret:ActionsOrganizationSecret")
    plan["conda-forge"] = {"preview": [step("update", token_urn, old={"plaintextValue": secret("hunter2-old")}, new={"plaintextValue": secret("hunter2-new")}, diffs=["plaintextValue"])]}
    scenario(tmp_path, monkeypatch, plan)

    out = tmp_path / "preview.md"
    result = cli("preview", "--all", "--format", "markdown", "--out", str(out), "--parallel", "4", "--root", str(workdir))
    assert result.code == 2, result.err
    markdown = out.read_text()
    assert len(markdown) <= COMMENT_LIMIT
    assert markdown.startswith("**Preview: 1280 to create, 34 to update") and markdown.index("| mission") < markdown.index("<details>")  # summary first
    assert "hunter2" not in markdown and "[secret]" in markdown
    assert '-        "Service": "ec2.amazonaws.com"' in markdown and '+        "Service": "ssm.amazonaws.com"' in markdown
    assert all(shard in markdown for shard in shards)
    report = json.loads(cli("preview", "--all", "--format", "json", "--root", str(workdir)).out)
    assert report["counts"]["create"] == 32 * 40 and report["counts"]["update"] == 34
    assert "hunter2" not in json.dumps(report)


def test_one_failing_stack_is_named_and_the_others_are_still_reported(cli, workdir, fake_pulumi, tmp_path, monkeypatch):
    names = _deploy_all(workdir, {"org"})
    repo = urn_of(workdir, "conda-forge", "repository:Repository")
    scenario(tmp_path, monkeypatch, {"conda-forge": {"preview": [step("update", repo, old={"description": "a"}, new={"description": "b"}, diffs=["description"])]}})
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "bioconda:preview")
    result = cli("preview", "--stack", "bioconda", "--stack", "conda-forge", "--format", "json", "--root", str(workdir))
    assert names == ["bioconda", "conda-forge"]
    assert result.code == 1
    assert "error: bioconda: error: GET https://api.github.com/orgs/conda-forge: 401 Bad credentials" in result.err
    report = json.loads(result.out)
    by_stack = {s["stack"]: s for s in report["stacks"]}
    assert by_stack["bioconda"]["error"] and by_stack["conda-forge"]["error"] is None
    assert [c["urn"] for c in by_stack["conda-forge"]["update"]] == [repo]


def test_mission_selects_its_stacks_only(cli, workdir, fake_pulumi):
    _deploy_all(workdir, {"mirror", "dashboard"})
    result = cli("preview", "--mission", "mirror", "--format", "json", "--root", str(workdir))
    assert result.code == 0, result.err
    assert [s["stack"] for s in json.loads(result.out)["stacks"]] == ["mirror"]
    assert {c["args"][c["args"].index("--stack") + 1] for c in fake_pulumi() if "preview" in c["args"][:2]} == {"mirror"}
    bad = cli("preview", "--mission", "mirrors", "--root", str(workdir))
    assert bad.code != 0 and "--mission" in bad.err and "Traceback" not in bad.err
    both = cli("preview", "--mission", "mirror", "--all", "--root", str(workdir))
    assert both.code != 0 and "only one of them" in both.err


@pytest.mark.parametrize("parallel, overlapping", [(1, False), (4, True)])
def test_parallel_bounds_how_many_stacks_run_at_once(cli, workdir, fake_pulumi, monkeypatch, parallel, overlapping):
    names = [s.name for s in Project.load(workdir).stacks() if s.kind == "feedstocks"][:4]
    for name in names:
        deployed(workdir, name)
    monkeypatch.setenv("FAKE_PULUMI_DELAY", "0.5")
    args = [a for n in names for a in ("--stack", n)]
    assert cli("drift", "--deep", *args, "--parallel", str(parallel), "--root", str(workdir)).code == 0
    starts = {c["args"][c["args"].index("--stack") + 1]: c["t"] for c in fake_pulumi() if "refresh" in c["args"][:2]}
    ends = {f["stack"]: f["t"] for f in fake_pulumi("finished")}
    assert set(starts) == set(ends) == set(names)
    at_once = max(sum(1 for s in names if starts[s] <= starts[n] < ends[s]) for n in names)
    assert (at_once > 1) is overlapping and at_once <= parallel


def test_up_all_applies_in_parallel_and_exits_0(cli, workdir, fake_pulumi):
    names = _deploy_all(workdir, {"mirror", "dashboard", "runners"})
    result = cli("up", "--mission", "mirror", "--root", str(workdir))
    assert result.code == 0, result.err
    assert {c["args"][c["args"].index("--stack") + 1] for c in fake_pulumi() if "up" in c["args"][:2]} == {"mirror"}
    assert "mirror" in names
