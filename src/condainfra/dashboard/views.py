"""The shapes the dashboard shows: one set of pydantic models for the pages, the JSON API and
the OpenAPI schema, so the page and `/api/dashboard/...` can never disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 2


class SubdirVersion(BaseModel):
    subdir: str
    version: str = Field(description="newest version in this subdir")
    build_number: int = Field(default=0, description="the newest build number of that version")
    uploaded: datetime | None = Field(default=None, description="the last upload to this subdir")
    lagging: bool = Field(description="older than the package's newest version in any subdir")


class VersionErrorView(BaseModel):
    attempts: float
    excerpt: str = Field(description="the bot's error as plain text, cut to the configured length")
    truncated: bool
    job_url: str | None = Field(description="the bot CI job with the full error")


class MigrationView(BaseModel):
    migration: str
    state: Literal["bot-error", "not-solvable", "in-pr", "awaiting-pr", "awaiting-parents"]
    descendants: int = Field(description="feedstocks that wait, directly or not, on this one in the migration")
    pr_url: str | None = None
    error: str = ""


class BotView(BaseModel):
    version_error: VersionErrorView | None = None
    queued_version: str | None = Field(default=None, description="a new upstream version the bot will open a PR for")
    migrations: list[MigrationView] = Field(default_factory=list)


class MirrorView(BaseModel):
    caught_up: bool | None = Field(description="None when the mirror is not configured or does not carry the package")
    behind: list[str] = Field(default=[], description="subdirs where the mirror lacks the newest version")


class DriftView(BaseModel):
    stack: str
    changes: int = Field(description="resources that drifted in the stack holding this feedstock")
    touches_feedstock: bool


AttentionKind = Literal["migration-blocked", "version-update-failed", "migration-failed", "behind-upstream", "subdir-lagging", "drift", "mirror-behind",
                        "version-queued", "stale"]


class AttentionItem(BaseModel):
    package: str
    channel: str
    kind: AttentionKind
    subject: str = Field(default="", description="what the item is about within the package: the migration, for migration items")
    reason: str
    score: float = Field(description="higher is more urgent; see docs/dashboard.md")
    link: str
    link_label: str = Field(default="open", description="what the link opens, said in words")
    first_seen: datetime | None = Field(default=None, description="when a refresh first saw this item")
    changed_at: datetime | None = Field(default=None, description="when its reason last changed")
    resolved_at: datetime | None = Field(default=None, description="when it ended; resolved items stay listed for a while")


class GithubView(BaseModel):
    open_prs: int | None = None
    open_issues: int | None = None
    ci_state: Literal["success", "failure", "pending", "none"] | None = Field(default=None, description="the default branch's checks, as last read")
    checked_at: datetime | None = None


class PackageView(BaseModel):
    channel: str
    name: str
    feedstock: str | None = None
    org: str | None = None
    feedstock_url: str | None = None
    roles: list[str] = Field(description="why the maintainer sees this package: a Quetz role, 'feedstock', or the team")
    latest_version: str | None = None
    upstream_version: str | None = Field(default=None, description="the newest upstream version the autotick bot knows of")
    behind_upstream: bool = Field(default=False, description="the upstream version is newer than the channel's newest")
    subdirs: list[SubdirVersion] = Field(default_factory=list)
    lagging_subdirs: list[str] = Field(default_factory=list)
    downloads_total: int = 0
    downloads_30d: int = 0
    last_upload: datetime | None = None
    days_since_upload: int | None = None
    bot: BotView = Field(default_factory=BotView)
    mirror: MirrorView = Field(default_factory=lambda: MirrorView.model_construct(caught_up=None, behind=[]))
    drift: DriftView | None = None
    github: GithubView = Field(default_factory=GithubView)
    in_channel: bool = Field(description="False when the feedstock is declared but Quetz has no such package")


class Listing(BaseModel):
    """How the package table was cut: sorted, filtered and paged on the server."""
    sort: Literal["state", "name", "downloads", "upload"] = "state"
    state: Literal["all", "attention", "ok", "behind-upstream", "lagging", "failing"] = "all"
    name: str = ""
    page: int = 1
    per_page: int = 50
    total: int = Field(default=0, description="packages that pass the filter")
    pages: int = 1


class MaintainerView(BaseModel):
    schema_version: int = SCHEMA_VERSION
    login: str = Field(description="the maintainer's login, or org/team for a team page")
    team: bool = False
    members: list[str] = Field(default=[], description="a team page's members")
    description: str = Field(default="", description="a team page's team, as org.yaml describes it")
    generated_at: datetime
    refreshed_at: datetime | None = Field(default=None, description="the last refresh of the signals")
    package_count: int = Field(default=0, description="every package, before filtering and paging")
    listing: Listing = Field(default_factory=Listing)
    packages: list[PackageView] = Field(description="this page of packages")
    attention: list[AttentionItem]
    attention_total: int = 0
    attention_by_kind: dict[str, int] = {}
    resolved: list[AttentionItem] = Field(default=[], description="items that ended in the last days")
    snoozed: list[AttentionItem] = Field(default=[], description="items the maintainer snoozed, with until in resolved_at")
    can_snooze: bool = Field(default=False, description="the viewer is this maintainer, signed in")
    stale_sources: list[str] = Field(default=[], description="signal sources whose last refresh reported problems")


class MaintainerSummary(BaseModel):
    login: str
    packages: int
    needing_attention: int | None = None


class PackageHit(BaseModel):
    channel: str
    name: str
    score: float = 0.0


class MigrationSummary(BaseModel):
    migration: str
    total: int
    done: int
    in_pr: int
    awaiting_pr: int
    awaiting_parents: int = Field(description="feedstocks the migration cannot reach yet")
    failed: int


class LaggingFeedstock(BaseModel):
    package: str
    channel: str
    kind: str
    reason: str
    since: datetime


class SourceHealth(BaseModel):
    source: str
    refreshed_at: datetime | None
    problems: list[str] = []


class Overview(BaseModel):
    schema_version: int = SCHEMA_VERSION
    query: str = ""
    total: int = Field(description="maintainers matching the query (all known maintainers without one)")
    maintainers: list[MaintainerSummary]
    packages: list[PackageHit] = Field(default=[], description="packages matching the query")
    counts: dict[str, int] = Field(default={}, description="maintainers, packages and feedstocks the last refresh knew")
    attention_by_kind: dict[str, int] = {}
    busiest: list[MaintainerSummary] = Field(default=[], description="the maintainers with the most packages needing attention")
    migrations: list[MigrationSummary] = Field(default=[], description="the migrations with the most feedstocks still waiting")
    lagging: list[LaggingFeedstock] = Field(default=[], description="what has been behind longest")
    health: list[SourceHealth] = []
    refreshed_at: datetime | None = None
    sources: dict[str, list[str]] = Field(default={}, description="problems of the last refresh, per source")
