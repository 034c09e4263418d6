"""A live org, read through the GitHub REST API, into ``stacks/<org>/org.yaml`` and feedstock files.

What is read (GitHub's REST field names), and where it goes:

* ``GET /orgs/{org}``: ``settings``, every one GitHub shows written out (a setting the config does
  not write is not managed) (``billing_email``, ``two_factor_requirement_enabled``,
  ``default_repository_permission``, ``members_can_create_*repositories``,
  ``members_can_fork_private_repositories``, ``web_commit_signoff_required``, ``description``,
  ``blog``, ``name``, ``email``, ``location``, ``company``, ``has_*_projects``: those the config has).
* ``GET /orgs/{org}/members?role=admin`` and ``?role=member``: ``owners`` and ``members``; a member
  already listed under ``bots:`` stays there (GitHub cannot tell a bot from a person).
* ``GET /orgs/{org}/repos?type=all``: repositories named ``*-feedstock`` become feedstocks (with
  ``archived``); the others ``repositories:``. One new to the config is written reference-only
  (``manage: false``: grantable, never changed), so that adopting an org starts managing nothing
  nobody reviewed, unless an org secret is scoped to it (which needs a managed repository); one
  the config manages gets GitHub's values for the fields it spells out or that differ from the
  defaults.
* ``GET /orgs/{org}/teams``, ``/teams/{slug}/members?role=...`` and ``/teams/{slug}/repos``:
  ``teams:`` with description, privacy, parent, maintainers, members and repository permissions.
  A feedstock's own team (the slug of its name, not declared in ``org.yaml``) is not a team entry:
  its members are the feedstock's maintainers, and an org team granted a feedstock at the
  feedstocks' ``team_permission`` is written as the maintainer ``org/team``.
* ``GET /orgs/{org}/actions/secrets`` (and ``.../{name}/repositories`` for ``selected`` ones):
  secret *names*, visibility and repositories. GitHub never gives a secret's value, and nothing
  from an answer is copied but the fields named here.

``org.yaml`` is merged through a ruamel.yaml round trip: comments, key order and every key the
import does not read (``feedstocks:`` defaults, rulesets, a secret's ``source``) are kept. A
team, repository or secret that ``org.yaml`` declares and the org does not have is kept and said
(it may be one a pull request adds, which the next ``up`` creates); ``prune`` removes those.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..config.checks import team_slug
from ..config.loader import ORG_FILE
from ..config.models import FEEDSTOCK_NAME, GITHUB_LOGIN, REPO_NAME, TEAM_REFERENCE, FeedstockDefaults, OrgSettings, Repository, RepositoryFeatures
from ..config.yamlfile import declared, load_yaml, not_a_file
from ..errors import ConfigError, CondainfraError, display_path
from .github_api import GitHubClient, GitHubError
from .sources import shown
from .writer import FeedstockUpdate, dump_round_trip, flow_list, normalised, round_trip_yaml

FEEDSTOCK_SUFFIX = "-feedstock"
ORG_HEADER = "# yaml-language-server: $schema=../../docs/schemas/org.schema.json\n# Imported by `condainfra import github`; comments and keys it does not read are kept on the next import.\n"
_ROLE_PERMISSION = {"admin": "admin", "maintain": "maintain", "write": "push", "push": "push", "triage": "triage", "read": "pull", "pull": "pull"}
_PERMISSION_ORDER = ("admin", "maintain", "push", "triage", "pull")
# OrgSettings field -> the /orgs/{org} field it is read from (the contact fields once the model has them)
_SETTINGS_FIELDS = {
    "billing_email": "billing_email",
    "two_factor_required": "two_factor_requirement_enabled",
    "default_member_permission": "default_repository_permission",
    "members_can_fork_private_repositories": "members_can_fork_private_repositories",
    "web_commit_signoff_required": "web_commit_signoff_required",
    "description": "description",
    "blog": "blog",
    "name": "name",
    "display_name": "name",
    "email": "email",
    "location": "location",
    "company": "company",
    "has_organization_projects": "has_organization_projects",
    "has_repository_projects": "has_repository_projects",
}
# Repository features -> the repository field of the same name
_FEATURES = tuple(RepositoryFeatures.model_fields)
LOGIN = ("login",)


@dataclass
class LiveTeam:
    name: str
    slug: str
    description: str = ""
    privacy: str = "closed"
    parent: str | None = None
    maintainers: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    repositories: dict[str, str] = field(default_factory=dict)


@dataclass
class LiveOrg:
    org: dict[str, Any]
    owners: list[str]
    members: list[str]
    repos: list[dict[str, Any]]
    teams: dict[str, LiveTeam]  # by slug
    secrets: dict[str, dict[str, Any]] | None  # None: not readable with this token
    feedstock_teams: set[str]  # slugs of the feedstocks' own teams


def _logins(items: list[Any], what: str, warnings: list[str]) -> list[str]:
    out = []
    for item in items:
        login = item.get("login") if isinstance(item, dict) else None
        if isinstance(login, str) and GITHUB_LOGIN.fullmatch(login):
            out.append(login)
        else:
            warnings.append(f"{what}: {shown(login)} is not a GitHub login: left out")
    return out


def _permission(repo: dict[str, Any]) -> str | None:
    role = repo.get("role_name")
    if isinstance(role, str) and role in _ROLE_PERMISSION:
        return _ROLE_PERMISSION[role]
    granted = repo.get("permissions") if isinstance(repo.get("permissions"), dict) else {}
    return next((p for p in _PERMISSION_ORDER if granted.get(p) is True), None)


def feedstock_name(repo: str) -> str | None:
    name = repo.removesuffix(FEEDSTOCK_SUFFIX)
    return name if repo.endswith(FEEDSTOCK_SUFFIX) and FEEDSTOCK_NAME.fullmatch(name) else None


async def read_org(client: GitHubClient, org: str, declared_teams: set[str], warnings: list[str], on_total: Callable[[int], None] = lambda _: None) -> LiveOrg:
    """Everything the import needs from one org; teams are read a few at a time (``jobs``)."""
    base = f"/orgs/{client.segment(org)}"
    info, admins, members, repos, teams = await asyncio.gather(
        client.get(base),
        client.list(f"{base}/members", fields=LOGIN, role="admin"),
        client.list(f"{base}/members", fields=LOGIN, role="member"),
        client.list(f"{base}/repos", type="all"),
        client.list(f"{base}/teams"),
    )
    if not isinstance(info, dict):
        raise GitHubError(f"GET {base}: expected an object")
    repos = [r for r in repos if isinstance(r, dict) and isinstance(r.get("name"), str)]
    feedstock_slugs = {team_slug(f) for f in (feedstock_name(r["name"]) for r in repos) if f}
    declared_slugs = {team_slug(t) for t in declared_teams}
    on_total(5 + 3 * len(teams))

    async def team(raw: dict[str, Any]) -> LiveTeam | None:
        name, slug = raw.get("name"), raw.get("slug")
        if not isinstance(name, str) or not isinstance(slug, str) or not slug:
            warnings.append(f"team {shown(name)}: no name or slug in GitHub's answer: left out")
            return None
        path = f"{base}/teams/{client.segment(slug)}"
        parent = raw.get("parent") if isinstance(raw.get("parent"), dict) else None
        live = LiveTeam(name, slug, raw.get("description") or "", raw.get("privacy") or "closed", parent.get("name") if parent else None)
        own = slug in feedstock_slugs and slug not in declared_slugs
        if own:  # a feedstock's team: who is on it is all that matters, and one list says it
            live.members = _logins(await client.list(f"{path}/members", fields=LOGIN, role="all"), f"team {name}", warnings)
        else:
            live.maintainers = _logins(await client.list(f"{path}/members", fields=LOGIN, role="maintainer"), f"team {name}", warnings)
            live.members = _logins(await client.list(f"{path}/members", fields=LOGIN, role="member"), f"team {name}", warnings)
        for repo in await client.list(f"{path}/repos", fields=("name", "role_name", "permissions")):
            repo_name = repo.get("name") if isinstance(repo, dict) else None
            permission = _permission(repo) if isinstance(repo, dict) else None
            if isinstance(repo_name, str) and REPO_NAME.fullmatch(repo_name) and permission:
                live.repositories[repo_name] = permission
            else:
                warnings.append(f"team {name}: repository {shown(repo_name)} without a known permission: left out")
        return live

    found = await asyncio.gather(*(team(t) for t in teams if isinstance(t, dict)))
    live_teams = {t.slug: t for t in found if t is not None}
    secrets = await _secrets(client, base, warnings)
    owners = _logins(admins, "owners", warnings)
    return LiveOrg(info, owners, _logins(members, "members", warnings), repos, live_teams, secrets, {s for s in live_teams if s in feedstock_slugs and s not in declared_slugs})


async def _secrets(client: GitHubClient, base: str, warnings: list[str]) -> dict[str, dict[str, Any]] | None:
    try:
        listed = await client.list(f"{base}/actions/secrets", key="secrets", fields=("name", "visibility"))
    except GitHubError as exc:
        if exc.status in (403, 404):
            warnings.append(f"org secrets are not readable with this token ({exc}): secrets: left as written")
            return None
        raise
    out: dict[str, dict[str, Any]] = {}
    for secret in listed:
        name = secret.get("name") if isinstance(secret, dict) else None
        visibility = secret.get("visibility") if isinstance(secret, dict) else None
        if not isinstance(name, str) or visibility not in ("all", "private", "selected"):
            warnings.append(f"secret {shown(name)}: no name or known visibility: left out")
            continue
        entry: dict[str, Any] = {"visibility": visibility}  # the name and these two fields, nothing else
        if visibility == "selected":
            repos = await client.list(f"{base}/actions/secrets/{client.segment(name)}/repositories", key="repositories", fields=("name",))
            entry["repositories"] = sorted(r["name"] for r in repos if isinstance(r, dict) and isinstance(r.get("name"), str) and REPO_NAME.fullmatch(r["name"]))
        out[name] = entry
    return out


@dataclass
class GitHubImport:
    org_yaml: str
    feedstocks: dict[str, FeedstockUpdate]
    removed: list[str]
    warnings: list[str]
    # declared in org.yaml, not in the org on GitHub: left as written (without prune)
    kept: list[str] = field(default_factory=list)


def _repository_creation(info: dict[str, Any]) -> str | None:
    any_repo = info.get("members_can_create_repositories")
    public, private = info.get("members_can_create_public_repositories"), info.get("members_can_create_private_repositories")
    if any_repo is None and public is None and private is None:
        return None  # not shown to this token
    if any_repo is False or not (public or private):
        return "owners"
    return "all" if public and private else "public" if public else "private"


def _settings(info: dict[str, Any]) -> dict[str, Any]:
    known = OrgSettings.model_fields
    out: dict[str, Any] = {}
    for key, source in _SETTINGS_FIELDS.items():
        if key in known and info.get(source) is not None:
            out[key] = info[source]
    creation = _repository_creation(info)
    if creation:
        out["repository_creation"] = creation
    return out


def _repository(repo: dict[str, Any]) -> dict[str, Any]:
    """A repository's fields as the config spells them (all of them; defaults are dropped later)."""
    features = {k: repo[k] for k in _FEATURES if isinstance(repo.get(k), bool)}
    out: dict[str, Any] = {
        "description": repo.get("description") or "",
        "homepage": repo.get("homepage") or "",
        "visibility": "private" if repo.get("private") or repo.get("visibility") in ("private", "internal") else "public",
        "archived": bool(repo.get("archived")),
        "default_branch": repo.get("default_branch") or "main",
        "topics": sorted(t for t in repo.get("topics") or [] if isinstance(t, str)),
    }
    if features:
        out["features"] = features
    return out


def _set_list(target: Any, key: str, values: list[str]) -> None:
    """A list the import owns: left alone when it already says the same (in any order)."""
    current = target.get(key)
    if isinstance(current, list) and normalised([str(v) for v in current]) == normalised(values) and len(current) == len(values):
        return
    if isinstance(current, list):
        current[:] = values
    else:
        target[key] = flow_list(values)


def _set_fields(target: Any, values: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Imported fields: set when they differ from the default or the file already spells them out."""
    for key, value in values.items():
        if key in target or value != defaults.get(key, object()):
            if isinstance(value, list):
                _set_list(target, key, value)
            elif target.get(key) != value:
                target[key] = value


@dataclass
class _Absent:
    """What to do with an entry org.yaml declares and GitHub does not have, and what was done."""

    prune: bool
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _merge_section(doc: Any, key: str, live: dict[str, Any], fill: Callable[[Any, Any], None], absent: _Absent, what: str) -> None:
    from ruamel.yaml.comments import CommentedMap

    section = doc.get(key)
    if not isinstance(section, dict):
        section = CommentedMap()
    for name in [n for n in section if n not in live]:
        if absent.prune:
            absent.removed.append(f"{what} {name}")
            del section[name]
        else:
            absent.kept.append(f"{what} {name}")
    for name in sorted(live):
        if not isinstance(section.get(name), dict):
            section[name] = CommentedMap()
        fill(section[name], live[name])
    if section or key in doc:
        doc[key] = section


def build_import(live: LiveOrg, existing_text: str | None, org: str, warnings: list[str], prune: bool = False) -> GitHubImport:
    from ruamel.yaml.comments import CommentedMap

    rt = round_trip_yaml()
    doc = _load_round_trip(rt, existing_text, org) if existing_text else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise CondainfraError(f"{org}/{ORG_FILE}: expected a mapping; fix it by hand before importing")
    absent = _Absent(prune)
    doc["org"] = doc.get("org", org)
    settings = _settings(live.org)
    existing_settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else CommentedMap()
    if "billing_email" not in settings and "billing_email" not in existing_settings:
        raise CondainfraError(f"GET /orgs/{org}: no billing_email in the answer (only owners see it), and {org}/{ORG_FILE} has none: import with an owner's token")
    # every setting GitHub shows is written: a setting the config does not write is not managed
    _set_fields(existing_settings, settings, {})
    doc["settings"] = existing_settings

    bots_before = {str(b).lower() for b in doc.get("bots") or []}
    owners = normalised(live.owners)
    owner_keys = {o.lower() for o in owners}
    members = [m for m in live.members if m.lower() not in owner_keys]
    bots = normalised([m for m in members if m.lower() in bots_before])
    _set_list(doc, "owners", owners)
    _set_list(doc, "members", normalised([m for m in members if m.lower() not in bots_before]))
    if bots or "bots" in doc:
        _set_list(doc, "bots", bots)

    written = doc.get("feedstocks") if isinstance(doc.get("feedstocks"), dict) else {}
    team_permission = written.get("team_permission", FeedstockDefaults.model_fields["team_permission"].default)
    feedstock_repos = {r["name"]: r for r in live.repos if feedstock_name(r["name"])}
    for repo in live.repos:
        if repo["name"].endswith(FEEDSTOCK_SUFFIX) and repo["name"] not in feedstock_repos:
            warnings.append(f"repository {shown(repo['name'])}: not a valid feedstock name: left out")
    # GitHub makes whoever creates a team its maintainer: the org's bots (and the identity that
    # applies the config) sit on every feedstock team without being anyone's recipe maintainer
    identity = existing_settings.get("apply_identity")
    machines = bots_before | ({str(identity).lower()} if identity else set())
    updates: dict[str, FeedstockUpdate] = {}
    for repo_name, repo in feedstock_repos.items():
        name = feedstock_name(repo_name)
        assert name is not None
        own = live.teams.get(team_slug(name)) if team_slug(name) in live.feedstock_teams else None
        # a feedstock whose slug is a team org.yaml declares: its maintainers stay as written
        maintainers = [m for m in own.members if m.lower() not in machines] if own else (None if team_slug(name) in live.teams else [])
        updates[name] = FeedstockUpdate(maintainers=maintainers, archived=bool(repo.get("archived")))

    org_teams: dict[str, LiveTeam] = {}
    for slug, team in sorted(live.teams.items()):
        for repo_name, permission in sorted(team.repositories.items()):
            fname = feedstock_name(repo_name)
            if fname is None or repo_name not in feedstock_repos:
                continue
            if team_slug(fname) == slug:  # the feedstock's own team (declared in org.yaml or not)
                if permission == team_permission:
                    del team.repositories[repo_name]  # the feedstock entry grants it already
                continue
            update = updates[fname]
            if permission == team_permission and TEAM_REFERENCE.fullmatch(f"{org}/{team.name}") and update.maintainers is not None:
                update.maintainers.append(f"{org}/{team.name}")
                del team.repositories[repo_name]
            elif slug in live.feedstock_teams:
                warnings.append(f"team {team.name}: {permission} on {repo_name} is not said by a feedstock entry: left out")
        if slug in live.feedstock_teams:
            extra = sorted(r for r in team.repositories if feedstock_name(r) is None or r not in feedstock_repos)
            if extra:
                warnings.append(f"feedstock team {team.name}: grants on {', '.join(extra)} are not said by a feedstock entry: left out")
            continue
        org_teams[team.name] = team
    team_names = {t.slug: t.name for t in live.teams.values()}

    def fill_team(entry: Any, team: LiveTeam) -> None:
        values: dict[str, Any] = {"description": team.description, "privacy": team.privacy}
        _set_fields(entry, values, {"description": ""})
        parent = team_names.get(team_slug(team.parent)) if team.parent else None
        if parent:
            entry["parent"] = parent
        elif "parent" in entry:
            del entry["parent"]
        maintainer_keys = {m.lower() for m in team.maintainers}
        _set_fields(entry, {"maintainers": normalised(team.maintainers), "members": normalised([m for m in team.members if m.lower() not in maintainer_keys])}, {"maintainers": [], "members": []})
        repos = entry.get("repositories") if isinstance(entry.get("repositories"), dict) else CommentedMap()
        for repo in [r for r in repos if r not in team.repositories]:
            del repos[repo]
        for repo, permission in sorted(team.repositories.items()):
            if repos.get(repo) != permission:
                repos[repo] = permission
        if repos:
            entry["repositories"] = repos
        elif "repositories" in entry:
            del entry["repositories"]

    _merge_section(doc, "teams", org_teams, fill_team, absent, "team")

    repo_defaults = {**Repository().model_dump(), "features": None}
    feature_defaults = RepositoryFeatures().model_dump()

    before = doc.get("repositories") if isinstance(doc.get("repositories"), dict) else {}
    declared_repos = {str(name) for name in before}
    # a secret can only be scoped to a repository the config manages
    declared_repos |= {r for secret in (live.secrets or {}).values() for r in secret.get("repositories", [])}

    def fill_repository(entry: Any, repo: dict[str, Any]) -> None:
        # a repository new to the config is only referred to (grantable, never changed): adopting
        # an org must not start managing what nobody has reviewed; `manage: false` is removed by hand
        if repo["name"] not in declared_repos or (entry.get("manage") is False and repo["name"] in before):
            entry.clear()
            entry["manage"] = False
            return
        values = _repository(repo)
        features = values.pop("features", {})
        _set_fields(entry, values, repo_defaults)
        if features and (isinstance(entry.get("features"), dict) or features != {k: feature_defaults[k] for k in features}):
            target = entry.get("features") if isinstance(entry.get("features"), dict) else CommentedMap()
            _set_fields(target, features, feature_defaults)
            if target:
                entry["features"] = target

    others = {r["name"]: r for r in live.repos if not r["name"].endswith(FEEDSTOCK_SUFFIX) and REPO_NAME.fullmatch(r["name"])}
    _merge_section(doc, "repositories", others, fill_repository, absent, "repository")

    if live.secrets is not None:
        def fill_secret(entry: Any, secret: dict[str, Any]) -> None:
            entry["visibility"] = secret["visibility"]
            if "repositories" in secret:
                _set_list(entry, "repositories", secret["repositories"])
            elif "repositories" in entry:
                del entry["repositories"]

        _merge_section(doc, "secrets", live.secrets, fill_secret, absent, "secret")
    if updates and "feedstocks" not in doc:
        doc["feedstocks"] = CommentedMap()
    text = dump_round_trip(rt, doc if existing_text else _ordered(doc))
    if not existing_text:
        text = ORG_HEADER + text
    return GitHubImport(text, updates, absent.removed, warnings, absent.kept)


_TOP_ORDER = ("org", "settings", "owners", "members", "bots", "teams", "repositories", "secrets", "feedstocks")


def _ordered(doc: Any) -> Any:
    """A new file in the usual key order (an existing one keeps its own; new keys go last)."""
    from ruamel.yaml.comments import CommentedMap

    ordered = CommentedMap()
    for key in (*_TOP_ORDER, *[k for k in doc if k not in _TOP_ORDER]):
        if key in doc:
            ordered[key] = doc[key]
    return ordered


def _load_round_trip(rt: Any, text: str, org: str) -> Any:
    from ruamel.yaml import YAMLError

    try:
        return rt.load(text)
    except YAMLError as exc:  # the project's loader read it; ruamel is stricter about a few things
        raise CondainfraError(f"{org}/{ORG_FILE}: cannot be merged keeping its comments ({str(exc).splitlines()[0]}); fix it by hand first") from None


async def fetch(
    client: GitHubClient, org: str, existing_text: str | None, on_total: Callable[[int], None] = lambda _: None, prune: bool = False
) -> GitHubImport:
    warnings: list[str] = []
    declared: set[str] = set()
    if existing_text:
        data = _load_round_trip(round_trip_yaml(), existing_text, org)
        if isinstance(data, dict) and isinstance(data.get("teams"), dict):
            declared = {str(t) for t in data["teams"]}
    live = await read_org(client, org, declared, warnings, on_total)
    return build_import(live, existing_text, org, warnings, prune)


def existing_org_text(org_dir: Path, root: Path) -> str | None:
    """The org.yaml to merge into, checked by the project's reader first (``file:line`` on bad
    YAML, before a single request is made); None when the org is new."""
    path = org_dir / ORG_FILE
    if not declared(path):
        return None
    if not path.is_file():
        raise ConfigError([not_a_file(path, root)])
    doc, issues = load_yaml(path, display_path(path, root))
    if doc is None or issues:
        raise ConfigError(issues)
    if not isinstance(doc.data, dict):
        raise ConfigError([doc.issue((), "expected a mapping of org settings")])
    return path.read_text(encoding="utf-8")


@dataclass
class GitHubImportResult:
    imported: GitHubImport
    report: Any  # writer.WriteReport
    issues: list  # what the project's loader says of the staged result
    written: int  # files whose bytes changed
    counters: Any  # github_api.Counters


def import_github(
    root: Path,
    org: str,
    api_url: str,
    token: str | None,
    use_cache: bool = True,
    jobs: int = 4,
    say: Callable[[str], None] = lambda _: None,
    advance: Callable[[], None] = lambda: None,
    total: Callable[[int], None] = lambda _: None,
    prune: bool = False,
    limits: list[str] | tuple[str, ...] = (),
) -> GitHubImportResult:
    """Read the live org and write org.yaml and its feedstock files: staged, checked by the
    project's loader, then moved into place; a failure before that (the network, GitHub, bad
    input) leaves every file as it was."""
    from ..project import STACKS_DIR
    from ..fetch import FetchPolicy
    from .github_api import CACHE_DIR, RUN_DEADLINE
    from .writer import Staged, plan_feedstock_files

    org_dir = root / STACKS_DIR / org
    existing = existing_org_text(org_dir, root)
    policy = FetchPolicy(run_deadline=RUN_DEADLINE).with_settings(list(limits), "--limit")
    client = GitHubClient(api_url, token, root / CACHE_DIR if use_cache else None, say, advance, jobs, policy=policy)

    async def read() -> GitHubImport:
        async with client:
            return await fetch(client, org, existing, total, prune)

    imported = asyncio.run(read())
    files, report = plan_feedstock_files(org_dir, root, imported.feedstocks)
    report.warnings += imported.warnings
    with Staged(org_dir, root) as staged:
        if imported.org_yaml != existing:
            staged.put(ORG_FILE, imported.org_yaml)
        for name, text in files.items():
            staged.put(f"feedstocks/{name}", text)
        issues = staged.check()
        staged.commit()
        written = len(staged.changed)
    return GitHubImportResult(imported, report, issues, written, client.counters)
