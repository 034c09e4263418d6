"""Typed configuration of a GitHub organization, as written in ``stacks/<org>/``.

Every model forbids unknown keys: a typo in a YAML file must fail review, not
silently fall back to a default that changes a production org.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# GitHub's rule for new accounts: 1-39 alphanumerics or single inner hyphens.
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# An `org/team` reference in a recipe's maintainers list.
TEAM_REFERENCE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)$")
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")
REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# conda package names, which feedstock names follow (a few old ones carry capitals).
FEEDSTOCK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,89}$")
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_SOURCE = re.compile(r"^(config|env):[A-Za-z0-9_.:-]+$")


def _login(value: str) -> str:
    if not GITHUB_LOGIN.match(value):
        raise ValueError(f"{value!r} is not a valid GitHub login")
    return value


def _maintainer(value: str) -> str:
    if "/" in value:
        if not TEAM_REFERENCE.match(value):
            raise ValueError(f"{value!r} is not a valid org/team reference")
        return value
    return _login(value)


def _pattern(regex: re.Pattern[str], what: str):
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


Login = Annotated[str, AfterValidator(_login)]
Maintainer = Annotated[str, AfterValidator(_maintainer)]
RepoName = Annotated[str, _pattern(REPO_NAME, "repository name")]
Permission = Literal["pull", "triage", "push", "maintain", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrgSettings(Strict):
    billing_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    two_factor_required: bool = True
    default_member_permission: Literal["none", "read", "write", "admin"] = "read"
    # who may create repositories: nobody but owners, or members for the given visibility
    repository_creation: Literal["owners", "private", "public", "all"] = "owners"
    members_can_fork_private_repositories: bool = False
    web_commit_signoff_required: bool = False
    description: str = ""
    blog: str = ""


class Ruleset(Strict):
    name: str = "protect-default-branch"
    enforcement: Literal["active", "evaluate", "disabled"] = "active"
    block_deletion: bool = True
    block_force_push: bool = True


class RepositoryFeatures(Strict):
    has_issues: bool = True
    has_wiki: bool = False
    has_projects: bool = False
    has_discussions: bool = False
    allow_merge_commit: bool = True
    allow_squash_merge: bool = True
    allow_rebase_merge: bool = True
    allow_auto_merge: bool = False
    delete_branch_on_merge: bool = True
    vulnerability_alerts: bool = False


class FeedstockDefaults(Strict):
    default_branch: str = "main"
    features: RepositoryFeatures = RepositoryFeatures()
    ruleset: Ruleset | None = Ruleset()
    description: str = "A conda-smithy repository for {name}."
    homepage: str = "https://conda-forge.org"
    topics: list[str] = []
    # the permission a feedstock's own team (and referenced teams) get on its repository
    team_permission: Permission = "push"
    # how many stacks feedstocks are spread over; see docs/sharding.md before changing it
    shards: int = Field(default=1, ge=1, le=256)


class Repository(Strict):
    description: str = ""
    homepage: str = ""
    visibility: Literal["public", "private"] = "public"
    archived: bool = False
    default_branch: str = "main"
    topics: list[str] = []
    features: RepositoryFeatures = RepositoryFeatures()
    ruleset: Ruleset | None = Ruleset()


class Team(Strict):
    description: str = ""
    privacy: Literal["closed", "secret"] = "closed"
    parent: str | None = None
    maintainers: list[Login] = []
    members: list[Login] = []
    repositories: dict[RepoName, Permission] = {}


class Secret(Strict):
    visibility: Literal["all", "private", "selected"] = "private"
    repositories: list[RepoName] = []
    # where the value comes from at `up`: a Pulumi secret config key or an environment variable
    source: str | None = Field(default=None, pattern=SECRET_SOURCE.pattern)

    @field_validator("repositories")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("repositories are listed more than once")
        return value


class OrgConfig(Strict):
    org: Login
    settings: OrgSettings
    owners: list[Login]
    members: list[Login] = []
    bots: list[Login] = []
    teams: dict[str, Team] = {}
    repositories: dict[RepoName, Repository] = {}
    secrets: dict[str, Secret] = {}
    feedstocks: FeedstockDefaults | None = None

    @field_validator("teams")
    @classmethod
    def _team_names(cls, value: dict[str, Team]) -> dict[str, Team]:
        for name in value:
            if not TEAM_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid team name")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: dict[str, Secret]) -> dict[str, Secret]:
        for name in value:
            if not SECRET_NAME.match(name) or name.upper().startswith("GITHUB_"):
                raise ValueError(f"{name!r} is not a valid Actions secret name")
        return value


class FeedstockEntry(Strict):
    maintainers: list[Maintainer]
    archived: bool = False


class Feedstock(Strict):
    """One feedstock after loading: where it was declared is kept for error messages."""

    name: str
    maintainers: tuple[str, ...]
    archived: bool = False
