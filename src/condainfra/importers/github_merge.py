"""The merge of a live org into ``org.yaml`` (a ruamel.yaml round trip: comments, key order and
every key the import does not read are kept) and into the feedstocks' maintainers; what each field
is read from is said in importers/github.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..config.checks import team_slug
from ..config.loader import ORG_FILE
from ..config.models import REPO_NAME, TEAM_REFERENCE, FeedstockDefaults, OrgSettings, Repository, RepositoryFeatures
from ..errors import CondainfraError
from .github_live import FEEDSTOCK_SUFFIX, LiveOrg, LiveTeam, feedstock_name
from .sources import shown
from .writer import FeedstockUpdate, dump_round_trip, flow_list, normalised, round_trip_yaml

ORG_HEADER = "# yaml-language-server: $schema=../../docs/schemas/org.schema.json\n# Imported by `condainfra import github`; comments and keys it does not read are kept on the next import.\n"
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
    doc = load_round_trip(rt, existing_text, org) if existing_text else None
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


def load_round_trip(rt: Any, text: str, org: str) -> Any:
    from ruamel.yaml import YAMLError

    try:
        return rt.load(text)
    except YAMLError as exc:  # the project's loader read it; ruamel is stricter about a few things
        raise CondainfraError(f"{org}/{ORG_FILE}: cannot be merged keeping its comments ({str(exc).splitlines()[0]}); fix it by hand first") from None

