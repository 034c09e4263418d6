"""--parallel N shares one GitHub token: GitHub stacks apply one at a time and refresh two at a time,
whatever N; the others (AWS's) use all N. Mock: the Pulumi CLI (tests/engine/fake_pulumi.py)."""

from __future__ import annotations

import pytest

from .conftest import deployed


def intervals(fake_pulumi, command: str) -> dict[str, tuple[float, float]]:
    starts = {c["args"][c["args"].index("--stack") + 1]: c["t"] for c in fake_pulumi() if command in c["args"][:2]}
    ends = {f["stack"]: f["t"] for f in fake_pulumi("finished") if f["finished"] == command}
    return {s: (starts[s], ends[s]) for s in starts}


def most_at_once(spans: list[tuple[float, float]]) -> int:
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)


@pytest.mark.parametrize("kind, command, github_at_once", [("up", "up", 1), ("drift", "refresh", 2)])
def test_github_stacks_share_one_token_whatever_parallel_says(cli, workdir, fake_pulumi, monkeypatch, kind, command, github_at_once):
    github = ["conda-forge", "bioconda", "conda-forge-feedstocks-00", "conda-forge-feedstocks-01"]
    aws = ["mirror", "dashboard"]
    for name in github + aws:
        deployed(workdir, name)
    monkeypatch.setenv("FAKE_PULUMI_DELAY", "0.6")
    args = [a for n in github + aws for a in ("--stack", n)]
    extra = ["--deep"] if kind == "drift" else []
    result = cli(kind, *extra, *args, "--parallel", "6", "--root", str(workdir))
    assert result.code == 0, result.err
    spans = intervals(fake_pulumi, command)
    assert set(spans) == set(github + aws)
    assert most_at_once([spans[s] for s in github]) == github_at_once
    assert most_at_once(list(spans.values())) > github_at_once  # the AWS stacks ran beside them
