"""Typed configuration of the dashboard stack (``stacks/dashboard/dashboard.yaml``): Quetz with the
dashboard plugin on AWS. Secret *values* never appear here: only the names of the Secrets Manager
secrets, whose values come from Pulumi config secrets at `up`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..errors import ConfigError
from .loader import OrgDeclaration
from .models import AWS_REGION, S3_BUCKET, Strict
from .stackfile import load_stack_model

DASHBOARD_FILE = Path("stacks") / "dashboard" / "dashboard.yaml"
_DOMAIN = r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
_SECRET_NAME = r"^[A-Za-z0-9/_+=.@-]{1,512}$"
_CONFIG_KEY = r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$"
# the most GitHub's REST API allows one token an hour (a GitHub App installation's ceiling; a personal token: 5,000)
GITHUB_MOST_PER_HOUR = 12_500
# Fargate's valid cpu (units) -> memory (MiB) combinations
FARGATE_SIZES = {256: range(512, 2049, 512), 512: range(1024, 4097, 1024), 1024: range(2048, 8193, 1024),
                 2048: range(4096, 16385, 1024), 4096: range(8192, 30721, 1024)}


class Network(Strict):
    cidr: str = Field(default="10.42.0.0/16", pattern=r"^10\.\d{1,3}\.0\.0/16$")
    availability_zones: list[str] = Field(min_length=2, max_length=3)

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("availability zones are listed more than once")
        return value


class Service(Strict):
    cpu: int = 1024
    memory: int = 2048
    desired_count: int = Field(default=1, ge=1, le=10)
    image_tag: str = Field(default="latest", pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = 30

    @model_validator(mode="after")
    def _fargate(self) -> Service:
        if self.cpu not in FARGATE_SIZES or self.memory not in FARGATE_SIZES[self.cpu]:
            raise ValueError(f"cpu {self.cpu} with memory {self.memory} is not a Fargate size; see FARGATE_SIZES in config/dashboard.py")
        return self


class Database(Strict):
    instance_class: str = Field(default="db.t4g.small", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    max_allocated_storage_gb: int = Field(default=100, ge=20, le=65536)
    engine_version: str = Field(default="16", pattern=r"^1[3-7](\.\d+)?$")
    backup_retention_days: int = Field(default=7, ge=7, le=35)
    multi_az: bool = False
    name: str = Field(default="quetz", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    username: str = Field(default="quetz", pattern=r"^[a-z][a-z0-9_]{0,62}$")


class Storage(Strict):
    bucket: str = Field(pattern=S3_BUCKET)
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)


class Secrets(Strict):
    """Names of the Secrets Manager secrets the stack creates, and the Pulumi config keys
    (`pulumi config set --secret KEY`) their values come from."""

    database_password: str = Field(default="condainfra/dashboard/database-password", pattern=_SECRET_NAME)
    session_secret: str = Field(default="condainfra/dashboard/session-secret", pattern=_SECRET_NAME)
    github_client_secret: str = Field(default="condainfra/dashboard/github-client-secret", pattern=_SECRET_NAME)
    database_password_config: str = Field(default="dashboardDatabasePassword", pattern=_CONFIG_KEY)
    session_secret_config: str = Field(default="dashboardSessionSecret", pattern=_CONFIG_KEY)
    github_client_secret_config: str = Field(default="dashboardGithubClientSecret", pattern=_CONFIG_KEY)
    # a GitHub token (no scopes needed: the data is public) for the refresh's reads of feedstocks' PRs, issues
    # and CI state, 5,000 requests an hour instead of 60, and sync-users' id look-ups. None unless named here,
    # because `up` then needs its Pulumi config secret set
    github_token: str | None = Field(default=None, pattern=_SECRET_NAME)
    github_token_config: str = Field(default="dashboardGithubToken", pattern=_CONFIG_KEY)


class PluginSettings(Strict):
    """The dashboard plugin's own settings in the deployed Quetz (see docs/dashboard.md)."""

    channel: str = Field(default="conda-forge", pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    bot_status: str = Field(default="", pattern=r"^(https://\S+)?$")
    feedstock_outputs: str = Field(default="", pattern=r"^(https://\S+)?$")
    mirror_url: str = Field(default="", pattern=r"^(https://\S+)?$")
    refresh_seconds: int = Field(default=900, ge=30)
    # GitHub API requests each refresh may spend on feedstocks' open PRs, issues and CI state (0: none).
    # 300 a run every 900 s is 1,200 an hour, under a quarter of a token's 5,000 (sync-users' id look-ups,
    # the token's only other user, keep the rest); made one after another, as GitHub asks, 300 take about
    # 45 s at 150 ms each, within the refresh's 90 s. Without a token GitHub's 60 an hour stop the run early.
    github_requests_per_run: int = Field(default=300, ge=0, le=100_000)

    @model_validator(mode="after")
    def _github_hourly(self) -> PluginSettings:
        hourly = self.github_requests_per_run * 3600 // self.refresh_seconds
        if hourly > GITHUB_MOST_PER_HOUR:
            raise ValueError(f"github_requests_per_run {self.github_requests_per_run} every {self.refresh_seconds} s is {hourly:,} requests "
                             f"an hour, above the {GITHUB_MOST_PER_HOUR:,} GitHub grants any token (5,000 a personal token)")
        return self


class DashboardStackConfig(Strict):
    aws_account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=AWS_REGION)
    domain: str = Field(pattern=_DOMAIN, max_length=253)
    github_oauth_client_id: str = Field(pattern=r"^[A-Za-z0-9._-]{8,64}$")
    network: Network
    service: Service = Service()
    database: Database = Database()
    storage: Storage
    secrets: Secrets = Secrets()
    plugin: PluginSettings = PluginSettings()

    @model_validator(mode="after")
    def _zones_in_region(self) -> DashboardStackConfig:
        for zone in self.network.availability_zones:
            if not zone.startswith(self.region) or len(zone) != len(self.region) + 1:
                raise ValueError(f"availability zone {zone!r} is not in region {self.region}")
        if self.database.max_allocated_storage_gb < self.database.allocated_storage_gb:
            raise ValueError("database.max_allocated_storage_gb is below database.allocated_storage_gb")
        return self


def load_dashboard_stack(root: Path, orgs: dict[str, OrgDeclaration] | None = None) -> DashboardStackConfig | None:
    loaded = load_stack_model(root, DASHBOARD_FILE, DashboardStackConfig)
    if loaded is None:
        return None
    config, _, issues = loaded
    if issues:
        raise ConfigError(issues)
    return config
