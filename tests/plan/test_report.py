"""The one renderer: a PR comment that fits, with its summary first, secrets masked and long values as diffs."""

from __future__ import annotations

import json

from condainfra.compiler.resources import Resource, json_document, secret
from condainfra.plan.diff import Change, ResourceChange, StackDiff
from condainfra.plan.report import COMMENT_LIMIT, Plan, render

SECRET_TEXT = "hunter2-not-for-reviewers"


def _resource(stack: str, name: str, inputs: dict) -> Resource:
    urn = f"urn:pulumi:{stack}::condainfra::github:index/team:Team::{name}"
    return Resource(urn, "github:index/team:Team", name, None, inputs)


def _policy(marker: str) -> dict:
    # a 5,000-character IAM policy whose one changed statement sits far past any cut
    statements = [{"Sid": f"S{i:03d}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"} for i in range(60)]
    statements[55]["Resource"] = f"arn:aws:s3:::{marker}/*"
    return {"Version": "2012-10-17", "Statement": statements}


def _plan(shards: int = 32, per_shard: int = 400) -> Plan:
    diffs = []
    for s in range(shards):
        stack = f"conda-forge-feedstocks-{s:02d}"
        d = StackDiff(stack, mission="infra")
        for i in range(per_shard):
            d.add(ResourceChange("create", _resource(stack, f"team-{s}-{i}", {"name": f"team-{s}-{i}", "token": {"value": "x", **secret("config:TOKEN")}})))
        d.add(ResourceChange("update", _resource(stack, f"members-{s}", {}), [Change("token", {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": SECRET_TEXT}, "y")]))
        diffs.append(d)
    policy = StackDiff("dashboard", mission="dashboard")
    old, new = json_document(_policy("old-bucket")), json_document(_policy("new-bucket"))
    assert len(json.dumps(new)) > 5000
    policy.add(ResourceChange("update", _resource("dashboard", "task-role-policy", {}), [Change("policy", old, new)]))
    diffs.insert(0, policy)
    return Plan("main", diffs, kind="preview")


def test_a_32_shard_change_is_one_comment_that_fits_with_summary_first():
    text = render(_plan(), "markdown", full_report_hint="the full report is the workflow artifact `plan-report`")
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith("**") and "| mission |" in text.split("<details>", 1)[0]
    assert "collapsed to fit a comment (the full report is the workflow artifact `plan-report`)" in text
    assert SECRET_TEXT not in text


def test_a_long_policy_change_is_shown_as_a_diff_of_its_changed_line():
    text = render(_plan(shards=1, per_shard=1), "markdown")
    assert "```diff" in text
    changed = [line for line in text.splitlines() if line.startswith(("-", "+")) and "bucket" in line]
    assert any(line.startswith("-") and "old-bucket" in line for line in changed)
    assert any(line.startswith("+") and "new-bucket" in line for line in changed)


def test_json_is_versioned_and_masked():
    document = json.loads(render(_plan(shards=2, per_shard=2), "json"))
    assert document["schema_version"] == 1 and document["kind"] == "preview"
    assert SECRET_TEXT not in json.dumps(document)


def test_a_forks_hostile_team_is_data_in_the_comment_never_markup(cli, workdir):
    # issue 17: a team named with a double backtick and HTML, described with HTML and a mention; validate
    # accepts it, and the comment carried raw </details>, table-closing tags, <img> and a live @octocat
    from markdown_it import MarkdownIt

    org = workdir / "stacks/conda-forge/org.yaml"
    name = "x`` </details></td></tr></table><img src=x>"
    org.write_text(org.read_text().replace("teams:\n", f"teams:\n  '{name}':\n    description: '<img src=x onerror=alert(1)> ping @octocat </details>'\n    members: [wolfv]\n", 1))
    assert cli("validate", "--root", str(workdir)).code == 0
    result = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir))
    assert result.code == 2, result.err
    markdown = result.out
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    blocks = "".join(t.content for t in tokens if t.type == "html_block")  # raw HTML: the renderer's own only
    assert blocks.count("<details>") == blocks.count("</details>") == 1 and "<img" not in blocks
    inline_html = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "html_inline"]
    assert set(inline_html) <= {"<br>"}
    texts = " ".join(c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "text")
    assert "@octocat" not in texts
    codes = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"]
    assert name in codes  # shown as written, in a code span sized to it
