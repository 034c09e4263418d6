"""Checks that span fields or files, which a single pydantic model cannot see."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ConfigIssue
from .models import MAX_REPO_DESCRIPTION

if TYPE_CHECKING:
    from .loader import OrgDeclaration


_SLUG_SAFE = re.compile(r"[a-z0-9_][a-z0-9_-]*[a-z0-9_]|[a-z0-9_]")


def team_slug(name: str) -> str:
    """GitHub's slug for a team name: lower case, other characters folded to '-'."""
    lowered = name.lower()
    if _SLUG_SAFE.fullmatch(lowered):
        return lowered
    return re.sub(r"[^a-z0-9_-]+", "-", lowered).strip("-")


def feedstock_repo(name: str) -> str:
    return f"{name}-feedstock"


def check_org(decl: OrgDeclaration) -> list[ConfigIssue]:
    cfg, doc = decl.config, decl.source
    issues: list[ConfigIssue] = []

    # A login may hold one org role only: GitHub stores a single membership.
    role_of: dict[str, str] = {}
    for role in ("owners", "members", "bots"):
        for i, login in enumerate(getattr(cfg, role)):
            key = login.lower()
            if key in role_of:
                where = "listed twice" if role_of[key] == role else f"already listed in {role_of[key]}"
                issues.append(doc.issue((role, i), f"{role}: {login!r} is {where}"))
            else:
                role_of[key] = role

    slugs: dict[str, str] = {}
    for name, team in cfg.teams.items():
        slug = team_slug(name)
        if slug in slugs:
            issues.append(doc.issue(("teams", name), f"teams: {name!r} has the same slug {slug!r} as team {slugs[slug]!r}"))
        slugs[slug] = name
        if team.parent is not None and team.parent not in cfg.teams:
            issues.append(doc.issue(("teams", name, "parent"), f"teams.{name}.parent: team {team.parent!r} is not declared"))
        seen: dict[str, str] = {}
        for role in ("maintainers", "members"):
            for i, login in enumerate(getattr(team, role)):
                if login.lower() in seen:
                    issues.append(doc.issue(("teams", name, role, i), f"teams.{name}: {login!r} is already listed in {seen[login.lower()]}"))
                seen[login.lower()] = role
        for repo in team.repositories:
            if repo not in cfg.repositories and not _is_feedstock_repo(decl, repo):
                issues.append(doc.issue(("teams", name, "repositories", repo), f"teams.{name}.repositories: repository {repo!r} is not declared"))
    issues += _parent_cycles(decl)

    for name, secret in cfg.secrets.items():
        if secret.visibility == "selected":
            if not secret.repositories:
                issues.append(doc.issue(("secrets", name), f"secrets.{name}: visibility 'selected' needs a repositories list"))
            for i, repo in enumerate(secret.repositories):
                if repo not in cfg.repositories:
                    issues.append(doc.issue(("secrets", name, "repositories", i), f"secrets.{name}.repositories: repository {repo!r} is not declared in repositories"))
        elif secret.repositories:
            issues.append(doc.issue(("secrets", name, "repositories"), f"secrets.{name}: repositories are only allowed with visibility 'selected'"))

    issues += _check_feedstocks(decl, slugs)
    return issues


def _is_feedstock_repo(decl: OrgDeclaration, repo: str) -> bool:
    return repo.endswith("-feedstock") and repo.removesuffix("-feedstock") in decl.feedstocks


def _parent_cycles(decl: OrgDeclaration) -> list[ConfigIssue]:
    teams = decl.config.teams
    issues = []
    for start in teams:
        seen, name = {start}, teams[start].parent
        while name is not None and name in teams:
            if name == start:
                issues.append(decl.source.issue(("teams", start, "parent"), f"teams.{start}.parent: parent teams form a cycle"))
                break
            if name in seen:
                break
            seen.add(name)
            name = teams[name].parent
    return issues


def _check_feedstocks(decl: OrgDeclaration, team_slugs: dict[str, str]) -> list[ConfigIssue]:
    cfg = decl.config
    issues = []
    feedstock_slugs: dict[str, str] = {}
    for name, feedstock in decl.feedstocks.items():
        where = decl.feedstock_origin[name]
        repo = feedstock_repo(name)
        if repo in cfg.repositories:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: repository {repo!r} is also declared in repositories"))
        if cfg.feedstocks is not None and len(cfg.feedstocks.description_of(name)) > MAX_REPO_DESCRIPTION:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: its description is longer than GitHub's {MAX_REPO_DESCRIPTION} characters"))
        slug = team_slug(name)
        if slug in team_slugs:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: its team slug {slug!r} collides with declared team {team_slugs[slug]!r}"))
        elif slug in feedstock_slugs:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: its team slug {slug!r} collides with feedstock {feedstock_slugs[slug]!r}"))
        feedstock_slugs[slug] = name
        for maintainer in feedstock.maintainers:
            if "/" not in maintainer:
                continue
            org, team = maintainer.split("/", 1)
            line = _maintainer_line(decl, name, maintainer, where.line)
            if org.lower() != cfg.org.lower():
                issues.append(ConfigIssue(where.path, line, f"feedstock {name!r}: team reference {maintainer!r} names another org; only teams of {cfg.org!r} can be referenced"))
            elif team not in cfg.teams and team not in decl.feedstocks:
                issues.append(ConfigIssue(where.path, line, f"feedstock {name!r}: team {maintainer!r} is neither declared in {cfg.org}/org.yaml nor a feedstock's team"))
    return issues


def _maintainer_line(decl: OrgDeclaration, name: str, maintainer: str, fallback: int) -> int:
    doc = decl.feedstock_docs.get(decl.feedstock_origin[name].path)
    if doc is None:
        return fallback
    value = doc.data.get(name)
    items = value.get("maintainers", []) if isinstance(value, dict) else value
    prefix = (name, "maintainers") if isinstance(value, dict) else (name,)
    if isinstance(items, list) and maintainer in items:
        return doc.line((*prefix, items.index(maintainer)))
    return fallback
