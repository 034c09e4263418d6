"""A live org as the import reads it: the bulk reader's state (members with roles, repositories,
teams with members and grants: ``importers.github_reader``, GraphQL by cursor) and the org's Actions
secrets (REST: names, visibility and repositories only; never a value), in the shapes the merge
into ``org.yaml`` takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config.checks import team_slug
from ..config.models import FEEDSTOCK_NAME, REPO_NAME
from .github_api import GitHubClient, GitHubError
from .github_reader import OrgState, read_org_state
from .sources import shown

FEEDSTOCK_SUFFIX = "-feedstock"


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



def feedstock_name(repo: str) -> str | None:
    name = repo.removesuffix(FEEDSTOCK_SUFFIX)
    return name if repo.endswith(FEEDSTOCK_SUFFIX) and FEEDSTOCK_NAME.fullmatch(name) else None



def live_org(state: OrgState, declared_teams: set[str], secrets: dict[str, dict[str, Any]] | None) -> LiveOrg:
    """The import's view of one bulk read: a feedstock's own team (its slug, not declared in
    ``org.yaml``) is a list of maintainers; any other team keeps maintainers and members apart."""
    repos = list(state.repositories.values())
    feedstock_slugs = {team_slug(f) for f in (feedstock_name(r["name"]) for r in repos) if f}
    declared_slugs = {team_slug(t) for t in declared_teams}
    own = {slug for slug in state.teams if slug in feedstock_slugs and slug not in declared_slugs}
    teams = {}
    for slug, t in state.teams.items():
        live = LiveTeam(t.name, slug, t.description, t.privacy, t.parent, repositories=dict(t.repositories))
        if slug in own:  # a feedstock's team: who is on it is all that matters
            live.members = list(t.members)
        else:
            live.maintainers = [m for m, role in t.members.items() if role == "maintainer"]
            live.members = [m for m, role in t.members.items() if role != "maintainer"]
        teams[slug] = live
    owners = [m for m, role in state.members.items() if role == "admin"]
    members = [m for m, role in state.members.items() if role != "admin"]
    return LiveOrg(state.settings, owners, members, repos, teams, secrets, own)


async def read_org(client: GitHubClient, org: str, declared_teams: set[str], warnings: list[str]) -> LiveOrg:
    """Everything the import needs from one org: one bulk read, then the secrets."""
    state = await read_org_state(client, org)
    warnings += state.warnings
    secrets = await _secrets(client, f"/orgs/{client.segment(org)}", warnings)
    return live_org(state, declared_teams, secrets)


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

