"""Safety rails: changes too destructive to apply without a human saying so explicitly.

Modelled on what org-as-code tools (peribolos, safe-settings) refuse: mass
removal of members or teams, losing the last owners, and deleting repositories.

One rule for `plan` (any selection), `preview` and `up`: each stack is judged
on its own, by what applying its desired state over its current state would
do to it. Ratios are per stack, because that is what `up` applies: pooling an
org's 32 feedstock shards with its org stack would let thousands of feedstock
teams dilute the removal of most of the org's own teams. The org is consulted
for one thing only: a resource deleted here that the org declares in another
of its stacks (same type and name) moved between shards and is not lost. Only
an org's own stacks (the org stack and its feedstock shards) belong to it;
mirror, dashboard and runners stacks are judged alone, whatever their
providers' owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..compiler import github as gh
from ..compiler.resources import Resource
from ..project import Project

REMOVAL_LIMIT = 0.25
MIN_OWNERS = 2

# The resource kinds the rails count; a deleted one is "gone" unless its org declares it elsewhere.
_GUARDED = (gh.MEMBERSHIP, gh.TEAM, gh.REPOSITORY)


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
    flag: str | None  # None: no flag overrides it; the configuration must change
    message: str
    stack: str = ""

    def __str__(self) -> str:
        where = self.org if self.stack in ("", self.org) else f"{self.org}, stack {self.stack}"
        if self.flag is None:
            return f"refused ({where}): {self.message}"
        return f"refused ({where}): {self.message}; pass {self.flag} if this is intended"


class Rails:
    """The rails for one run over ``project`` (its current declaration). ``compiled`` holds the
    stacks the caller compiled already, so the org's desired state is compiled once, and only
    when a deletion needs it to tell a move from a loss."""

    def __init__(self, project: Project, allow: Allowances, compiled: Mapping[str, list[Resource]] | None = None):
        self.project = project
        self.allow = allow
        self.compiled = compiled or {}
        self._declared: dict[str, set[tuple[str, str]]] = {}

    def judge(self, stack: str, org: str | None, before: list[Resource], after: list[Resource]) -> list[Refusal]:
        """What applying ``after`` over ``before`` does to ``stack``; ``org`` is None for a stack
        that is no org's own (it is then named by itself and nothing counts as moved into it)."""
        kept = {(r.type, r.name) for r in after}
        # a resource renamed with `previously:` takes over its old URN through an alias: not a deletion
        remaining = {r.urn for r in after} | {alias for r in after for alias in r.aliases}
        deleted = [r for r in before if r.urn not in remaining and r.type in _GUARDED]
        gone = [r for r in deleted if (r.type, r.name) not in kept]
        if gone and org is not None:
            declared = self._org_declares(org)
            gone = [r for r in gone if (r.type, r.name) not in declared]
        label = org or stack
        refusals = _ratio(label, stack, "member-removal", "--allow-member-removal", "members", gh.MEMBERSHIP, before, gone, self.allow.member_removal)
        refusals += _ratio(label, stack, "team-removal", "--allow-team-removal", "teams", gh.TEAM, before, gone, self.allow.team_removal)
        refusals += _team_member_removals(label, stack, before, after, remaining, self.allow.member_removal)
        logins = sorted(str(r.inputs.get("username") or r.name) for r in gone if r.type == gh.MEMBERSHIP)
        if logins and org is not None:
            refusals += self._still_declared(label, stack, org, logins)

        if any(r.type == gh.ORG_SETTINGS for r in before + after):  # the stack that holds the org's owners
            owners = sum(1 for r in after if r.type == gh.MEMBERSHIP and r.inputs.get("role") == "admin")
            if owners < MIN_OWNERS and not self.allow.few_owners:
                refusals.append(Refusal(label, "few-owners", "--allow-few-owners", f"the plan leaves {owners} owner(s); at least {MIN_OWNERS} are required", stack))

        repos = sorted(r.name for r in gone if r.type == gh.REPOSITORY)
        if repos and not self.allow.repo_delete:
            shown = ", ".join(repos[:10]) + (f" and {len(repos) - 10} more" if len(repos) > 10 else "")
            refusals.append(Refusal(label, "repo-delete", "--allow-repo-delete", f"the plan deletes {len(repos)} repositor{'y' if len(repos) == 1 else 'ies'} ({shown}); archive feedstocks with `archived: true` instead", stack))
        return refusals

    def _still_declared(self, label: str, stack: str, org: str, logins: list[str]) -> list[Refusal]:
        """A membership deleted while a file still grants the login something: never applied, whatever
        the flags. Deleting it removes them from every team; the next `up` re-invites them."""
        from .declared import declared_places

        places = declared_places(self.project, org, logins)
        refusals = []
        for login in logins:
            where = places.get(login.lower())
            if where:
                refusals.append(Refusal(label, "still-declared", None, (
                    f"the plan removes {login} from the org, but {len(where)} place(s) still declare them: {'; '.join(where)}. "
                    f"Offboarding: remove {login} there too. Otherwise keep {login} in `members:`"), stack))
        return refusals

    def _org_declares(self, org: str) -> set[tuple[str, str]]:
        """(type, name) of every guarded resource the org's stacks declare now."""
        if org not in self._declared:
            declared: set[tuple[str, str]] = set()
            for spec in self.project.stacks():
                if spec.org == org:
                    resources = self.compiled[spec.name] if spec.name in self.compiled else self.project.compile(spec)
                    declared.update((r.type, r.name) for r in resources if r.type in _GUARDED)
            self._declared[org] = declared
        return self._declared[org]


def _logins(resource: Resource) -> set[str]:
    return {str(m.get("username", "")).lower() for m in resource.inputs.get("members") or [] if isinstance(m, dict)}


def _team_member_removals(org, stack, before, after, remaining, allowed) -> list[Refusal]:
    """Team memberships removed, summed over every team of the stack (a shard's feedstock teams included):
    a list that lost logins, or a members resource deleted without retain-on-delete (the provider's
    delete empties the team). A retained one that stops being managed keeps its members: none removed."""
    if allowed:
        return []
    now: dict[str, Resource] = {}
    for r in after:
        if r.type == gh.TEAM_MEMBERS:
            now[r.urn] = r
            for alias in r.aliases:
                now.setdefault(alias, r)
    total = removed = 0
    per_team: list[tuple[int, str]] = []
    for r in before:
        if r.type != gh.TEAM_MEMBERS:
            continue
        had = _logins(r)
        total += len(had)
        if r.urn in now:
            lost = len(had - _logins(now[r.urn]))
        elif r.urn in remaining or r.retain_on_delete:
            lost = 0
        else:
            lost = len(had)
        if lost:
            removed += lost
            per_team.append((lost, r.name))
    if total == 0 or removed / total <= REMOVAL_LIMIT:
        return []
    per_team.sort(key=lambda t: (-t[0], t[1]))
    shown = ", ".join(f"{name} (-{n})" for n, name in per_team[:10]) + (f" and {len(per_team) - 10} more team(s)" if len(per_team) > 10 else "")
    return [Refusal(org, "team-member-removal", "--allow-member-removal",
                    f"the plan removes {removed} of {total} team memberships ({removed / total:.0%}, more than {REMOVAL_LIMIT:.0%}): {shown}", stack)]


def _ratio(org, stack, rule, flag, what, type_, before, gone, allowed) -> list[Refusal]:
    total = sum(1 for r in before if r.type == type_)
    removed = sum(1 for r in gone if r.type == type_)
    if allowed or total == 0 or removed / total <= REMOVAL_LIMIT:
        return []
    return [Refusal(org, rule, flag, f"the plan removes {removed} of {total} {what} ({removed / total:.0%}, more than {REMOVAL_LIMIT:.0%})", stack)]
