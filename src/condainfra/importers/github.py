"""A live org, read through the GitHub API, into ``stacks/<org>/org.yaml`` and feedstock files.

What is read, and where it goes (the org's members, repositories and teams in one bulk read,
``importers.github_reader``: GraphQL by cursor, tens to hundreds of points for an org of any size;
the rest through REST with conditional requests):

* ``GET /orgs/{org}``: ``settings``, every one GitHub shows written out (a setting the config does
  not write is not managed) (``billing_email``, ``two_factor_requirement_enabled``,
  ``default_repository_permission``, ``members_can_create_*repositories``,
  ``members_can_fork_private_repositories``, ``web_commit_signoff_required``, ``description``,
  ``blog``, ``name``, ``email``, ``location``, ``company``, ``has_*_projects``: those the config has).
* ``membersWithRole``: ``owners`` (ADMIN) and ``members``; a member already listed under ``bots:``
  stays there (GitHub cannot tell a bot from a person).
* ``repositories``: those named ``*-feedstock`` become feedstocks (with ``archived``); the others
  ``repositories:``. One new to the config is written reference-only (``manage: false``:
  grantable, never changed), so that adopting an org starts managing nothing nobody reviewed,
  unless an org secret is scoped to it (which needs a managed repository); one the config manages
  gets GitHub's values for the fields it spells out or that differ from the defaults.
* ``teams`` with their members (role) and repository grants: ``teams:`` with description, privacy,
  parent, maintainers, members and repository permissions. A feedstock's own team (the slug of its
  name, not declared in ``org.yaml``) is not a team entry: its members are the feedstock's
  maintainers, and an org team granted a feedstock at the feedstocks' ``team_permission`` is
  written as the maintainer ``org/team`` (importers/github_live.py, github_merge.py).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..config.loader import ORG_FILE
from ..config.yamlfile import declared, load_yaml, not_a_file
from ..errors import ConfigError, display_path
from .github_api import GitHubClient
from .github_live import read_org
from .github_merge import GitHubImport, load_round_trip, build_import
from .writer import round_trip_yaml


async def fetch(client: GitHubClient, org: str, existing_text: str | None, prune: bool = False) -> GitHubImport:
    warnings: list[str] = []
    declared: set[str] = set()
    if existing_text:
        data = load_round_trip(round_trip_yaml(), existing_text, org)
        if isinstance(data, dict) and isinstance(data.get("teams"), dict):
            declared = {str(t) for t in data["teams"]}
    live = await read_org(client, org, declared, warnings)
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
    return doc.text  # the bytes checked above, not a second read that may differ


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
    total: Callable[[int], None] = lambda _: None,  # the bulk read's page count is not known ahead: not called
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
            return await fetch(client, org, existing, prune)

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
