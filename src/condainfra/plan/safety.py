"""Safety rails: changes too destructive to apply without a human saying so explicitly.

Modelled on what org-as-code tools (peribolos, safe-settings) refuse: mass
removal of members or teams, losing the last owners, and deleting repositories.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compiler import github as gh
from ..compiler.resources import Resource
from .diff import StackDiff

REMOVAL_LIMIT = 0.25
MIN_OWNERS = 2


@dataclass(frozen=True)
class Allowances:
    member_removal: bool = False
    team_removal: bool = False
    few_owners: bool = False
    repo_delete: bool = False


@dataclass(frozen=True)
class Refusal:
    org: str
    rule: str
    flag: str
    message: str

    def __str__(self) -> str:
        return f"refused ({self.org}): {self.message}; pass {self.flag} if this is intended"


def check(
    diffs: list[StackDiff],
    orgs_of: dict[str, str],
    before: dict[str, list[Resource]],
    after: dict[str, list[Resource]],
    allow: Allowances,
) -> list[Refusal]:
    refusals: list[Refusal] = []
    for org in sorted(set(orgs_of.values())):
        stacks = [s for s, o in orgs_of.items() if o == org]
        old = [r for s in stacks for r in before.get(s, [])]
        new = [r for s in stacks for r in after.get(s, [])]
        deletes = [c.resource for d in diffs if d.stack in stacks for c in d.deletes]
        # A resource that reappears under the same type and name elsewhere in the org moved shards.
        kept = {(r.type, r.name) for r in new}
        gone = [r for r in deletes if (r.type, r.name) not in kept]

        refusals += _ratio(org, "member-removal", "--allow-member-removal", "members", gh.MEMBERSHIP, old, gone, allow.member_removal)
        refusals += _ratio(org, "team-removal", "--allow-team-removal", "teams", gh.TEAM, old, gone, allow.team_removal)

        owners_after = _owners(new)
        org_stack_in_plan = any(r.type == gh.ORG_SETTINGS for r in old + new)
        if org_stack_in_plan and owners_after < MIN_OWNERS and not allow.few_owners:
            refusals.append(Refusal(org, "few-owners", "--allow-few-owners", f"the plan leaves {owners_after} owner(s); at least {MIN_OWNERS} are required"))

        repos = sorted(r.name for r in gone if r.type == gh.REPOSITORY)
        if repos and not allow.repo_delete:
            shown = ", ".join(repos[:10]) + (f" and {len(repos) - 10} more" if len(repos) > 10 else "")
            refusals.append(Refusal(org, "repo-delete", "--allow-repo-delete", f"the plan deletes {len(repos)} repositor{'y' if len(repos) == 1 else 'ies'} ({shown}); archive feedstocks with `archived: true` instead"))
    return refusals


def _owners(resources: list[Resource]) -> int:
    return sum(1 for r in resources if r.type == gh.MEMBERSHIP and r.inputs.get("role") == "admin")


def _ratio(org, rule, flag, what, type_, old, gone, allowed) -> list[Refusal]:
    total = sum(1 for r in old if r.type == type_)
    removed = sum(1 for r in gone if r.type == type_)
    if allowed or total == 0 or removed / total <= REMOVAL_LIMIT:
        return []
    return [Refusal(org, rule, flag, f"the plan removes {removed} of {total} {what} ({removed / total:.0%}, more than {REMOVAL_LIMIT:.0%})")]
