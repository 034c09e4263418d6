"""Checks that span fields or files, which a single pydantic model cannot see.

Errors stop a plan; warnings (``OrgDeclaration.warnings``) are config that loads but does not do all it
says, or that GitHub would report differently on every refresh.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import ConfigIssue
from .declaration import OrgDeclaration, maintainer_kind
from .models import MAX_REPO_DESCRIPTION, MAX_TEAM_NAME, TEAM_NAME

_SLUG = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")


def team_slug(name: str) -> str:
    """GitHub's slug for a team name. GitHub does not document the rule; what it does is Rails'
    ``parameterize``: letters transliterated to ASCII (``ä`` -> ``a``), lower case, every run of
    characters other than ``a-z 0-9 _ -`` (``/``, ``.``, spaces included) one ``-``, repeated ``-``
    squeezed, none at either end: ``pdfminer.six`` -> ``pdfminer-six``, ``sig/Node`` -> ``sig-node``."""
    lowered = name.lower()
    if _SLUG.fullmatch(lowered):  # nearly every feedstock name: no work
        return lowered
    ascii_text = "".join(
        c if c.isascii() else "-" for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower())).strip("-")


def feedstock_repo(name: str) -> str:
    return f"{name}-feedstock"


def check_org(decl: OrgDeclaration) -> list[ConfigIssue]:
    """Every error of the org's files; warnings go to ``decl.warnings``."""
    cfg, doc = decl.config, decl.source
    issues: list[ConfigIssue] = []
    warn = decl.warnings.append

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
    identity = cfg.settings.apply_identity
    if identity is not None:
        # a bot account need not be an owner here: its token may carry org admin rights by other means
        if identity.lower() not in role_of:
            issues.append(doc.issue(("settings", "apply_identity"), f"settings.apply_identity: {identity!r} is not listed in owners, members or bots"))
    owners = {o.lower() for o in cfg.owners}

    slugs: dict[str, str] = {}
    for name, team in cfg.teams.items():
        issues += _team_name_issues(doc, ("teams", name), f"teams: {name!r}", name)
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
                if role == "members" and login.lower() in owners:
                    warn(doc.issue(("teams", name, role, i), f"teams.{name}: {login!r} is an org owner, which GitHub reports as a team maintainer; it is applied as one (list it under maintainers)"))
        if team.members and not team.maintainers and not any(m.lower() in owners for m in team.members) and identity is None:
            warn(doc.issue(("teams", name), f"teams.{name}: no maintainer, and GitHub makes whoever creates the team one: a refresh will always differ; set settings.apply_identity"))
        if team.privacy == "secret" and (team.parent is not None or any(t.parent == name for t in cfg.teams.values())):
            issues.append(doc.issue(("teams", name, "privacy"), f"teams.{name}: a secret team cannot have a parent or children on GitHub; make it closed"))
        for repo in team.repositories:
            feedstock = decl.feedstocks.get(repo.removesuffix("-feedstock")) if _is_feedstock_repo(decl, repo) else None
            if feedstock is not None and (feedstock.team_name == name or _references(feedstock, cfg.org, name)):
                # two resources would grant the same access, and fight when their permissions differ
                issues.append(doc.issue(("teams", name, "repositories", repo), f"teams.{name}.repositories: feedstock {feedstock.name!r} already grants {repo!r} to this team (feedstocks.team_permission); remove it here"))
            if repo not in cfg.repositories and not _is_feedstock_repo(decl, repo):
                issues.append(doc.issue(("teams", name, "repositories", repo), f"teams.{name}.repositories: repository {repo!r} is not declared (declare it, with `manage: false` if the config should only refer to it)"))
    for name, team in cfg.teams.items():
        for i, old in enumerate(team.previously):
            loc = ("teams", name, "previously", i)
            issues += _team_name_issues(doc, loc, f"teams.{name}.previously: {old!r}", old)
            if team_slug(old) in slugs:
                issues.append(doc.issue(loc, f"teams.{name}.previously: {old!r} is the name of team {slugs[team_slug(old)]!r}, which exists"))
    issues += _parent_cycles(decl)

    for name, repo in cfg.repositories.items():
        if repo.archived and repo.ruleset is not None:
            warn(doc.issue(("repositories", name, "ruleset"), f"repositories.{name}: archived, so its ruleset is not applied (GitHub refuses changes to an archived repository)"))
        for i, old in enumerate(repo.previously):
            if old in cfg.repositories:
                issues.append(doc.issue(("repositories", name, "previously", i), f"repositories.{name}.previously: {old!r} is declared as a repository of its own"))

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


def _references(feedstock, org: str, team: str) -> bool:
    slug = team_slug(team)
    return any(maintainer_kind(m, org) == "team" and team_slug(m.split("/", 1)[1]) == slug for m in feedstock.maintainers)


def _team_name_issues(doc, loc: tuple, what: str, name: str) -> list[ConfigIssue]:
    """The problem with a team name as GitHub sees it, if any (``doc`` None: line 1, for the caller to place)."""
    message = None
    if len(name) > MAX_TEAM_NAME:
        message = f"{what} is longer than GitHub's {MAX_TEAM_NAME} characters for a team name"
    elif not TEAM_NAME.fullmatch(name) or not team_slug(name):
        message = f"{what} is not a valid team name (it needs a letter or digit; no control characters, no space at either end)"
    if message is None:
        return []
    return [doc.issue(loc, message) if doc is not None else ConfigIssue("", 1, message)]


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
    # each feedstock team's slug -> the feedstocks whose own team it would be, for collisions
    own_teams: dict[str, list[str]] = {}
    for name, feedstock in decl.feedstocks.items():
        where = decl.feedstock_origin[name]
        repo = feedstock_repo(name)
        if feedstock.repository is not None and feedstock.repository != repo:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: repository {feedstock.repository!r} is not its repository {repo!r} (repository: only confirms that name)"))
            continue
        if name.lower().endswith("-feedstock") and feedstock.repository != repo:
            # a key is the package name: `x-feedstock` would create the repository x-feedstock-feedstock
            issues.append(ConfigIssue(where.path, where.line, (
                f"feedstock {name!r}: write the package name {name[:-len('-feedstock')]!r}; the key {name!r} would create the repository {repo!r} "
                f"(if that repository really exists, confirm it: `{name}: {{maintainers: [...], repository: {repo}}}`)")))
            continue
        if repo in cfg.repositories:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: repository {repo!r} is also declared in repositories"))
        if cfg.feedstocks is not None and len(cfg.feedstocks.description_of(name)) > MAX_REPO_DESCRIPTION:
            issues.append(ConfigIssue(where.path, where.line, f"feedstock {name!r}: its description is longer than GitHub's {MAX_REPO_DESCRIPTION} characters"))
        team = feedstock.team_name
        if feedstock.team is not None:
            found = _team_name_issues(None, (), f"feedstock {name!r}: team {team!r}", team)
            if found:
                issues += [ConfigIssue(where.path, _line(decl, name, "team"), i.message) for i in found]
                continue
        slug = team_slug(team)
        if team in cfg.teams:
            continue  # a team org.yaml declares: shared, checked below
        if slug in team_slugs:
            line = _line(decl, name, "team") if feedstock.team else where.line
            issues.append(ConfigIssue(where.path, line, f"feedstock {name!r}: its team {team!r} has the slug {slug!r} of declared team {team_slugs[slug]!r}; "
                                      f"to share that team write `team: {team_slugs[slug]}`, else give the feedstock a team of its own with `team: <name>`"))
            continue
        own_teams.setdefault(slug, []).append(name)

    for slug, names in own_teams.items():
        if len(names) > 1:
            issues.append(_collision(decl, slug, names))

    feedstock_teams = {team_slug(f.team_name) for f in decl.feedstocks.values()}
    for name, feedstock in decl.feedstocks.items():
        issues += _check_previously(decl, name)
        where = decl.feedstock_origin[name]
        shared = cfg.teams.get(feedstock.team_name)
        granted = {m.lower() for m in shared.maintainers + shared.members} if shared is not None else None
        for maintainer in feedstock.maintainers:
            kind = maintainer_kind(maintainer, cfg.org)
            if kind == "login":
                if granted is not None and maintainer.lower() not in granted:
                    decl.warnings.append(ConfigIssue(where.path, _maintainer_line(decl, name, maintainer, where.line),
                                                     f"feedstock {name!r}: {maintainer!r} is not in team {feedstock.team_name!r}, which org.yaml declares and owns; add them there to grant access"))
                continue
            line = _maintainer_line(decl, name, maintainer, where.line)
            if kind == "email":
                decl.warnings.append(ConfigIssue(where.path, line, f"feedstock {name!r}: {maintainer!r} is an e-mail address, not a GitHub account; it is granted nothing"))
            elif kind == "other-org":
                decl.warnings.append(ConfigIssue(where.path, line, f"feedstock {name!r}: {maintainer!r} is a team of another org; GitHub grants only {cfg.org!r}'s teams access, so it is granted nothing"))
            else:
                team = maintainer.split("/", 1)[1]
                if team_slug(team) not in team_slugs and team_slug(team) not in feedstock_teams:
                    issues.append(ConfigIssue(where.path, line, f"feedstock {name!r}: team {maintainer!r} is neither declared in {cfg.org}/org.yaml nor a feedstock's team"))
    return issues


def _collision(decl: OrgDeclaration, slug: str, names: list[str]) -> ConfigIssue:
    first, *rest = sorted(names, key=lambda n: (decl.feedstock_origin[n].path, decl.feedstock_origin[n].line))
    where = decl.feedstock_origin[rest[0]]
    others = ", ".join(f"{n!r} ({decl.feedstock_origin[n].path}:{decl.feedstock_origin[n].line})" for n in [first, *rest])
    # Archiving one does not help: an archived feedstock keeps its team (dropping it from the config would delete it).
    return ConfigIssue(where.path, where.line, f"feedstocks {others} would all have the team slug {slug!r}; "
                       "give all but one the team it has on GitHub with `team: <name>`, or remove the entries of feedstocks that no longer exist")


def _check_previously(decl: OrgDeclaration, name: str) -> list[ConfigIssue]:
    issues = []
    where = decl.feedstock_origin[name]
    for i, old in enumerate(decl.feedstocks[name].previously):
        if old in decl.feedstocks:
            issues.append(ConfigIssue(where.path, _line(decl, name, "previously", i), f"feedstock {name!r}: previously {old!r} is declared as a feedstock of its own"))
    return issues


def _line(decl: OrgDeclaration, name: str, *loc) -> int:
    where = decl.feedstock_origin[name]
    doc = decl.feedstock_docs.get(where.path)
    return doc.line((name, *loc)) if doc is not None else where.line


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
