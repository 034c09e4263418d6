"""Who maintains what, from the org-as-code config under ``stacks/``.

The dashboard reads the config leniently: a config that `condainfra validate` would refuse
(a feedstock naming an unknown team, say) still yields every feedstock it can, and each
problem is reported once rather than blanking the dashboard.

Teams are read as the config declares them, not through their members: a team holds a feedstock
when the feedstock lists it as a maintainer (``conda-forge/r``), when it is the feedstock's own
team (named after it, or named by its ``team:`` key), or when org.yaml grants it the feedstock's
repository. A team with nobody listed (GitHub keeps its members) still holds its feedstocks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ...compiler.sharding import shard_of, shard_stack_name
from ...config.checks import feedstock_repo, team_slug
from ...config.declaration import OrgDeclaration
from ...config.loader import FEEDSTOCK_DIR, ORG_FILE, load_org
from ...config.models import TEAM_REFERENCE
from ...errors import CondainfraError

LISTED, OWN_TEAM = "listed as maintainer", "the feedstock's team"


@dataclass(frozen=True)
class DeclaredFeedstock:
    org: str
    name: str
    stack: str
    archived: bool
    # login -> the team reference it came through ("" for a direct maintainer)
    maintainers: dict[str, str]


@dataclass
class DeclaredTeam:
    org: str
    name: str
    description: str = ""
    # feedstock -> how the team holds it (LISTED, OWN_TEAM, or the permission org.yaml grants on its repository)
    feedstocks: dict[str, str] = field(default_factory=dict)
    # its people as the config lists them: org.yaml's maintainers and members, or a feedstock team's direct maintainers
    people: set[str] = field(default_factory=set)


@dataclass
class OrgPeople:
    feedstocks: dict[tuple[str, str], DeclaredFeedstock] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _declarations(root: Path, problems: list[str]) -> dict[str, OrgDeclaration]:
    stacks = root / "stacks"
    if not stacks.is_dir():
        problems.append(f"{stacks}: no stacks folder")
        return {}
    declarations = {}
    for org_dir in sorted(p for p in stacks.iterdir() if (p / ORG_FILE).is_file()):
        try:
            declaration, issues = load_org(org_dir, root)
        except CondainfraError as exc:
            problems.append(str(exc))
            continue
        problems += [str(i) for i in issues]
        if declaration is not None:
            declarations[declaration.name] = declaration
    return declarations


def load_org_people(root: Path) -> OrgPeople:
    people = OrgPeople()
    declarations = _declarations(root, people.problems)
    for org, decl in declarations.items():
        people.owners[org] = list(decl.config.owners)
        if decl.config.feedstocks is None:
            continue
        shards = decl.config.feedstocks.shards
        for feedstock in decl.feedstocks.values():
            maintainers: dict[str, str] = {}
            for entry in feedstock.maintainers:
                if "/" not in entry:
                    maintainers.setdefault(entry.lower(), "")
                    continue
                match = TEAM_REFERENCE.fullmatch(entry)
                team_org, team = (match.group(1), match.group(2)) if match else ("", "")
                declared = declarations.get(team_org)
                spec = declared.config.teams.get(team) if declared else None
                if spec is not None:
                    logins = (*spec.maintainers, *spec.members)
                elif declared is not None and team in declared.feedstocks:
                    # a feedstock's own team (`conda-forge/jaxlib`): that feedstock's direct maintainers
                    logins = tuple(m for m in declared.feedstocks[team].maintainers if "/" not in m)
                else:
                    if not any(repr(entry) in p and repr(feedstock.name) in p for p in people.problems):  # the loader said so already
                        people.problems.append(f"feedstock {org}/{feedstock.name}: team {entry!r} is not declared; its members are left out")
                    continue
                for login in logins:
                    maintainers.setdefault(login.lower(), entry)
            people.feedstocks[(org, feedstock.name)] = DeclaredFeedstock(
                org, feedstock.name, shard_stack_name(org, shard_of(feedstock.shard_key, shards)), feedstock.archived, maintainers
            )
    return people


def declared_teams(decl: OrgDeclaration) -> dict[tuple[str, str], DeclaredTeam]:
    """The org's teams with the feedstocks each holds by declaration (see the module's note)."""
    org, teams = decl.name, {}
    for name, spec in decl.config.teams.items():
        teams[(org.lower(), team_slug(name))] = DeclaredTeam(org, name, spec.description, {}, {p.lower() for p in (*spec.maintainers, *spec.members)})
    repos = {}
    for feedstock in decl.feedstocks.values():
        repos[feedstock_repo(feedstock.name)] = feedstock.name
        if feedstock.repository:
            repos[feedstock.repository] = feedstock.name
        # a feedstock's own team (named after it, or by `team:`): one org.yaml declares, or one the feedstock's people form
        own = teams.setdefault((org.lower(), team_slug(feedstock.team_name)), DeclaredTeam(org, feedstock.team_name))
        own.feedstocks[feedstock.name] = OWN_TEAM
        if feedstock.team_name not in decl.config.teams:
            own.people |= {m.lower() for m in feedstock.maintainers if "/" not in m}
    for name, spec in decl.config.teams.items():
        for repo, permission in spec.repositories.items():
            if repo in repos:
                teams[(org.lower(), team_slug(name))].feedstocks.setdefault(repos[repo], f"granted {permission} on its repository")
    for feedstock in decl.feedstocks.values():
        for entry in feedstock.maintainers:
            match = TEAM_REFERENCE.fullmatch(entry)
            key = (match.group(1).lower(), team_slug(match.group(2))) if match else None
            if key in teams:
                teams[key].feedstocks[feedstock.name] = LISTED
    return teams


_cache: dict[Path, tuple[tuple, dict]] = {}
_cache_lock = threading.Lock()


def _signature(root: Path) -> tuple:
    """What the org files are now: a changed, added or removed file changes it (a stat each, no read)."""
    stacks = root / "stacks"
    if not stacks.is_dir():
        return ()
    files = [p for d in sorted(stacks.iterdir()) if (d / ORG_FILE).is_file() for p in (d / ORG_FILE, *sorted((d / FEEDSTOCK_DIR).glob("*.yaml")))]
    signature = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:  # removed while listed: the next look sees it gone
            continue
        signature.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


def teams_of(root: Path) -> dict[tuple[str, str], DeclaredTeam]:
    """The declared teams of every org under ``root``, read once per change of its files: a team page
    reads them in the web process, which the refresh's tables do not carry."""
    root = root.resolve()
    with _cache_lock:
        signature = _signature(root)
        cached = _cache.get(root)
        if cached is None or cached[0] != signature:
            teams: dict[tuple[str, str], DeclaredTeam] = {}
            for decl in _declarations(root, []).values():  # problems: the refresh reports them
                teams.update(declared_teams(decl))
            cached = _cache[root] = (signature, teams)
        return cached[1]
