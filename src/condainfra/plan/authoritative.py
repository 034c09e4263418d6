"""The rails for authoritative mode, and what a pull request's plan says of it.

What an authoritative `up` removes (an unlisted member or owner, an outside collaborator, a team's
grant on a repository that nothing declares) is judged by the same rules and the same ``--allow-…``
flags as any removal a plan makes: more than 25% of the org's members (outside collaborators
counted with them) or of its team grants, or fewer than 2 owners left.

`plan` is offline, so it cannot name who GitHub holds beyond the config; when a change turns a switch
on, it says that the next `up` removes whoever that is, and where to see them (`condainfra drift`).
"""

from __future__ import annotations

from ..compiler.stacks import StackSpec
from ..project import Project
from .safety import MIN_OWNERS, REMOVAL_LIMIT, Allowances, Refusal

SWITCHES = ("members", "team_repos", "outside_collaborators")
_WHAT = {"members": "org members and owners that org.yaml does not list", "team_repos": "team grants on repositories that no team entry or feedstock gives",
         "outside_collaborators": "outside collaborators"}


def judge_removals(org: str, stack: str, members: dict[str, str], outside: int, grants: int, live_members: dict[str, str], live_grants: int,
                   allow: Allowances) -> list[Refusal]:
    """Refusals for removing ``members`` (login -> role), ``outside`` collaborators and ``grants`` of
    the org that GitHub shows with ``live_members`` and ``live_grants``."""
    refusals = []
    people, removed = len(live_members) + outside, len(members) + outside
    if people and removed / people > REMOVAL_LIMIT and not allow.member_removal:
        refusals.append(Refusal(org, "member-removal", "--allow-member-removal",
                                f"authoritative mode removes {removed} of {people} members and outside collaborators ({removed / people:.0%}, more than {REMOVAL_LIMIT:.0%})", stack))
    if live_grants and grants / live_grants > REMOVAL_LIMIT and not allow.team_removal:
        refusals.append(Refusal(org, "team-removal", "--allow-team-removal",
                                f"authoritative mode removes {grants} of {live_grants} team grants ({grants / live_grants:.0%}, more than {REMOVAL_LIMIT:.0%})", stack))
    owners_left = sum(1 for login, role in live_members.items() if role == "admin" and login not in members)
    if any(role == "admin" for role in members.values()) and owners_left < MIN_OWNERS and not allow.few_owners:
        refusals.append(Refusal(org, "few-owners", "--allow-few-owners", f"authoritative mode leaves {owners_left} owner(s); at least {MIN_OWNERS} are required", stack))
    return refusals


def switched_on(project: Project | None, org: str) -> list[str]:
    declared = project.orgs.get(org) if project is not None else None
    switches = declared.config.authoritative if declared is not None else None
    return [s for s in SWITCHES if switches is not None and getattr(switches, s)]


def authoritative_notices(project: Project, baseline: Project | None, specs: list[StackSpec]) -> list[str]:
    """One notice per org whose config this change makes authoritative: what the next `up` removes."""
    notices = []
    for org in sorted({s.org for s in specs if s.org and s.kind == "org"}):
        on = switched_on(project, org)
        if not on:
            continue
        new = [s for s in on if s not in switched_on(baseline, org)] if baseline is not None else on
        if not new:
            continue  # on already: every removal it makes was said when it was turned on, and `drift` lists them
        what = "; ".join(_WHAT[s] for s in new)
        lead = f"{org}: this change turns on authoritative {', '.join(new)}"
        notices.append(f"{lead}: the next `up` removes from the org whatever GitHub holds beyond the config ({what}); "
                       f"`condainfra drift --stack {org}` lists who and what, and the usual --allow-… flags bound how many")
    return notices
