"""Plans: the desired state against a baseline, with the safety rails applied."""

from __future__ import annotations

from ..compiler import github as gh
from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..project import Project
from .baseline import Baseline, load_baseline
from .diff import diff_stack
from .notices import runner_notices
from .report import Plan
from .safety import Allowances, check

__all__ = ["Allowances", "Plan", "make_plan"]


def _org_of(resources: list[Resource]) -> str | None:
    for r in resources:
        if r.type == gh.PROVIDER:
            return r.inputs.get("owner")
    return None


def make_plan(
    project: Project,
    specs: list[StackSpec],
    *,
    against: str | None = None,
    from_scratch: bool = False,
    every_stack: bool = False,
    allow: Allowances | None = None,
) -> Plan:
    """Compile ``specs`` and diff them against the baseline. With ``every_stack``, stacks
    the baseline has and the project no longer declares are planned as deleted."""
    after = {spec.name: project.compile(spec) for spec in specs}
    baseline = Baseline("nothing (from scratch)") if from_scratch else load_baseline(project.root, against, project.name, project)
    names = list(after)
    if every_stack:
        names += sorted(set(baseline.stack_names()) - set(after))
    before = {name: baseline.resources(name, project, after) for name in names}
    label = baseline.label
    diffs = [diff_stack(name, before.get(name, []), after.get(name, [])) for name in names]
    mission_of = {spec.name: spec.mission for spec in specs}
    for d in diffs:
        d.mission = mission_of.get(d.stack, "infra")
    orgs_of = {spec.name: spec.org for spec in specs if spec.org}
    for name in names:
        if name not in orgs_of:
            org = _org_of(before.get(name, []))
            if org:
                orgs_of[name] = org
    refusals = check(diffs, orgs_of, before, after, allow or Allowances())
    is_public = _public_in(project)
    notices = [n for name in names for n in runner_notices(before.get(name, []), after.get(name, []), is_public)]
    return Plan(label, diffs, refusals, notices)


def _public_in(project: Project):
    from ..config.runners import repository_visibility

    def is_public(full_name: str) -> bool:
        org, _, repo = full_name.partition("/")
        declared = project.orgs.get(org)
        return declared is None or repository_visibility(declared, repo) != "private"

    return is_public
