"""Authoritative `up`: what GitHub holds and an org's config lacks, removed after the org stack was
applied, within the safety rails (plan/authoritative.py) and their ``--allow-…`` flags.

The org is read fresh (after Pulumi added whoever the config adds), compared with every stack of
the org, and each extra removed with one REST call: ``DELETE /orgs/{org}/memberships/{user}``
(a member or owner, and with it their team memberships), ``DELETE
/orgs/{org}/outside_collaborators/{user}``, ``DELETE /orgs/{org}/teams/{slug}/repos/{org}/{repo}``.
A refused org is not touched; each removal made is a ``delete`` step of the org stack's report.
"""

from __future__ import annotations

from ..compiler import github as gh
from ..importers.github_api import GitHubClient
from ..plan.authoritative import judge_removals, switched_on
from ..plan.diff import ResourceChange, StackDiff
from ..plan.safety import Allowances, Refusal
from ..project import Project
from .compare import extra_changes
from .drift import compare_org
from .session import Session


def _path(org: str, change: ResourceChange) -> str:
    seg, inputs = GitHubClient.segment, change.resource.inputs
    base = f"/orgs/{seg(org)}"
    if change.resource.type == gh.MEMBERSHIP:
        return f"{base}/memberships/{seg(inputs['username'])}"
    if change.resource.type == gh.TEAM_REPOSITORY:
        return f"{base}/teams/{seg(inputs['teamSlug'])}/repos/{seg(org)}/{seg(inputs['repository'])}"
    return f"{base}/outside_collaborators/{seg(inputs['username'])}"


def enforce(project: Project, orgs: list[str], diffs: dict[str, StackDiff], allow: Allowances, session: Session) -> list[Refusal]:
    """Remove the extras of each of ``orgs`` that is authoritative; steps go into ``diffs[org]``."""
    refusals: list[Refusal] = []
    wanted = [o for o in orgs if switched_on(project, o)]
    if not wanted:
        return refusals
    states = session.read(wanted, fresh=True)
    for org in wanted:
        found = compare_org(project, org, states[org])
        extras = found.extras
        if not extras or found.settings is None:
            continue
        grants = sum(len(t.repositories) for t in found.state.teams.values())
        judged = judge_removals(org, org, extras.members, len(extras.outside_collaborators), len(extras.team_repos),
                                found.state.members, grants, allow)
        if judged:
            refusals += judged
            continue
        changes = extra_changes(extras, found.settings)

        async def remove(client: GitHubClient, changes: list[ResourceChange] = changes, org: str = org) -> None:
            for change in changes:  # one at a time: removals are writes, held to GitHub's content limits
                await client.send("DELETE", _path(org, change))

        session.run(remove)
        target = diffs.setdefault(org, StackDiff(org, mission="infra"))
        for change in changes:
            target.add(ResourceChange("delete", change.resource))
    return refusals
