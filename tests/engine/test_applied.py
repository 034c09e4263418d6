"""`up --all` applies only the stacks whose compiled state changed since their last apply (the
record is the stack tag condainfra:applied); `--force` applies every stack.
Mock: the Pulumi CLI (tests/engine/fake_pulumi.py, as v3.211, whose file backend keeps stack tags)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condainfra.devtools.github_org import generated_org, write_config
from condainfra.project import Project

from .conftest import deployed


def applied(calls: list[dict]) -> list[str]:
    """The stacks `pulumi up` ran on."""
    out = []
    for call in calls:
        args = [a for a in call["args"] if a != "--non-interactive"]
        if args[0] == "up":
            out.append(args[args.index("--stack") + 1])
    return out


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A generated org in 4 shards, every stack deployed (as an earlier `up` leaves it)."""
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "v3.211.0")
    root = write_config(tmp_path / "org", generated_org(repos=46, teams=44, members=30), shards=4)
    for spec in Project.load(root).stacks():
        deployed(root, spec.name)
    return root


def test_up_all_after_a_one_feedstock_change_applies_one_shard(cli, project, fake_pulumi):
    names = [s.name for s in Project.load(project).stacks()]
    assert len(names) == 5
    first = cli("up", "--all", "--root", str(project))
    assert first.code == 0, first.err
    assert sorted(applied(fake_pulumi())) == sorted(names)  # nothing recorded yet: every stack

    again = cli("up", "--all", "--root", str(project))
    assert again.code == 0, again.err
    assert sorted(applied(fake_pulumi())) == sorted(names)  # no new `up`: every stack is as last applied
    assert again.err.count("compiled state unchanged since its last apply") == len(names)

    feedstocks = project / "stacks" / "bigorg" / "feedstocks" / "generated.yaml"
    lines = feedstocks.read_text().splitlines()
    name = lines[7].split(":", 1)[0]
    lines[7] = f"{name}: [user00020, user00021]"
    feedstocks.write_text("\n".join(lines) + "\n")
    loaded = Project.load(project)
    shard = next(s.name for s in loaded.stacks() if s.kind == "feedstocks" and any(r.name == f"{name}-feedstock" for r in loaded.compile(s)))

    before = len(applied(fake_pulumi()))
    changed = cli("up", "--all", "--root", str(project))
    assert changed.code == 0, changed.err
    assert applied(fake_pulumi())[before:] == [shard]  # one merge, one feedstock: one shard applied

    before = len(applied(fake_pulumi()))
    forced = cli("up", "--all", "--force", "--root", str(project))
    assert forced.code == 0, forced.err
    assert sorted(applied(fake_pulumi())[before:]) == sorted(names)


def test_a_backend_without_tags_applies_every_time(cli, project, fake_pulumi, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "v3.210.0")  # file backends keep no tags before 3.211
    for _ in range(2):
        result = cli("up", "--stack", "bigorg", "--root", str(project))
        assert result.code == 0, result.err
        assert "did not keep the record" in result.err
    assert applied(fake_pulumi()) == ["bigorg", "bigorg"]
