"""The GraphQL subset a GitHub stand-in serves (a mock of GitHub's GraphQL API, for tests and
benchmarks): the organization's members with their roles, repositories, teams with members and
repository grants (and one team's members or grants beyond a page), with opaque cursors,
GitHub's node limits (``first`` from 1 to 100, at most 500,000 nodes a query) and its documented
cost: one request per connection page, nested connections counted as if every parent were
full, divided by 100 and rounded, at least 1. ``rateLimit { cost remaining resetAt }`` is
answered from the points spent so far.

The query is recognised by its operation name and its connections read from its text, not
executed by a GraphQL engine: the stand-in speaks the shapes GitHub documents, for the queries
this project sends.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import datetime, timezone
from typing import Any

from .github_org import LEVELS, OrgData

POINTS_PER_HOUR = 5000
NODE_LIMIT = 500_000
_FIRST = re.compile(r"(?<![$\w])first:\s*(\$?\w+)")
_OPERATION = re.compile(r"^\s*query\s+(\w+)")
_MERGE = {"mergeCommitAllowed": "allow_merge_commit", "squashMergeAllowed": "allow_squash_merge", "rebaseMergeAllowed": "allow_rebase_merge",
          "autoMergeAllowed": "allow_auto_merge", "deleteBranchOnMerge": "delete_branch_on_merge"}
_PERMISSION = {"pull": "READ", "triage": "TRIAGE", "push": "WRITE", "maintain": "MAINTAIN", "admin": "ADMIN"}


class QueryError(Exception):
    """A query GitHub would refuse: its message is the answer's ``errors``."""


def cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(after: Any) -> int:
    if after is None:
        return 0
    try:
        kind, _, number = base64.b64decode(str(after), validate=True).decode().rpartition(":")
        return int(number) if kind == "cursor:v2" else -1
    except ValueError:
        raise QueryError(f"`{after}` does not appear to be a valid cursor.") from None


_TOKENS = re.compile(r"(?<![$\w])first:\s*(\$?\w+)|[{}]")


def cost(query: str, variables: dict[str, Any]) -> tuple[int, int]:
    """(points, nodes) of a query, by GitHub's documented rule: each connection needs as many requests
    as its parents can have nodes (the product of their ``first``), and holds that many times its own
    ``first``; raises QueryError past the limits."""
    requests = nodes = 0
    open_: list[tuple[int, int]] = []  # (depth its selection opened at, nodes it multiplies by)
    depth = 0
    for match in _TOKENS.finditer(query):
        token = match.group(0)
        if token == "{":
            depth += 1
            continue
        if token == "}":
            depth -= 1
            while open_ and open_[-1][0] > depth:
                open_.pop()
            continue
        raw = match.group(1)
        value = variables.get(raw[1:]) if raw.startswith("$") else raw
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise QueryError(f"first: {value!r} is not a number") from None
        if not 1 <= n <= 100:
            raise QueryError(f"Requesting {n} records on the connection exceeds the `first` limit of 100 records.")
        parents = open_[-1][1] if open_ else 1
        requests += parents
        nodes += parents * n
        open_.append((depth + 1, parents * n))
    if not requests:
        raise QueryError("You must provide a `first` or `last` value to properly paginate a connection.")
    if nodes > NODE_LIMIT:
        raise QueryError(f"This query requests up to {nodes} possible nodes which exceeds the maximum limit of {NODE_LIMIT}.")
    return max(1, round(requests / 100)), nodes


def _page(items: list[Any], first: int, after: Any) -> tuple[list[Any], dict[str, Any]]:
    start = _offset(after)
    if start < 0:
        raise QueryError("invalid cursor")
    chunk = items[start : start + first]
    end = start + len(chunk)
    return chunk, {"hasNextPage": end < len(items), "endCursor": cursor(end) if chunk else None}


def _members(data: OrgData, slug: str, first: int, after: Any) -> dict[str, Any]:
    roles = data.team_members.get(slug, {})
    everyone = [(login, "MAINTAINER") for login in roles.get("maintainer", [])] + [(login, "MEMBER") for login in roles.get("member", [])]
    chunk, info = _page(everyone, first, after)
    return {"totalCount": len(everyone), "pageInfo": info, "edges": [{"role": role, "node": {"login": login}} for login, role in chunk]}


def _grants(data: OrgData, slug: str, first: int, after: Any) -> dict[str, Any]:
    grants = data.team_repos.get(slug, [])
    chunk, info = _page(grants, first, after)
    edges = []
    for g in chunk:
        held = [p for p in LEVELS if g.get("permissions", {}).get(p)]
        edges.append({"permission": _PERMISSION[held[-1]] if held else "READ", "node": {"name": g["name"]}})
    return {"totalCount": len(grants), "pageInfo": info, "edges": edges}


def _repository(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": r["name"], "description": r.get("description"), "homepageUrl": r.get("homepage"),
        "visibility": "PRIVATE" if r.get("private") else "PUBLIC", "isArchived": bool(r.get("archived")),
        "hasIssuesEnabled": bool(r.get("has_issues")), "hasWikiEnabled": bool(r.get("has_wiki")),
        "hasProjectsEnabled": bool(r.get("has_projects")), "hasDiscussionsEnabled": bool(r.get("has_discussions")),
        "defaultBranchRef": {"name": r.get("default_branch") or "main"},
        "repositoryTopics": {"nodes": [{"topic": {"name": t}} for t in (r.get("topics") or [])[:20]]},
        # GraphQL always answers these; the REST list the tests write has them only when set
        **{gql: r[rest] for gql, rest in _MERGE.items() if isinstance(r.get(rest), bool)},
    }


def _team(data: OrgData, t: dict[str, Any], nested: int) -> dict[str, Any]:
    parent = t.get("parent")
    return {
        "name": t["name"], "slug": t["slug"], "description": t.get("description") or None,
        "privacy": "SECRET" if t.get("privacy") == "secret" else "VISIBLE",
        "parentTeam": {"name": parent["name"], "slug": parent["slug"]} if parent else None,
        "members": _members(data, t["slug"], nested, None),
        "repositories": _grants(data, t["slug"], nested, None),
    }


def answer(data: OrgData, query: str, variables: dict[str, Any], spent: int) -> tuple[dict[str, Any], int]:
    """The answer to one query and the points it cost; ``spent``: points spent before it this hour."""
    named = _OPERATION.match(query)
    if not named:
        raise QueryError("expected a named query")
    points, _ = cost(query, variables)
    if variables.get("org") != data.login:
        return {"data": {"organization": None}, "errors": [{"type": "NOT_FOUND", "message": f"Could not resolve to an Organization with the login of '{variables.get('org')}'."}]}, points
    first, after = int(variables.get("first", 100)), variables.get("after")
    nested = [int(v) for v in _FIRST.findall(query)[1:] if v.isdigit()]
    inner = nested[0] if nested else 100
    operation = named.group(1)
    org: dict[str, Any]
    if operation == "OrgMembers":
        people = [(login, "ADMIN") for login in data.admins] + [(login, "MEMBER") for login in data.members]
        chunk, info = _page(people, first, after)
        org = {"membersWithRole": {"totalCount": len(people), "pageInfo": info, "edges": [{"role": role, "node": {"login": login}} for login, role in chunk]}}
    elif operation == "OrgRepositories":
        chunk, info = _page(data.repos, first, after)
        org = {"repositories": {"totalCount": len(data.repos), "pageInfo": info, "nodes": [_repository(r) for r in chunk]}}
    elif operation == "OrgTeams":
        chunk, info = _page(data.teams, first, after)
        org = {"teams": {"totalCount": len(data.teams), "pageInfo": info, "nodes": [_team(data, t, inner) for t in chunk]}}
    elif operation in ("TeamMembers", "TeamRepositories"):
        slug = variables.get("slug")
        if slug not in data.team_members and slug not in data.team_repos:
            org = {"team": None}
        else:
            read = _members if operation == "TeamMembers" else _grants
            org = {"team": {("members" if operation == "TeamMembers" else "repositories"): read(data, str(slug), first, after)}}
    else:
        raise QueryError(f"unknown operation {operation}")
    reset = datetime.fromtimestamp(int(time.time()) + 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    limit = {"cost": points, "remaining": max(0, POINTS_PER_HOUR - spent - points), "resetAt": reset, "limit": POINTS_PER_HOUR}
    return {"data": {"organization": org, "rateLimit": limit}}, points
