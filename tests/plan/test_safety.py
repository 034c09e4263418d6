"""Safety rails refuse destructive plans unless the matching --allow flag is given."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from condainfra.compiler import github as gh
from condainfra.engine.automation import Engine
from condainfra.engine.backend import select_backend
from condainfra.plan import make_plan
from condainfra.plan.safety import REMOVAL_LIMIT, Allowances, Rails, Refusal
from condainfra.project import Project

ORG = "stacks/conda-forge/org.yaml"
FEEDS = "stacks/conda-forge/feedstocks"


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def plan(cli, root, *flags):
    return cli("plan", "--all", "--against", "HEAD", "--root", str(root), *flags)


def test_deleting_a_feedstock_repository_is_refused(cli, workdir):
    edit(workdir, f"{FEEDS}/core.yaml", "zlib: [groutr, isuruf, msarahan, ocefpaf]\n", "")
    result = plan(cli, workdir)
    assert result.code == 1
    assert "refused (conda-forge, stack conda-forge-feedstocks-07): the plan deletes 1 repository (zlib-feedstock); archive feedstocks with `archived: true` instead; pass --allow-repo-delete" in result.err
    assert "REFUSED" in result.out  # the plan is still shown to the reviewer
    # zlib is its shard's only feedstock: its team is all the teams `up` of that shard would remove
    assert "stack conda-forge-feedstocks-07): the plan removes 1 of 1 teams" in result.err
    assert plan(cli, workdir, "--allow-repo-delete").code == 1
    assert plan(cli, workdir, "--allow-repo-delete", "--allow-team-removal").code == 2


def test_archiving_instead_is_fine(cli, workdir):
    edit(workdir, f"{FEEDS}/core.yaml", "zlib: [groutr, isuruf, msarahan, ocefpaf]", "zlib:\n  maintainers: [groutr, isuruf, msarahan, ocefpaf]\n  archived: true")
    assert plan(cli, workdir).code == 2


def test_removing_more_than_a_quarter_of_members_is_refused(cli, workdir):
    edit(workdir, ORG, "members: [chrisburr, h-vetinari, hmaarrfk, jdblischak, mariusvniekerk, pkgw, carterbox, msarahan, wolfv, zklaus]", "members: [chrisburr, h-vetinari]")
    result = plan(cli, workdir)
    assert result.code == 1
    assert "the plan removes 8 of 20 members (40%, more than 25%); pass --allow-member-removal" in result.err
    allowed = plan(cli, workdir, "--allow-member-removal")
    assert "members (40%" not in allowed.err
    # those still declared elsewhere stay refused: no flag overrides that
    still = [line for line in allowed.err.splitlines() if "still declare them" in line]
    assert allowed.code == 1 and still and all("pass --allow" not in line for line in still)


def test_removing_a_few_members_is_fine(cli, workdir):
    # offboarding: gone from `members:` and from the one team that still named them
    edit(workdir, ORG, "jdblischak, mariusvniekerk, pkgw, carterbox", "jdblischak, pkgw, carterbox")
    edit(workdir, ORG, "jdblischak, mariusvniekerk, msarahan", "jdblischak, msarahan")
    assert plan(cli, workdir).code == 2


def test_removing_a_member_still_declared_elsewhere_is_refused_with_no_flag_to_override(cli, workdir):
    # zklaus leaves `members:` but stays in team core and in six runner groups (the case)
    edit(workdir, ORG, "msarahan, wolfv, zklaus]\n", "msarahan, wolfv]\n")
    every_flag = ("--allow-member-removal", "--allow-team-removal", "--allow-few-owners", "--allow-repo-delete")
    result = plan(cli, workdir, *every_flag)
    assert result.code == 1
    (line,) = [x for x in result.err.splitlines() if "zklaus" in x]
    assert "the plan removes zklaus from the org, but 7 place(s) still declare them" in line
    core = next(i + 1 for i, x in enumerate((workdir / ORG).read_text().splitlines()) if "members: [carterbox" in x)
    assert f"stacks/conda-forge/org.yaml:{core}: team core (member)" in line
    runners = (workdir / "stacks/runners/runners.yaml").read_text().splitlines()
    named = [f"stacks/runners/runners.yaml:{i + 1}: user of runner group" for i, x in enumerate(runners) if "zklaus" in x]
    assert len(named) == 6 and all(place in line for place in named)
    assert "pass --allow" not in line
    report = json.loads(plan(cli, workdir, "--format", "json").out)
    (refusal,) = [r for r in report["refusals"] if r["rule"] == "still-declared"]
    assert refusal["flag"] is None and refusal["stack"] == "conda-forge"


def test_a_feedstock_maintainer_is_a_remaining_place_with_its_line(cli, workdir):
    edit(workdir, ORG, "members: [chrisburr, h-vetinari,", "members: [h-vetinari,")
    edit(workdir, ORG, "[carterbox, chrisburr, h-vetinari", "[carterbox, h-vetinari")
    result = plan(cli, workdir)
    (line,) = [x for x in result.err.splitlines() if "chrisburr" in x]
    numbers = [i + 1 for i, x in enumerate((workdir / FEEDS / "core.yaml").read_text().splitlines()) if "chrisburr" in x]
    assert numbers and all(f"stacks/conda-forge/feedstocks/core.yaml:{n}: maintainer of feedstock" in line for n in numbers)
    assert "Quetz" in line and result.code == 1


def test_removing_more_than_a_quarter_of_teams_is_refused(cli, workdir):
    text = (workdir / ORG).read_text()
    for first, last in (("  staged-recipes:\n", "  help-r:\n"), ("  help-python:\n", "  r:\n")):
        start, end = text.index(first), text.index(last)
        text = text[:start] + text[end:]
    (workdir / ORG).write_text(text)  # 7 of the org stack's 11 teams
    result = plan(cli, workdir)
    assert result.code == 1
    assert "refused (conda-forge): the plan removes 7 of 11 teams (64%, more than 25%); pass --allow-team-removal" in result.err
    assert plan(cli, workdir, "--allow-team-removal").code == 2


def test_fewer_than_two_owners_is_refused(cli, workdir):
    # the others stay members (they still maintain feedstocks): only the owners' count falls
    edit(workdir, ORG, "owners: [beckermr, isuruf, jaimergp, jakirkham, ocefpaf, xhochy]", "owners: [beckermr]")
    edit(workdir, ORG, "members: [chrisburr,", "members: [isuruf, jaimergp, jakirkham, ocefpaf, xhochy, chrisburr,")
    result = plan(cli, workdir, "--allow-member-removal")
    assert result.code == 1
    assert "the plan leaves 1 owner(s); at least 2 are required; pass --allow-few-owners" in result.err
    assert plan(cli, workdir, "--allow-member-removal", "--allow-few-owners").code == 2


def test_a_feedstock_moving_between_shards_is_not_a_deletion(cli, workdir):
    edit(workdir, ORG, "  shards: 32\n", "  shards: 40\n")
    result = plan(cli, workdir)
    # feedstocks that moved are deleted in one stack and created in another: no repository is lost
    assert "--allow-repo-delete" not in result.err
    assert result.code == 2


# --- one rule in every mode: plan --all, plan --stack and the engine's guard before preview/up ---


class ExportedStack:
    """Mock: a Pulumi stack (no Pulumi CLI here); Engine.guard only reads its state export,
    written as `pulumi stack export` lays it out (what a successful `up` of ``resources`` leaves)."""

    def __init__(self, name: str, resources):
        root = f"urn:pulumi:{name}::condainfra::pulumi:pulumi:Stack::condainfra-{name}"
        items = [{"urn": root, "type": "pulumi:pulumi:Stack", "custom": False}]
        for r in resources:
            item = {"urn": r.urn, "type": r.type, "custom": r.custom, "inputs": r.inputs, "parent": r.parent or root, "protect": r.protect}
            if r.provider:
                item["provider"] = f"{r.provider}::provider-id"
            if r.retain_on_delete:
                item["retainOnDelete"] = True
            items.append(item)
        self.deployment = {"manifest": {}, "resources": items}

    def export_stack(self):
        return SimpleNamespace(deployment=self.deployment)


@pytest.fixture
def engine_at(tmp_path, monkeypatch):
    """An Engine on the edited checkout; its stacks are deployed as ``deployed`` (the project at HEAD) compiles them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\nexit 1\n")  # guard never runs it; Engine only wants it on PATH
    (bin_dir / "pulumi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def judge(root: Path, deployed: Project, spec_name: str) -> list[Refusal]:
        project = Project.load(root)
        state = ExportedStack(spec_name, deployed.compile(deployed.stack(spec_name)))
        _, refusals, _ = Engine(project, select_backend(project, (root / ".condainfra" / "state").absolute().as_uri())).guard(project.stack(spec_name), state, Allowances(), {})
        return refusals

    return judge


def refusals_of(root: Path, specs) -> list[Refusal]:
    project = Project.load(root)
    return make_plan(project, [project.stack(s) for s in specs], against="HEAD", every_stack=False).refusals


def test_team_removal_is_judged_per_stack_however_many_feedstock_teams_the_org_has(workdir, engine_at):
    deployed = Project.load(workdir)
    text = (workdir / ORG).read_text()
    start, end = text.index("  help-python:\n"), text.index("  r:\n")
    (workdir / ORG).write_text(text[:start] + text[end:])  # 4 of the org stack's 11 teams
    everything = [s.name for s in deployed.stacks()]
    pooled_teams = sum(1 for s in deployed.stacks() if s.org == "conda-forge" for r in deployed.compile(s) if r.type == gh.TEAM)
    assert 4 / pooled_teams <= REMOVAL_LIMIT < 4 / 11  # pooling the org's feedstock teams would have let this pass

    whole_plan = refusals_of(workdir, everything)
    assert [str(r) for r in whole_plan] == ["refused (conda-forge): the plan removes 4 of 11 teams (36%, more than 25%); pass --allow-team-removal if this is intended"]
    assert refusals_of(workdir, ["conda-forge"]) == whole_plan
    assert engine_at(workdir, deployed, "conda-forge") == whole_plan


def test_a_move_between_shards_and_a_lost_repository_are_told_apart_in_every_mode(workdir, engine_at):
    deployed = Project.load(workdir)
    shards = [s.name for s in deployed.stacks() if s.kind == "feedstocks"]
    edit(workdir, ORG, "  shards: 32\n", "  shards: 40\n")  # about a fifth of the feedstocks move to the 8 new shards
    edit(workdir, f"{FEEDS}/core.yaml", "zlib: [groutr, isuruf, msarahan, ocefpaf]\n", "")  # and one is deleted
    moved = {s: d for s, d in ((d.stack, d) for d in make_plan(Project.load(workdir), Project.load(workdir).stacks(), against="HEAD").diffs) if d.deletes}
    assert len(moved) > 1  # feedstocks left several shards, not only zlib's

    whole_plan = refusals_of(workdir, [s.name for s in Project.load(workdir).stacks()])
    assert {(r.stack, r.rule) for r in whole_plan} == {("conda-forge-feedstocks-07", "repo-delete"), ("conda-forge-feedstocks-07", "team-removal")}
    per_stack = [r for s in shards for r in refusals_of(workdir, [s])]
    by_engine = [r for s in shards for r in engine_at(workdir, deployed, s)]
    assert per_stack == by_engine == whole_plan


def test_a_mirror_stack_is_judged_alone_whatever_its_provider_owner(cli, workdir, tmp_path):
    # the mirror stack's github provider is owned by conda-forge; it is still no stack of that org
    saved = tmp_path / "render.json"
    assert cli("render", "--all", "--out", str(saved), "--root", str(workdir)).code == 0
    document = json.loads(saved.read_text())
    mirror = document["stacks"]["mirror"]["resources"]
    provider = next(r for r in mirror if r["type"] == gh.PROVIDER)
    assert provider["inputs"]["owner"] == "conda-forge"
    org_repo = next(r for r in document["stacks"]["conda-forge"]["resources"] if r["type"] == gh.REPOSITORY and r["name"] == "cfep")
    # a repository the mirror stack used to hold, named like one the org stack declares
    mirror.append({**org_repo, "urn": org_repo["urn"].replace("urn:pulumi:conda-forge::", "urn:pulumi:mirror::"), "parent": None, "provider": provider["urn"]})
    saved.write_text(json.dumps(document))

    result = cli("plan", "--all", "--against", str(saved), "--format", "json", "--root", str(workdir))
    assert result.code == 1
    assert "error: refused (mirror): the plan deletes 1 repository (cfep)" in result.err  # not (conda-forge), and not a move
    plan = json.loads(result.out)
    assert {s["stack"]: s["mission"] for s in plan["stacks"]}["mirror"] == "mirror"


def test_only_an_orgs_own_stacks_make_a_deletion_a_move(workdir):
    project = Project.load(workdir)
    org, mirror = project.stack("conda-forge"), project.stack("mirror")
    before = project.compile(org)
    repo = next(r for r in before if r.type == gh.REPOSITORY and r.name == "cfep")
    after = [r for r in before if r is not repo and r.parent != repo.urn and repo.urn not in r.dependencies]
    # the mirror stack declaring a same-named repository does not make the org's deletion a move ...
    rails = Rails(project, Allowances(), {"conda-forge": after, "mirror": project.compile(mirror) + [repo]})
    assert [r.rule for r in rails.judge("conda-forge", "conda-forge", before, after)] == ["repo-delete"]
    # ... a shard of the org declaring it does
    shard = project.stack("conda-forge-feedstocks-00")
    rails = Rails(project, Allowances(), {"conda-forge": after, shard.name: project.compile(shard) + [repo]})
    assert rails.judge("conda-forge", "conda-forge", before, after) == []


def test_a_rename_is_no_deletion_for_the_rails_in_every_mode(workdir, engine_at):
    # `previously:` moves the repository in place (an alias): plan and up both let it through
    deployed = Project.load(workdir)
    text = (workdir / ORG).read_text()
    assert "  conda-smithy:\n" in text
    (workdir / ORG).write_text(text.replace("  conda-smithy:\n", "  conda-smithy2:\n    previously: [conda-smithy]\n", 1).replace("      conda-smithy: admin\n", "      conda-smithy2: admin\n"))
    plan = make_plan(Project.load(workdir), [Project.load(workdir).stack("conda-forge")], against="HEAD", every_stack=False)
    (diff,) = plan.diffs
    assert not [c for c in diff.deletes if c.resource.type == gh.REPOSITORY]
    assert any(c.renamed_from and c.resource.name == "conda-smithy2" for c in diff.updates)
    assert plan.refusals == []
    assert engine_at(workdir, deployed, "conda-forge") == []
