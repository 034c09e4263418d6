"""Typed configuration of a GitHub organization, as written in ``stacks/<org>/``.

Every model forbids unknown keys: a typo in a YAML file must fail review, not
silently fall back to a default that changes a production org.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Python's `$` also matches before a trailing newline: every regex here is applied with fullmatch.
# GitHub's rule for new accounts: 1-39 alphanumerics or single inner hyphens.
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# An `org/team` reference in a recipe's maintainers list.
TEAM_REFERENCE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)$")
# A team name as GitHub accepts it: any printable text (`/`, `.`, spaces included) that does not start
# or end with a space; its slug (checks.team_slug) must not be empty.
TEAM_NAME = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$")
# A recipe maintainer written as an e-mail address (`a@b.org` or `Some One <a@b.org>`): kept, never granted.
EMAIL_MAINTAINER = re.compile(r"^(?:[^<>@]*<)?[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>?$")
REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# conda package names, which feedstock names follow (a few old ones carry capitals).
_PACKAGE_CHARS = "A-Za-z0-9._-"
FEEDSTOCK_NAME = re.compile(rf"^[A-Za-z0-9_][{_PACKAGE_CHARS}]{{0,89}}$")
# `mirror sync --package`: an fnmatch glob over package-name characters. Never starts like a flag.
PACKAGE_GLOB = re.compile(rf"^[A-Za-z0-9_*?][*?{_PACKAGE_CHARS}]{{0,99}}$")
# An http(s) channel: a host name, IPv4 or [IPv6], a port, a path of unreserved characters and %-escapes.
# No userinfo (credentials stay out of git), no query or fragment, nothing a shell or YAML reads specially.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
CHANNEL_URL = re.compile(
    rf"^https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?(?:/(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{{2}})*)*$"
)
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_SOURCE = re.compile(r"^(config|env):[A-Za-z0-9_.:-]+$")
# GitHub topics: lowercase letters, digits and hyphens, at most 50 characters, not starting with a hyphen.
TOPIC = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")

# GitHub's limits, so that validate refuses what the API would refuse (or silently cut) at `up`:
# * repository names, 100 characters: REPO_NAME above (docs.github.com, "About repositories");
# * team names, 255 characters; longer ones are truncated, not refused (confirmed by GitHub support,
#   collected in github.com/dead-claudia/github-limits);
# * repository descriptions, 350 characters: the REST API answers 422 "description is too long
#   (maximum is 350 characters)";
# * topics, 20 per repository, each matching TOPIC (docs.github.com, "Classifying your repository
#   with topics").
MAX_TEAM_NAME = 255
MAX_REPO_DESCRIPTION = 350
MAX_TOPICS = 20


def _login(value: str) -> str:
    if not GITHUB_LOGIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid GitHub login")
    return value


def check_maintainer(value: str) -> str:
    """The rule for a recipe maintainer (the loader also applies it to plain lists without a model)."""
    if "@" in value and EMAIL_MAINTAINER.fullmatch(value):
        return value  # validate warns: an address is not a GitHub account, nothing is granted
    if "/" in value:
        if not TEAM_REFERENCE.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid org/team reference")
        return value
    return _login(value)


def matching(regex: re.Pattern[str], what: str) -> AfterValidator:
    """A field validator whose message names what the value should have been."""

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


Login = Annotated[str, AfterValidator(_login)]
Maintainer = Annotated[str, AfterValidator(check_maintainer)]
RepoName = Annotated[str, matching(REPO_NAME, "repository name")]
Topic = Annotated[str, matching(TOPIC, "topic")]
Topics = Annotated[list[Topic], Field(max_length=MAX_TOPICS)]
RepoDescription = Annotated[str, Field(max_length=MAX_REPO_DESCRIPTION)]
Permission = Literal["pull", "triage", "push", "maintain", "admin"]
FeedstockName = Annotated[str, matching(FEEDSTOCK_NAME, "feedstock name")]


def _unique(value: list[str]) -> list[str]:
    if len({v.lower() for v in value}) != len(value):
        raise ValueError("names are listed more than once")
    return value


# earlier names of a team, repository or feedstock (as peribolos' `previously`): a rename, not delete + create
Previously = Annotated[list[str], AfterValidator(_unique)]


class Strict(BaseModel):
    """Defaults here only shape validation: the compiler sends a field only when the YAML sets it
    (`model_fields_set`), so adopting an org never overwrites what the config does not mention."""

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
    # the org's profile: display name, public e-mail, location, company
    name: str = ""
    email: str = Field(default="", pattern=r"^(?:[^@\s]+@[^@\s]+)?$")
    location: str = ""
    company: str = ""
    # projects: the org's own (projects v2 boards) and those of its repositories
    has_organization_projects: bool = True
    has_repository_projects: bool = True
    # the login `up` runs as: GitHub makes it a maintainer of each team it creates, so every team
    # that declares no other maintainer gets it as its maintainer (else a refresh always differs)
    apply_identity: Login | None = None


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
    ruleset: Ruleset | None = None
    description: str = "A conda-smithy repository for {name}."
    homepage: str = "https://conda-forge.org"
    topics: Topics = []
    # the permission a feedstock's own team (and referenced teams) get on its repository
    team_permission: Permission = "push"
    # how many stacks feedstocks are spread over; see docs/sharding.md before changing it
    shards: int = Field(default=1, ge=1, le=256)

    @field_validator("description")
    @classmethod
    def _template(cls, value: str) -> str:
        # filled in with str.format at compile time: any other field would fail there, not here
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid template: {exc}") from None
        if any(f != "name" or spec or conv for f, spec, conv in fields):
            raise ValueError("only {name} may be filled in")
        return value

    def description_of(self, name: str) -> str:
        return self.description.format(name=name)


class Repository(Strict):
    # false: a repository of the org that the config only refers to (team grants); never created or changed
    manage: bool = True
    previously: Annotated[list[RepoName], AfterValidator(_unique)] = []
    description: RepoDescription = ""
    homepage: str = ""
    visibility: Literal["public", "private"] = "public"
    archived: bool = False
    default_branch: str = "main"
    topics: Topics = []
    features: RepositoryFeatures = RepositoryFeatures()
    ruleset: Ruleset | None = None

    @model_validator(mode="after")
    def _reference_only(self) -> Repository:
        if not self.manage and self.model_fields_set - {"manage"}:
            raise ValueError("a reference-only repository (manage: false) takes no other settings")
        return self


class Team(Strict):
    description: str = ""
    privacy: Literal["closed", "secret"] = "closed"
    parent: str | None = None
    maintainers: list[Login] = []
    members: list[Login] = []
    repositories: dict[RepoName, Permission] = {}
    previously: Previously = []


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


class Authoritative(Strict):
    """Opt-in per org: what GitHub holds and this config does not declare is reported by `drift` and
    removed by `up` within the safety rails (peribolos' --fix-org-members / --fix-team-repos)."""

    members: bool = False  # org members and owners not listed under owners, members or bots
    team_repos: bool = False  # a team's grant on a repository that no team entry or feedstock gives
    outside_collaborators: bool = False  # every outside collaborator of the org's repositories


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
    authoritative: Authoritative = Authoritative()

    @field_validator("owners")
    @classmethod
    def _some_owner(cls, value: list[str]) -> list[str]:
        # the plan's rail asks for two, and can be overridden; no owner at all locks the org out
        if not value:
            raise ValueError("an org needs at least one owner")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: dict[str, Secret]) -> dict[str, Secret]:
        for name in value:
            if not SECRET_NAME.fullmatch(name) or name.upper().startswith("GITHUB_"):
                raise ValueError(f"{name!r} is not a valid Actions secret name")
        return value


class FeedstockEntry(Strict):
    maintainers: list[Maintainer]
    archived: bool = False
    # the team the feedstock's maintainers form, when not named after the feedstock: a team org.yaml
    # declares (shared, owned by the org stack) or a name of its own (to resolve a slug collision)
    team: str | None = None  # its name is checked as every team name is (checks.py)
    # the feedstock's earlier names, oldest first: the first is the one that placed it in its shard
    previously: Annotated[list[FeedstockName], AfterValidator(_unique)] = []
    # written only to confirm an unusual repository name: a key ending in `-feedstock` (a few real
    # conda-forge repositories are `<x>-feedstock-feedstock`) is refused unless this names it in full
    repository: str | None = None


class Feedstock(Strict):
    """One feedstock after loading: where it was declared is kept for error messages."""

    name: str
    maintainers: tuple[str, ...]
    archived: bool = False
    team: str | None = None
    previously: tuple[str, ...] = ()
    repository: str | None = None  # as confirmed in the file (FeedstockEntry.repository)

    @property
    def team_name(self) -> str:
        return self.team or self.name

    @property
    def shard_key(self) -> str:
        """The name to place it in a shard by: its first name, so that a rename stays in its stack
        (an alias cannot cross stacks)."""
        return self.previously[0] if self.previously else self.name


# AWS names shared by the stacks that have AWS resources
AWS_REGION = r"^[a-z]{2}(-[a-z]+)+-\d$"
S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
