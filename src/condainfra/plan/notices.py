"""Security notices: changes a plan applies without refusal, but that a reviewer must see first.

A public repository gaining a GPU runner group is one: anyone can open a pull request on a
public repository, and its workflow then runs on an expensive machine inside our AWS account.
"""

from __future__ import annotations

from typing import Callable

from ..compiler import runners as ru
from ..compiler.resources import REF, Resource
from ..config.runners import is_gpu_instance


def _selected(resources: list[Resource]) -> dict[str, tuple[str, set[str]]]:
    """Each runner group's URN -> (visibility, the org/repo names it selects)."""
    names = {r.urn: r.name for r in resources if r.type == ru.REPOSITORY_LOOKUP}
    out = {}
    for r in resources:
        if r.type == ru.ACTIONS_RUNNER_GROUP:
            refs = r.inputs.get("selectedRepositoryIds") or []
            repos = {names[v[REF]] for v in refs if isinstance(v, dict) and v.get(REF) in names}
            out[r.urn] = (r.inputs.get("visibility", ""), repos)
    return out


def _gpu_groups(resources: list[Resource]) -> set[str]:
    """URNs of the runner groups into which a GPU pool registers (pools are nested in their group)."""
    parent = {r.urn: r.parent for r in resources}
    gpu_components = {
        parent.get(parent.get(r.urn))  # launch template -> pool -> group component
        for r in resources
        if r.type == ru.LAUNCH_TEMPLATE and is_gpu_instance(str(r.inputs.get("instanceType", "")))
    }
    return {r.urn for r in resources if r.type == ru.ACTIONS_RUNNER_GROUP and r.parent in gpu_components}


def runner_notices(before: list[Resource], after: list[Resource], is_public: Callable[[str], bool]) -> list[str]:
    """``is_public("org/repo")``: whether a repository is public (when unknown, say yes)."""
    gpu_after = _gpu_groups(after)
    if not gpu_after:  # every stack but the runners': nothing to walk further
        return []
    old, new = _selected(before), _selected(after)
    gpu_before = _gpu_groups(before)
    notices = []
    for urn in sorted(gpu_after):
        visibility, repos = new[urn]
        group = urn.rsplit("::", 1)[-1]
        # a group that only now gets a GPU pool brings every repository it already had to the GPUs
        old_visibility, old_repos = old.get(urn, ("", set())) if urn in gpu_before else ("", set())
        if visibility == "all" and old_visibility != "all":
            notices.append(f"GPU runner group {group} is now open to every repository of the org, public ones included")
        for repo in sorted(repos - old_repos):
            if is_public(repo):
                notices.append(f"public repository {repo} gains GPU runner group {group}: anyone can open a pull request there and run on it")
    return notices
