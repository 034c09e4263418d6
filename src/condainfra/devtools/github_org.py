"""The org a GitHub stand-in serves (a mock of GitHub's data, for tests and benchmarks): REST shapes
as GitHub spells them, and a generator of an org the size of conda-forge's (28,906 repositories,
about 29,000 teams, 6,000 members) made on the spot, never stored, with the config that declares
it (so drift, import and adopt can be measured against the full-size org).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEVELS = ["pull", "triage", "push", "maintain", "admin"]


def user(login: str, n: int) -> dict[str, Any]:
    return {"login": login, "id": 1000 + n, "node_id": f"U_{n}", "type": "User", "site_admin": False, "url": f"https://api.github.com/users/{login}"}


def repo(name: str, n: int, org: str = "acme", **fields: Any) -> dict[str, Any]:
    out = {
        "id": 5000 + n, "node_id": f"R_{n}", "name": name, "full_name": f"{org}/{name}", "private": False, "visibility": "public",
        "archived": False, "disabled": False, "description": None, "homepage": None, "default_branch": "main", "topics": [],
        "has_issues": True, "has_wiki": False, "has_projects": False, "has_discussions": False, "fork": False,
    }
    out.update(fields)
    return out


def team(name: str, slug: str, n: int, parent: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    out = {
        "id": 7000 + n, "node_id": f"T_{n}", "name": name, "slug": slug, "description": "", "privacy": "closed",
        "notification_setting": "notifications_enabled", "permission": "pull", "parent": parent,
        "members_url": f"https://api.github.com/organizations/1/team/{7000 + n}/members{{/member}}",
        "repositories_url": f"https://api.github.com/organizations/1/team/{7000 + n}/repos",
    }
    out.update(fields)
    return out


def granted(r: dict[str, Any], role: str) -> dict[str, Any]:
    name = {"read": "pull", "write": "push"}.get(role, role)
    return {**r, "role_name": role, "permissions": {p: LEVELS.index(p) <= LEVELS.index(name) for p in LEVELS}}


@dataclass
class OrgData:
    """The org the stand-in serves; tests change it between runs."""

    org: dict[str, Any]
    admins: list[str]
    members: list[str]
    teams: list[dict[str, Any]]
    team_members: dict[str, dict[str, list[str]]]  # slug -> role -> logins
    team_repos: dict[str, list[dict[str, Any]]]
    repos: list[dict[str, Any]]
    secrets: list[dict[str, Any]]
    secret_repos: dict[str, list[str]]
    outside_collaborators: list[str] = field(default_factory=list)

    @property
    def login(self) -> str:
        return self.org["login"]


def settings(login: str) -> dict[str, Any]:
    return {
        "login": login, "id": 1, "node_id": "O_1", "name": login.capitalize(), "company": None, "blog": f"https://{login}.example",
        "location": "Earth", "email": f"hello@{login}.example", "description": f"{login} builds things", "type": "Organization",
        "billing_email": f"admin@{login}.example", "two_factor_requirement_enabled": True, "default_repository_permission": "read",
        "members_can_create_repositories": False, "members_can_create_public_repositories": False,
        "members_can_create_private_repositories": False, "members_can_fork_private_repositories": False,
        "web_commit_signoff_required": False, "has_organization_projects": True, "has_repository_projects": False,
        "plan": {"name": "free", "seats": 0},
    }


@dataclass
class Generated:
    """A generated org and the feedstock maintainers the config declares for it."""

    data: OrgData
    feedstocks: dict[str, list[str]]  # feedstock name -> maintainers
    org_teams: dict[str, dict[str, Any]]  # team name -> {"maintainers", "members", "repositories"}
    identity: str


def generated_org(login: str = "bigorg", repos: int = 28906, teams: int = 29000, members: int = 6000, seed: int = 20) -> Generated:
    """An org of ``repos`` repositories (all but 6 of them feedstocks, each with its own team of one
    to three maintainers), ``teams`` teams (the rest org teams, one of them holding every member so a
    team's member list spans many pages) and ``members`` members (6 owners, 2 bots)."""
    rng = random.Random(seed)
    people = [f"user{i:05d}" for i in range(members - 2)]
    identity, bot = f"{login}-admin", f"{login}-bot"
    admins, plain = people[:6], [*people[6:], identity, bot]
    org_repo_names = ["website", "staged-recipes", "smithy", "docs", "admin-requests", "webservices"]
    all_repos = [repo(n, i, login, description=f"The {n}") for i, n in enumerate(org_repo_names)]
    n_feedstocks = max(0, repos - len(org_repo_names))
    names = [f"pkg{i:05d}" for i in range(n_feedstocks)]
    all_repos += [repo(f"{n}-feedstock", 100 + i, login, description=f"A conda-smithy repository for {n}.") for i, n in enumerate(names)]
    by_name = {r["name"]: r for r in all_repos}
    team_list: list[dict[str, Any]] = []
    team_members: dict[str, dict[str, list[str]]] = {}
    team_repos: dict[str, list[dict[str, Any]]] = {}
    feedstocks: dict[str, list[str]] = {}
    for i, name in enumerate(names[: max(0, teams - 2)]):
        maintainers = sorted(set(rng.sample(people, rng.randint(1, 3))))
        feedstocks[name] = maintainers
        team_list.append(team(name, name, 100 + i, description=f"Maintainers of {name}-feedstock"))
        # as GitHub reports it (compiler.github.team_members): owners maintain, else the team's creator does
        owning = [m for m in maintainers if m in admins]
        team_members[name] = {"maintainer": owning or [identity], "member": [m for m in maintainers if m not in owning]}
        team_repos[name] = [granted(by_name[f"{name}-feedstock"], "push")]
    for name in names[len(feedstocks):]:
        feedstocks[name] = []  # no team of its own yet: `up` would create it
    org_teams: dict[str, dict[str, Any]] = {}
    extra = max(0, teams - len(team_list))
    for j in range(extra):
        name = "core" if j == 0 else "all-members" if j == 1 else f"help-{j:03d}"
        maintainers = list(admins) if j == 0 else []
        listed = people[6:16] if j == 0 else [] if j == 1 else sorted(rng.sample(people[6:], 5))
        grants = {"website": "admin", "staged-recipes": "maintain"} if j == 0 else {}
        team_list.append(team(name, name, 50_000 + j, description=f"The {name} team"))
        on_github = {"maintainer": list(maintainers), "member": plain[:-2] if j == 1 else list(listed)}
        if not maintainers and j != 1:
            on_github["maintainer"] = [identity]
        team_members[name] = on_github
        team_repos[name] = [granted(by_name[r], p) for r, p in grants.items()]
        org_teams[name] = {"description": f"The {name} team", "maintainers": maintainers, "members": listed, "repositories": grants}
    data = OrgData(settings(login), admins, plain, team_list, team_members, team_repos, all_repos, [], {})
    return Generated(data, feedstocks, org_teams, identity)


def write_config(root: Path, generated: Generated, authoritative: dict[str, bool] | None = None, shards: int = 32,
                 feedstocks: dict[str, Any] | None = None) -> Path:
    """A checkout declaring the generated org as it is on GitHub: Pulumi.yaml, org.yaml, one feedstock file."""
    import yaml

    data = generated.data
    login = data.login
    org_dir = root / "stacks" / login
    (org_dir / "feedstocks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    bots = [m for m in data.members if m.startswith(f"{login}-")]
    doc: dict[str, Any] = {
        "org": login,
        "settings": {"billing_email": data.org["billing_email"], "description": data.org["description"], "apply_identity": generated.identity},
        "owners": data.admins,
        "members": [m for m in data.members if m not in bots],
        "bots": bots,
        "teams": {name: {"description": t["description"], **{k: t[k] for k in ("maintainers", "members", "repositories") if t[k]}}
                  for name, t in generated.org_teams.items()},
        "repositories": {r["name"]: {"description": r["description"]} for r in data.repos if not r["name"].endswith("-feedstock")},
        "feedstocks": {**(feedstocks or {}), "shards": shards},
    }
    if authoritative:
        doc["authoritative"] = authoritative
    (org_dir / "org.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    lines = [f"{name}: [{', '.join(m)}]" for name, m in generated.feedstocks.items() if m]
    (org_dir / "feedstocks" / "generated.yaml").write_text("\n".join(lines) + "\n")
    return root
