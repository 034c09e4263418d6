"""One bulk reader of a GitHub org: what `drift`, `import github`, `adopt` and authoritative `up`
need to know of the org, in tens to hundreds of API points instead of one request per resource.

* GraphQL, where one query pages 100 items with what hangs off them: ``membersWithRole`` (login
  and role), ``repositories`` (the settings the config manages), ``teams`` (description, privacy,
  parent, the first 100 members with their role and the first 100 repository grants; a team with
  more is read on with its own cursor). GitHub's rule makes a page of 74 teams 1 point (1 + 74 + 74
  connection requests, / 100, rounded), as a page of 100 members or repositories.
* REST with conditional requests (the client's ETag cache: a 304 costs nothing) for what GraphQL
  does not say: the org's settings and its outside collaborators.
* Limits: every query asks ``rateLimit { cost remaining resetAt }``; when what is left of the
  hour would not pay for the next query, the reader waits for ``resetAt`` (said on stderr, by the
  client, which holds every request in flight). ``Budget`` also keeps the points spent within a
  minute under GitHub's secondary limit, and is shared by whatever reads with one token in a run.
  Concurrency is the client's (``jobs``): the three connections page side by side, each by cursor.

Names and logins from an answer are checked by the config's own patterns before they are kept.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ..config.models import GITHUB_LOGIN, REPO_NAME
from .github_api import GitHubClient, GitHubError
from .sources import shown

PAGE = 100
NESTED = 100
# a page of teams with two nested connections costs 1 + 2n requests / 100, rounded: 74 teams cost
# 1 point (149 -> 1), 100 cost 2 (201 -> 2); 29,000 teams are 392 points instead of 580
TEAM_PAGE = 74
# GitHub's secondary limit for GraphQL: 2,000 points a minute; kept under with a margin
POINTS_PER_MINUTE = 1800
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_RATE = "rateLimit { cost remaining resetAt }"
QUERIES = {
    "members": f"""query OrgMembers($org: String!, $first: Int!, $after: String) {{
  organization(login: $org) {{ membersWithRole(first: $first, after: $after) {{ {_PAGE_INFO} edges {{ role node {{ login }} }} }} }}
  {_RATE}
}}""",
    "repositories": f"""query OrgRepositories($org: String!, $first: Int!, $after: String) {{
  organization(login: $org) {{ repositories(first: $first, after: $after) {{ {_PAGE_INFO} nodes {{
    name description homepageUrl visibility isArchived hasIssuesEnabled hasWikiEnabled hasProjectsEnabled hasDiscussionsEnabled
    mergeCommitAllowed squashMergeAllowed rebaseMergeAllowed autoMergeAllowed deleteBranchOnMerge defaultBranchRef {{ name }}
    repositoryTopics(first: 20) {{ nodes {{ topic {{ name }} }} }} }} }} }}
  {_RATE}
}}""",
    "teams": f"""query OrgTeams($org: String!, $first: Int!, $after: String) {{
  organization(login: $org) {{ teams(first: $first, after: $after) {{ {_PAGE_INFO} nodes {{
    name slug description privacy parentTeam {{ name slug }}
    members(first: {NESTED}, membership: IMMEDIATE) {{ {_PAGE_INFO} edges {{ role node {{ login }} }} }}
    repositories(first: {NESTED}) {{ {_PAGE_INFO} edges {{ permission node {{ name }} }} }} }} }} }}
  {_RATE}
}}""",
    "team_members": f"""query TeamMembers($org: String!, $slug: String!, $first: Int!, $after: String) {{
  organization(login: $org) {{ team(slug: $slug) {{ members(first: $first, after: $after, membership: IMMEDIATE) {{ {_PAGE_INFO} edges {{ role node {{ login }} }} }} }} }}
  {_RATE}
}}""",
    "team_repositories": f"""query TeamRepositories($org: String!, $slug: String!, $first: Int!, $after: String) {{
  organization(login: $org) {{ team(slug: $slug) {{ repositories(first: $first, after: $after) {{ {_PAGE_INFO} edges {{ permission node {{ name }} }} }} }} }}
  {_RATE}
}}""",
}
# GraphQL's names -> the REST (and config) names the rest of the project speaks
_PERMISSION = {"READ": "pull", "TRIAGE": "triage", "WRITE": "push", "MAINTAIN": "maintain", "ADMIN": "admin"}
_REPO_FIELDS = {
    "hasIssuesEnabled": "has_issues", "hasWikiEnabled": "has_wiki", "hasProjectsEnabled": "has_projects",
    "hasDiscussionsEnabled": "has_discussions", "mergeCommitAllowed": "allow_merge_commit", "squashMergeAllowed": "allow_squash_merge",
    "rebaseMergeAllowed": "allow_rebase_merge", "autoMergeAllowed": "allow_auto_merge", "deleteBranchOnMerge": "delete_branch_on_merge",
}


@dataclass
class TeamState:
    name: str
    slug: str
    description: str = ""
    privacy: str = "closed"  # REST's words: closed (GraphQL's VISIBLE) or secret
    parent: str | None = None  # the parent's name
    members: dict[str, str] = field(default_factory=dict)  # login -> maintainer | member
    repositories: dict[str, str] = field(default_factory=dict)  # repository -> pull | triage | push | maintain | admin


@dataclass
class OrgState:
    """The org as GitHub holds it; repositories in REST's shape (``name``, ``description``, ``has_wiki``...)."""

    org: str
    settings: dict[str, Any]
    members: dict[str, str]  # login -> admin | member
    repositories: dict[str, dict[str, Any]]
    teams: dict[str, TeamState]  # by slug
    outside_collaborators: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def owners(self) -> list[str]:
        return [m for m, role in self.members.items() if role == "admin"]


class Budget:
    """The points one token may spend: what GitHub says is left this hour, and what was spent in the
    last minute (its secondary limit). One per token and run, shared by every reader of that run."""

    def __init__(self, per_minute: int = POINTS_PER_MINUTE):
        self.per_minute = per_minute
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.spent = 0
        self.queries = 0
        self._window: deque[tuple[float, int]] = deque()

    def record(self, limit: Any) -> None:
        if not isinstance(limit, dict):
            return
        cost, remaining = limit.get("cost"), limit.get("remaining")
        if isinstance(cost, int) and cost >= 0:
            self.spent += cost
            self.queries += 1
            self._window.append((time.monotonic(), cost))
        if isinstance(remaining, int):
            self.remaining = remaining
        reset = limit.get("resetAt")
        if isinstance(reset, str) and len(reset) <= 40:
            try:
                self.reset_at = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass

    def wait_before(self, cost: int) -> tuple[float, str] | None:
        """How long to wait before a query of about ``cost`` points, and why; None: go ahead."""
        if self.remaining is not None and self.remaining < cost and self.reset_at is not None:
            return self.reset_at - time.time() + 1.0, f"GitHub GraphQL points used up ({self.remaining} left)"
        now = time.monotonic()
        while self._window and now - self._window[0][0] >= 60.0:
            self._window.popleft()
        if sum(c for _, c in self._window) + cost > self.per_minute:
            return 60.0 - (now - self._window[0][0]), f"{self.per_minute} GraphQL points spent within a minute (GitHub's secondary limit)"
        return None


class OrgReader:
    """Reads one org through ``client``; ``budget`` may be shared with other readers of the run."""

    def __init__(self, client: GitHubClient, org: str, budget: Budget | None = None):
        self.client, self.org = client, org
        self.budget = budget or Budget()
        self.warnings: list[str] = []

    async def query(self, name: str, cost: int, **variables: Any) -> dict[str, Any]:
        """One GraphQL query's ``organization`` object, within the budget."""
        wait = self.budget.wait_before(cost)
        if wait is not None:
            self.client._pause(*wait)
        body, _ = await self.client.send("POST", "/graphql", {"query": QUERIES[name], "variables": {"org": self.org, **variables}})
        if not isinstance(body, dict):
            raise GitHubError("POST /graphql: expected an object")
        errors = body.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            raise GitHubError(f"POST /graphql ({name}): {shown(str(first.get('message', 'an error'))[:200])}")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        self.budget.record(data.get("rateLimit"))
        org = data.get("organization")
        if not isinstance(org, dict):
            raise GitHubError(f"POST /graphql ({name}): organization {self.org} not found, or not visible to this token")
        return org

    async def connection(self, name: str, key: str, cost: int, on_page: Callable[[dict[str, Any]], None], first: int = PAGE,
                         after: str | None = None, **variables: Any) -> None:
        """Every page of one connection from ``after``, by cursor; at most the policy's page limit."""
        for _ in range(self.client.policy.pages):
            org = await self.query(name, cost, first=first, after=after, **variables)
            holder = org.get("team", org) if "slug" in variables else org
            page = holder.get(key) if isinstance(holder, dict) else None
            if not isinstance(page, dict):
                raise GitHubError(f"POST /graphql ({name}): no {key} in the answer")
            on_page(page)
            info = page.get("pageInfo") or {}
            after = info.get("endCursor")
            if not info.get("hasNextPage") or not isinstance(after, str):
                return
        raise GitHubError(f"POST /graphql ({name}): more than {self.client.policy.pages} pages (limit pages); nothing was written")

    def _login(self, node: Any, what: str) -> str | None:
        login = node.get("login") if isinstance(node, dict) else None
        if isinstance(login, str) and GITHUB_LOGIN.fullmatch(login):
            return login
        self.warnings.append(f"{what}: {shown(login)} is not a GitHub login: left out")
        return None

    def _members(self, into: dict[str, str], page: dict[str, Any], what: str, roles: dict[str, str]) -> None:
        for edge in page.get("edges") or []:
            login = self._login(edge.get("node") if isinstance(edge, dict) else None, what)
            if login:
                into[login] = roles.get(str(edge.get("role")), "member")

    def _grants(self, team: TeamState, page: dict[str, Any]) -> None:
        for edge in page.get("edges") or []:
            name = (edge.get("node") or {}).get("name") if isinstance(edge, dict) else None
            permission = _PERMISSION.get(str(edge.get("permission"))) if isinstance(edge, dict) else None
            if isinstance(name, str) and REPO_NAME.fullmatch(name) and permission:
                team.repositories[name] = permission
            else:
                self.warnings.append(f"team {team.name}: repository {shown(name)} without a known permission: left out")

    def _repository(self, node: Any) -> tuple[str, dict[str, Any]] | None:
        name = node.get("name") if isinstance(node, dict) else None
        if not isinstance(name, str) or not REPO_NAME.fullmatch(name):
            self.warnings.append(f"repository {shown(name)}: not a repository name: left out")
            return None
        topics = [((t or {}).get("topic") or {}).get("name") for t in ((node.get("repositoryTopics") or {}).get("nodes") or [])]
        repo = {
            "name": name, "description": node.get("description"), "homepage": node.get("homepageUrl"),
            "visibility": str(node.get("visibility") or "PUBLIC").lower(), "private": node.get("visibility") != "PUBLIC",
            "archived": bool(node.get("isArchived")), "default_branch": ((node.get("defaultBranchRef") or {}).get("name")) or "main",
            "topics": sorted(t for t in topics if isinstance(t, str)),
        }
        repo.update({rest: node[gql] for gql, rest in _REPO_FIELDS.items() if isinstance(node.get(gql), bool)})
        return name, repo

    async def read(self) -> OrgState:
        c, base = self.client, f"/orgs/{GitHubClient.segment(self.org)}"
        members: dict[str, str] = {}
        repos: dict[str, dict[str, Any]] = {}
        teams: dict[str, TeamState] = {}
        more: list[tuple[str, str, TeamState, str]] = []  # a team's connection to read on from a cursor

        def on_team(page: dict[str, Any]) -> None:
            for node in page.get("nodes") or []:
                name, slug = (node.get("name"), node.get("slug")) if isinstance(node, dict) else (None, None)
                if not isinstance(name, str) or not isinstance(slug, str) or not slug:
                    self.warnings.append(f"team {shown(name)}: no name or slug in GitHub's answer: left out")
                    continue
                parent = node.get("parentTeam") if isinstance(node.get("parentTeam"), dict) else None
                team = TeamState(name, slug, node.get("description") or "", "secret" if node.get("privacy") == "SECRET" else "closed",
                                 parent.get("name") if parent else None)
                for key, read, follow in (("members", lambda p, t=team: self._members(t.members, p, f"team {t.name}", {"MAINTAINER": "maintainer"}), "team_members"),
                                          ("repositories", lambda p, t=team: self._grants(t, p), "team_repositories")):
                    page_of = node.get(key) if isinstance(node.get(key), dict) else {}
                    read(page_of)
                    info = page_of.get("pageInfo") or {}
                    if info.get("hasNextPage") and isinstance(info.get("endCursor"), str):
                        more.append((follow, key, team, info["endCursor"]))
                teams[slug] = team

        def on_repos(page: dict[str, Any]) -> None:
            for node in page.get("nodes") or []:
                found = self._repository(node)
                if found:
                    repos[found[0]] = found[1]

        # REST first: an org this token cannot see (or a server gone wrong) stops the read before a point is spent
        settings, collaborators = await asyncio.gather(c.get(base), c.list(f"{base}/outside_collaborators", fields=("login",)))
        await asyncio.gather(
            self.connection("members", "membersWithRole", 1, lambda p: self._members(members, p, "members", {"ADMIN": "admin"})),
            self.connection("repositories", "repositories", 1, on_repos),
            self.connection("teams", "teams", 1, on_team, first=TEAM_PAGE),
        )

        async def rest_of(follow: str, key: str, team: TeamState, after: str) -> None:
            if key == "members":
                await self.connection(follow, key, 1, lambda p: self._members(team.members, p, f"team {team.name}", {"MAINTAINER": "maintainer"}), after=after, slug=team.slug)
            else:
                await self.connection(follow, key, 1, lambda p: self._grants(team, p), after=after, slug=team.slug)

        await asyncio.gather(*(rest_of(*m) for m in more))
        if not isinstance(settings, dict):
            raise GitHubError(f"GET {base}: expected an object")
        outside = [login for login in (self._login(x, "outside collaborators") for x in collaborators) if login]
        return OrgState(self.org, settings, members, repos, teams, outside, self.warnings)


async def read_org_state(client: GitHubClient, org: str, budget: Budget | None = None) -> OrgState:
    return await OrgReader(client, org, budget).read()
