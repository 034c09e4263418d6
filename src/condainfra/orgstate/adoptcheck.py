"""Before an import: every import ID checked against one bulk read of the org. `pulumi import`
fails whole on a single ID that does not exist (a repository deleted since the config was written,
a member who left), so each such resource is left out of the file, said, and created by the first
`up` instead. A stack already adopted is skipped by `up --adopt`, so an interrupted adoption goes on
shard by shard where it stopped."""

from __future__ import annotations

import os
from typing import Callable

from ..compiler import github as gh
from ..compiler.resources import Resource
from ..compiler.stacks import StackSpec
from ..importers.github_reader import OrgState
from ..plan.adopt import ImportFile, drop_missing
from .session import Session


def id_exists(state: OrgState) -> Callable[[Resource, str], bool | None]:
    """Whether the org has the resource an import ID names; None for a kind the bulk read does not cover."""
    logins = {m.lower() for m in state.members}

    def exists(r: Resource, import_id: str) -> bool | None:
        if r.type in (gh.REPOSITORY, gh.VULNERABILITY_ALERTS):
            return import_id in state.repositories
        if r.type in (gh.TEAM, gh.TEAM_MEMBERS):
            return import_id in state.teams
        if r.type == gh.TEAM_REPOSITORY:
            slug, _, repo = import_id.partition(":")
            return slug in state.teams and repo in state.teams[slug].repositories
        if r.type == gh.MEMBERSHIP:
            return import_id.partition(":")[2].lower() in logins
        return None

    return exists


def check_import_file(spec: StackSpec, built: ImportFile, session: Session) -> str | None:
    """Drop what the org lacks from ``built``; a notice when anything was dropped."""
    if not spec.org:
        return None
    if not os.environ.get("GITHUB_TOKEN"):  # the provider may have its token from the stack's config
        return f"{spec.name}: import IDs not checked against GitHub (GITHUB_TOKEN is not set); one missing fails the whole import"
    state = session.read([spec.org])[spec.org]
    dropped = drop_missing(built, id_exists(state))
    return f"{spec.name}: {dropped} resource(s) of the import file are not on GitHub: left out, the first `up` creates them" if dropped else None
