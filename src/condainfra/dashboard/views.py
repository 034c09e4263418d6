"""The shapes the dashboard shows: one set of pydantic models for the pages, the JSON API and
the OpenAPI schema, so the page and `/api/dashboard/...` can never disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


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


class AttentionItem(BaseModel):
    package: str
    channel: str
    kind: Literal["migration-blocked", "version-update-failed", "migration-failed", "subdir-lagging", "drift", "mirror-behind", "version-queued", "stale"]
    reason: str
    score: float = Field(description="higher is more urgent; see docs/dashboard.md")
    link: str


class PackageView(BaseModel):
    channel: str
    name: str
    feedstock: str | None = None
    org: str | None = None
    feedstock_url: str | None = None
    roles: list[str] = Field(description="why the maintainer sees this package: a Quetz role, 'feedstock', or the team")
    latest_version: str | None = None
    subdirs: list[SubdirVersion] = Field(default_factory=list)
    lagging_subdirs: list[str] = Field(default_factory=list)
    downloads_total: int = 0
    downloads_30d: int = 0
    last_upload: datetime | None = None
    days_since_upload: int | None = None
    bot: BotView = Field(default_factory=BotView)
    mirror: MirrorView = Field(default_factory=lambda: MirrorView(caught_up=None))
    drift: DriftView | None = None
    in_channel: bool = Field(description="False when the feedstock is declared but Quetz has no such package")


class MaintainerView(BaseModel):
    schema_version: int = SCHEMA_VERSION
    login: str
    generated_at: datetime
    packages: list[PackageView]
    attention: list[AttentionItem]
    stale_sources: list[str] = Field(default=[], description="signal sources whose last refresh reported problems")


class MaintainerSummary(BaseModel):
    login: str
    packages: int


class Overview(BaseModel):
    schema_version: int = SCHEMA_VERSION
    query: str = ""
    total: int
    maintainers: list[MaintainerSummary]
    sources: dict[str, list[str]] = Field(default={}, description="problems of the last refresh, per source")
