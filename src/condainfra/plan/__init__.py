"""Plans: the desired state against a baseline, with the safety rails applied."""

from __future__ import annotations

from ..compiler import github as gh
from ..compiler.resources import Resource
from ..compiler.sharding import shard_stack_name
from ..compiler.stacks import StackSpec
from ..project import STACKS_DIR, Project
from .baseline import Baseline, load_baseline
from .diff import StackDiff, diff_stack
from .authoritative import authoritative_notices
from .notices import runner_notices
from . import markdown  # noqa: F401 (adds the Markdown report to report.render)
from .report import Plan
from .safety import Allowances, Rails
from .stackconfig import config_changes, read_configs

__all__ = ["Allowances", "Plan", "make_plan"]


def _org_of(spec: StackSpec | None, name: str, resources: list[Resource]) -> str | None:
    """The org a stack belongs to: its own declaration says, here or at the baseline. A stack only a
    saved render knows belongs to its provider's org if its name is one that org's stacks have."""
    if spec is not None:
        return spec.org
    owner = next((r.inputs.get("owner") for r in resources if r.type == gh.PROVIDER), None)
    shard = name.rsplit("-", 1)[-1]
    if owner and (name == owner or (shard.isdigit() and name == shard_stack_name(owner, int(shard)))):
        return owner
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
    baseline = Baseline("nothing (from scratch)", configs={}) if from_scratch else load_baseline(project.root, against, project.name, project)
    unchanged = _unchanged_shards(project, specs, baseline)
    after = {spec.name: project.compile(spec) for spec in specs if spec.name not in unchanged}
    names = [spec.name for spec in specs]
    if every_stack:
        names += sorted(set(baseline.stack_names()) - set(names))
    changed = [name for name in names if name not in unchanged]
    before = {name: baseline.resources(name, project, after) for name in changed}
    label = baseline.label
    diffs = [StackDiff(name) if name in unchanged else diff_stack(name, before[name], after.get(name, [])) for name in names]
    declared = {spec.name: spec for spec in (baseline.project.stacks() if baseline.project else [])}
    declared.update({spec.name: spec for spec in specs})
    configs = read_configs(project.root / STACKS_DIR, project.name)
    for d in diffs:
        spec = declared.get(d.stack)
        d.mission = spec.mission if spec else "infra"
        if baseline.configs is not None:
            d.config = config_changes(baseline.configs.get(d.stack, {}), configs.get(d.stack, {}))
    rails = Rails(project, allow or Allowances(), after)
    refusals = [
        refusal
        for name in changed
        for refusal in rails.judge(name, _org_of(declared.get(name), name, before[name]), before[name], after.get(name, []))
    ]
    is_public = _public_in(project)
    notices = [n for name in changed for n in runner_notices(before[name], after.get(name, []), is_public)]
    notices += authoritative_notices(project, baseline.project, [declared[n] for n in changed if n in declared])
    return Plan(label, diffs, refusals, notices)


def _unchanged_shards(project: Project, specs: list[StackSpec], baseline: Baseline) -> set[str]:
    """Feedstock shards that read the same inputs on both sides (Project.fingerprint): they compile to the
    same resources, so their diff is empty, and they hold no owners, no runner groups and nothing deleted
    for the rails or the notices to judge. Not compiling them is most of a re-plan after one change."""
    if baseline.project is None:
        return set()
    theirs = {spec.name: spec for spec in baseline.project.stacks() if spec.kind == "feedstocks"}
    same = set()
    for spec in specs:
        other = theirs.get(spec.name)
        if spec.kind == "feedstocks" and other is not None and baseline.project.fingerprint(other) == project.fingerprint(spec):
            same.add(spec.name)
    return same


def _public_in(project: Project):
    from ..config.runners import repository_visibility

    def is_public(full_name: str) -> bool:
        org, _, repo = full_name.partition("/")
        declared = project.orgs.get(org)
        return declared is None or repository_visibility(declared, repo) != "private"

    return is_public
