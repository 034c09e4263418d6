"""GitHub's state (one bulk read) against the compiled desired state, resource by resource, in the
report's own terms: a ``drift`` step per resource whose live values differ (key, desired, live), an
``(exists): true -> false`` one for a resource GitHub does not have, and, for what an org's
``authoritative:`` switches cover, an ``(exists): false -> true`` one for what GitHub holds and
the config does not declare (an unlisted member or owner, an outside collaborator, a team's
grant on a repository).

Only what the bulk reader reads is compared (org settings, memberships, teams, team members, team
grants, repositories' managed settings); rulesets, secrets and vulnerability alerts are counted as
not compared, for ``drift --deep`` (a Pulumi refresh of the stack) to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..compiler import github as gh
from ..compiler.resources import LOOKUP, REF, Resource
from ..config.checks import team_slug
from ..importers.github_reader import OrgState
from ..plan.diff import Change, ResourceChange

OUTSIDE_COLLABORATOR = "condainfra:github:OutsideCollaborator"  # what GitHub holds and no resource declares
COMPARED = (gh.ORG_SETTINGS, gh.MEMBERSHIP, gh.TEAM, gh.TEAM_MEMBERS, gh.TEAM_REPOSITORY, gh.REPOSITORY)
_NOT_A_RESOURCE = (gh.PROVIDER, gh.ORGANIZATION, gh.FEEDSTOCK_SHARD, gh.FEEDSTOCK)
# a repository's inputs -> its REST field, as the bulk reader gives it
_REPOSITORY_FIELDS = {
    "description": "description", "homepageUrl": "homepage", "visibility": "visibility", "archived": "archived", "topics": "topics",
    "hasIssues": "has_issues", "hasWiki": "has_wiki", "hasProjects": "has_projects", "hasDiscussions": "has_discussions",
    "allowMergeCommit": "allow_merge_commit", "allowSquashMerge": "allow_squash_merge", "allowRebaseMerge": "allow_rebase_merge",
    "allowAutoMerge": "allow_auto_merge", "deleteBranchOnMerge": "delete_branch_on_merge",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class Extras:
    """What GitHub holds that the org's config does not declare, for each authoritative switch."""

    members: dict[str, str] = field(default_factory=dict)  # login -> admin | member
    outside_collaborators: list[str] = field(default_factory=list)
    team_repos: list[tuple[str, str, str]] = field(default_factory=list)  # (team slug, repository, permission)

    def __bool__(self) -> bool:
        return bool(self.members or self.outside_collaborators or self.team_repos)


def _empty(value: Any) -> Any:
    return None if value in ("", None, []) else value


def _slug_of(value: Any, by_urn: dict[str, Resource]) -> str | None:
    """The slug of a team a compiled input names: a reference to a Team of the stack, or a lookup by slug."""
    if isinstance(value, dict) and REF in value and value[REF] in by_urn:
        return team_slug(str(by_urn[value[REF]].inputs.get("name", "")))
    if isinstance(value, dict) and LOOKUP in value:
        return str((value.get("args") or {}).get("slug", "")) or None
    return None


class Comparison:
    """Compares the stacks of one org with one read of it; keeps what the config declares, for ``extras``."""

    def __init__(self, state: OrgState):
        self.state = state
        self.members = {login.lower(): (login, role) for login, role in state.members.items()}
        self.declared_members: set[str] = set()
        self.declared_grants: set[tuple[str, str]] = set()
        self.not_compared = 0

    def stack(self, resources: list[Resource]) -> list[ResourceChange]:
        by_urn = {r.urn: r for r in resources}
        out = []
        for r in resources:
            if r.type in _NOT_A_RESOURCE:
                continue
            if r.type not in COMPARED:
                self.not_compared += 1
                continue
            changes = self._resource(r, by_urn)
            if changes:
                out.append(ResourceChange("drift", r, changes))
        return out

    def _resource(self, r: Resource, by_urn: dict[str, Resource]) -> list[Change]:
        gone = [Change("(exists)", True, False)]
        inputs, s = r.inputs, self.state
        if r.type == gh.MEMBERSHIP:
            login = str(inputs.get("username", "")).lower()
            self.declared_members.add(login)
            live = self.members.get(login)
            return gone if live is None else [Change("role", inputs.get("role"), live[1])] if live[1] != inputs.get("role") else []
        if r.type == gh.ORG_SETTINGS:
            return [Change(k, v, s.settings.get(_CAMEL.sub("_", k).lower())) for k, v in sorted(inputs.items())
                    if _CAMEL.sub("_", k).lower() in s.settings and s.settings[_CAMEL.sub("_", k).lower()] != v]
        if r.type == gh.REPOSITORY:
            live = s.repositories.get(str(inputs.get("name")))
            if live is None:
                return gone
            return [Change(k, inputs[k], live.get(f)) for k, f in _REPOSITORY_FIELDS.items()
                    if k in inputs and f in live and _empty(live.get(f)) != _empty(inputs[k])]
        slug = team_slug(str(inputs.get("name", ""))) if r.type == gh.TEAM else str(inputs.get("teamSlug", "")) if r.type == gh.TEAM_MEMBERS else _slug_of(inputs.get("teamId"), by_urn)
        team = s.teams.get(slug or "")
        if r.type == gh.TEAM_REPOSITORY:
            repo = str(inputs.get("repository"))
            self.declared_grants.add((slug or "", repo))
            if team is None or repo not in team.repositories:
                return gone
            return [Change("permission", inputs.get("permission"), team.repositories[repo])] if team.repositories[repo] != inputs.get("permission") else []
        if team is None:
            return gone
        if r.type == gh.TEAM:
            changes = [Change(k, inputs[k], getattr(team, k)) for k in ("description", "privacy") if k in inputs and _empty(inputs[k]) != _empty(getattr(team, k))]
            if "parentTeamId" in inputs:
                parent = _slug_of(inputs["parentTeamId"], by_urn)
                live_parent = team_slug(team.parent) if team.parent else None
                if parent != live_parent:
                    changes.append(Change("parent", parent, live_parent))
            return changes
        desired = sorted((m["username"].lower(), m["role"]) for m in inputs.get("members", []))
        live_members = sorted((login.lower(), role) for login, role in team.members.items())
        if desired != live_members:
            return [Change("members", [f"{u} ({r})" for u, r in desired], [f"{u} ({r})" for u, r in live_members])]
        return []

    def extras(self, switches: Any, identity: str | None) -> Extras:
        """What GitHub holds beyond the declared, for the switches that are on (after every stack was compared)."""
        found = Extras()
        if switches is None:
            return found
        if getattr(switches, "members", False):
            keep = self.declared_members | ({identity.lower()} if identity else set())
            found.members = {login: role for key, (login, role) in sorted(self.members.items()) if key not in keep}
        if getattr(switches, "outside_collaborators", False):
            found.outside_collaborators = sorted(self.state.outside_collaborators, key=str.lower)
        if getattr(switches, "team_repos", False):
            found.team_repos = sorted((slug, repo, permission) for slug, team in self.state.teams.items()
                                      for repo, permission in team.repositories.items() if (slug, repo) not in self.declared_grants)
        return found


def extra_changes(extras: Extras, like: Resource) -> list[ResourceChange]:
    """The extras as report steps of the org stack (URNs beside ``like``, its org settings resource)."""
    prefix, _, _ = like.urn.rpartition("::")
    qualified = prefix.rsplit("::", 1)[-1].rsplit("$", 1)[0]
    base = prefix.rsplit("::", 1)[0]

    def resource(type_: str, name: str, inputs: dict[str, Any]) -> Resource:
        return Resource(urn=f"{base}::{qualified}${type_}::{name}", type=type_, name=name, parent=like.parent, inputs=inputs)

    out = [resource(gh.MEMBERSHIP, login.lower(), {"role": role, "username": login}) for login, role in extras.members.items()]
    out += [resource(OUTSIDE_COLLABORATOR, login.lower(), {"username": login}) for login in extras.outside_collaborators]
    out += [resource(gh.TEAM_REPOSITORY, f"{repo}/{slug}", {"permission": p, "repository": repo, "teamSlug": slug}) for slug, repo, p in extras.team_repos]
    return [ResourceChange("drift", r, [Change("(exists)", False, True)]) for r in out]
