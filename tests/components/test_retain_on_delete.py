"""An emptied maintainer list never empties the team on GitHub (issue 16).

`numpy: []` means "maintainers not known". Before, the team's members resource simply left the desired
state, and the provider's delete of `github_team_members` removes every member from the team. Now every
team's members resource is registered with retain-on-delete, so that its deletion only forgets it.

Mock: the Pulumi engine (Pulumi's mock monitor, recording each RegisterResource request)."""

from __future__ import annotations

from pathlib import Path

from condainfra.compiler import github as gh
from condainfra.engine import mockrun
from condainfra.project import Project

CORE = "stacks/conda-forge/feedstocks/core.yaml"


def _registered(monkeypatch, project: Project, stack: str):
    for var in ("GITHUB_TOKEN", "CF_ADMIN_GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return mockrun.render_with_mocks(project.name, stack, project.compile(project.stack(stack)), {})


def test_every_team_members_resource_is_registered_with_retain_on_delete(workdir, monkeypatch):
    project = Project.load(workdir)
    shard = next(s.name for s in project.stacks() if s.kind == "feedstocks" and any(f.name == "numpy" for f in project.feedstocks_of(s)))
    recorded = _registered(monkeypatch, project, shard)
    members = [r for r in recorded if r.type == gh.TEAM_MEMBERS]
    assert any(r.name == "numpy" for r in members)
    assert members and all(r.retain_on_delete for r in members)
    # nothing else is retained: a deleted repository or team must still be seen as deleted
    assert not any(r.retain_on_delete for r in recorded if r.type != gh.TEAM_MEMBERS)


def test_an_emptied_list_leaves_the_program_and_its_state_says_retain(workdir, monkeypatch):
    project = Project.load(workdir)
    shard = next(s.name for s in project.stacks() if s.kind == "feedstocks" and any(f.name == "numpy" for f in project.feedstocks_of(s)))
    before = {r.urn: r for r in _registered(monkeypatch, project, shard)}
    path = Path(workdir) / CORE
    path.write_text(path.read_text().replace("numpy: [h-vetinari, isuruf, jakirkham, msarahan, ocefpaf, pelson, rgommers, xhochy]", "numpy: []"))
    after = {r.urn: r for r in _registered(monkeypatch, Project.load(workdir), shard)}
    (gone,) = [before[u] for u in before.keys() - after.keys()]
    # the engine deletes what the program no longer registers; what the last `up` recorded decides how:
    # retained, so GitHub keeps the team's members
    assert gone.type == gh.TEAM_MEMBERS and gone.name == "numpy" and gone.retain_on_delete
    assert any(r.type == gh.TEAM and r.name == "numpy" for r in after.values())  # the team itself stays
