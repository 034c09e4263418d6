"""`drift` of an org's stacks from one bulk read of the org, and what authoritative mode finds.

Every stack of an org is compared with the same read (one per org and run, whatever ``--parallel``
says), in the report's format: a ``drift`` step per resource that differs. The org stack's report
also carries what GitHub holds beyond the config, for the ``authoritative:`` switches that are on.
A stack of no org (mirror, dashboard, runners) is not GitHub's: the caller refreshes it with Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compiler import github as gh
from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..importers.github_reader import OrgState
from ..plan.diff import StackDiff
from ..project import Project
from .compare import Comparison, Extras, extra_changes
from .session import Session


@dataclass
class OrgDrift:
    org: str
    state: OrgState
    diffs: dict[str, StackDiff]  # by stack, every stack of the org
    extras: Extras
    settings: Resource | None  # the org stack's settings resource, beside which extras are named
    not_compared: int = 0
    notices: list[str] = field(default_factory=list)


def compare_org(project: Project, org: str, state: OrgState, compiled: dict[str, list[Resource]] | None = None) -> OrgDrift:
    """Every stack of ``org`` against ``state`` (all of them: what the config declares anywhere is
    not an extra); ``compiled`` holds stacks compiled already."""
    compiled = compiled if compiled is not None else {}
    comparison = Comparison(state)
    diffs: dict[str, StackDiff] = {}
    settings = None
    for spec in project.stacks():
        if spec.org != org:
            continue
        resources = compiled[spec.name] if spec.name in compiled else project.compile(spec)
        diff = StackDiff(spec.name, mission=spec.mission)
        for change in comparison.stack(resources):
            diff.add(change)
        diffs[spec.name] = diff
        settings = settings or next((r for r in resources if r.type == gh.ORG_SETTINGS), None)
    declared = project.orgs[org].config
    extras = comparison.extras(declared.authoritative, declared.settings.apply_identity)
    if settings is not None and org in diffs:
        for change in extra_changes(extras, settings):
            diffs[org].add(change)
    found = OrgDrift(org, state, diffs, extras, settings, comparison.not_compared)
    found.notices += [f"{org}: {w}" for w in state.warnings]
    if comparison.not_compared:
        found.notices.append(f"{org}: {comparison.not_compared} resource(s) the bulk read does not cover (rulesets, secrets, alerts): "
                             "`condainfra drift --deep --stack STACK` refreshes them through Pulumi")
    return found


def github_drift(project: Project, specs: list[StackSpec], session: Session) -> tuple[list[StackDiff], list[str]]:
    """The drift of every org stack in ``specs``, one read per org; the diffs in ``specs``' order."""
    orgs = sorted({s.org for s in specs if s.org})
    states = session.read(orgs)
    found = {org: compare_org(project, org, states[org]) for org in orgs}
    diffs = [found[s.org].diffs[s.name] for s in specs if s.org]
    notices = [n for org in orgs for n in found[org].notices]
    notices.append(f"read {', '.join(orgs)} from {session.url}: {session.figures()}")
    return diffs, notices
