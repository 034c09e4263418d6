"""What the real conda-forge org holds, in small: feedstocks named like org teams (`r`, `cuda`,
`staged-recipes`), two feedstocks whose names give one slug (`pdfminer.six`, `pdfminer-six`), team
names GitHub accepts, and a validate that reports every problem of a broken org.yaml at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from condainfra.compiler import github as gh
from condainfra.compiler.resources import LOOKUP
from condainfra.errors import ConfigError
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]
FEED = "stacks/conda-forge/feedstocks"


@pytest.fixture
def real(tmp_path: Path) -> Path:
    """The shipped conda-forge org with a generated slice of its real feedstock list."""
    root = tmp_path / "real"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks/conda-forge", root / "stacks/conda-forge")
    names = [f"pkg-{i:03d}" for i in range(40)]
    (root / FEED / "generated.yaml").write_text(
        "".join(f"{n}: [user{i}]\n" for i, n in enumerate(names))
        + "r: [conda-forge/r, jdblischak]\ncuda: [conda-forge/cuda, jakirkham]\nstaged-recipes: [jaimergp, newcomer]\n"
        + "pdfminer-six: [goulu]\npdfminer.six:\n  maintainers: [pietermarsman]\n"
    )
    return root


def test_a_slug_collision_names_both_feedstocks_and_the_way_out(real):
    with pytest.raises(ConfigError) as caught:
        Project.load(real)
    assert [str(i) for i in caught.value.issues] == [
        f"{FEED}/generated.yaml:45: feedstocks 'pdfminer-six' ({FEED}/generated.yaml:44), 'pdfminer.six' ({FEED}/generated.yaml:45) "
        "would all have the team slug 'pdfminer-six'; give all but one the team it has on GitHub with `team: <name>`, "
        "or remove the entries of feedstocks that no longer exist"
    ]


def resolved(real: Path) -> Project:
    path = real / FEED / "generated.yaml"
    path.write_text(path.read_text().replace("  maintainers: [pietermarsman]\n", "  maintainers: [pietermarsman]\n  team: pdfminer.six-maintainers\n"))
    return Project.load(real)


def feedstock_resources(project: Project, name: str):
    spec = next(s for s in project.stacks() if s.kind == "feedstocks" and any(f.name == name for f in project.feedstocks_of(s)))
    resources = project.compile(spec)
    component = next(r.urn for r in resources if r.type == gh.FEEDSTOCK and r.name == name)
    return [r for r in resources if r.parent == component]


def test_feedstocks_named_like_org_teams_share_that_team(real):
    project = resolved(real)
    for name in ("r", "cuda", "staged-recipes"):
        resources = feedstock_resources(project, name)
        kinds = sorted(r.type.rsplit(":", 1)[-1] for r in resources)
        # the org stack owns the team and its members: the shard grants it the repository, nothing more
        assert "Team" not in kinds and "TeamMembers" not in kinds, name
        grant = next(r for r in resources if r.type == gh.TEAM_REPOSITORY)
        assert grant.inputs["teamId"] == {LOOKUP: gh.GET_TEAM, "args": {"slug": name, "summaryOnly": True}, "output": "id"}
    org_teams = [r.name for r in project.compile(project.stack("conda-forge")) if r.type == gh.TEAM]
    assert org_teams.count("r") == 1 and org_teams.count("cuda") == 1
    warnings = [str(w) for w in project.orgs["conda-forge"].warnings]
    # the team's members are org.yaml's: a maintainer listed only in the recipe is told, not silently granted
    assert warnings == [f"{FEED}/generated.yaml:43: feedstock 'staged-recipes': 'newcomer' is not in team 'staged-recipes', which org.yaml declares and owns; add them there to grant access"]


def test_an_explicit_team_resolves_the_collision(real):
    project = resolved(real)
    named = {(r.type, r.name): r for r in feedstock_resources(project, "pdfminer.six")}
    assert named[gh.TEAM, "pdfminer.six-maintainers"].inputs["name"] == "pdfminer.six-maintainers"
    assert named[gh.TEAM_MEMBERS, "pdfminer.six-maintainers"].inputs["teamSlug"] == "pdfminer-six-maintainers"
    assert (gh.TEAM_REPOSITORY, "pdfminer.six-feedstock/pdfminer-six-maintainers") in named
    other = {(r.type, r.name) for r in feedstock_resources(project, "pdfminer-six")}
    assert {(gh.TEAM, "pdfminer-six"), (gh.TEAM_REPOSITORY, "pdfminer-six-feedstock/pdfminer-six")} <= other


def test_team_names_github_accepts(tmp_path, minimal):
    org = minimal / "stacks/acme/org.yaml"
    org.write_text(org.read_text().replace("  core:\n", "  sig/Node Ops:\n    members: [carol]\n  core:\n"))
    project = Project.load(minimal)
    team = next(r for r in project.compile(project.stack("acme")) if r.type == gh.TEAM and r.name == "sig/Node Ops")
    members = next(r for r in project.compile(project.stack("acme")) if r.type == gh.TEAM_MEMBERS and r.name == "sig/Node Ops")
    assert team.inputs["name"] == "sig/Node Ops" and members.inputs["teamSlug"] == "sig-node-ops"


def test_validate_reports_every_problem_of_a_broken_org_yaml(cli, minimal):
    org = minimal / "stacks/acme/org.yaml"
    bad_teams = "".join(f"  ' bad{i}':\n    repositories: {{nowhere-{i}: push}}\n" for i in range(3))
    org.write_text(org.read_text().replace("teams:\n", "teams:\n" + bad_teams + "  wrong:\n    privacy: public\n    repositories: {elsewhere: pull}\n"))
    result = cli("validate", "--root", str(minimal))
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("stacks/")]
    # the bad privacy value does not hide the three bad names, nor the four undeclared repositories
    assert len([line for line in lines if "is not a valid team name" in line]) == 3
    assert len([line for line in lines if "is not declared" in line]) == 4
    assert any("teams.wrong.privacy: Input should be 'closed' or 'secret'" in line for line in lines)
    assert "8 problem(s)" in result.err


def test_an_unknown_top_level_key_and_many_bad_values_hide_nothing(cli, minimal):
    org = minimal / "stacks/acme/org.yaml"
    text = org.read_text().replace("org: acme\n", "org: acme\ncolour: blue\n")
    text = text.replace("owners: [alice, bob]", "owners: [alice, bob, '-bad-']").replace("members: [carol]", "members: [carol, 'x y']")
    teams = "".join(f"  t{i}:\n    privacy: open\n    repositories: {{gone-{i}: push, lost-{i}: pull}}\n" for i in range(5))
    org.write_text(text.replace("teams:\n", "teams:\n" + teams + "  ' bad':\n    repositories: {nope: push}\n"))
    (minimal / "stacks/acme/feedstocks/a.yaml").write_text(
        "good: [alice]\n'bad name!': [alice]\nweird: {maintainers: [alice], archived: maybe}\nother: {maintainers: [alice], colour: red}\n"
    )
    result = cli("validate", "--root", str(minimal))
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("stacks/")]
    assert "stacks/acme/org.yaml:2: unknown key 'colour'" in lines
    assert len([line for line in lines if "Input should be 'closed' or 'secret'" in line]) == 5
    assert len([line for line in lines if "is not declared" in line]) == 11
    assert len([line for line in lines if "is not a valid GitHub login" in line]) == 2
    assert any("' bad' is not a valid team name" in line for line in lines)
    assert any(line.startswith("stacks/acme/feedstocks/a.yaml:2:") and "not a valid feedstock name" in line for line in lines)
    assert any(line.startswith("stacks/acme/feedstocks/a.yaml:3:") and "weird.archived" in line for line in lines)
    assert any(line.startswith("stacks/acme/feedstocks/a.yaml:4:") and "unknown key 'colour'" in line for line in lines)
    assert f"{len(lines)} problem(s)" in result.err and len(lines) == 23
