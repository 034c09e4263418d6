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
