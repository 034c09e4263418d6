"""The dashboard's own settings: the ``[condainfra_dashboard]`` section of Quetz's config.toml.

Values come from a deployment's config file, which an operator (or ``dashboard serve``)
writes; they are checked like every other config, and a bad one names its key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import CondainfraError

SECTION = "condainfra_dashboard"


class DashboardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Quetz "dev mode": only then is Quetz's /api/dummylogin reachable. Never on a real deployment.
    dev_mode: bool = False
    # the condainfra checkout whose stacks/ declare orgs and feedstock maintainers
    project_root: str = ""
    # the autotick bot's status folder (cf-graph's status/ layout): a local folder or an http(s) URL
    bot_status: str = ""
    # feedstock_outputs.json (output -> feedstocks); without it a feedstock's package is its own name
    feedstock_outputs: str = ""
    # a conda channel base URL or folder whose repodata is the mirror's (e.g. `condainfra mirror serve`)
    mirror_url: str = ""
    # the Quetz channel the feedstocks publish to (and the mirror copies)
    channel: str = "conda-forge"
    # the org (in stacks/) whose feedstocks and owners belong to that channel; default: the channel's name
    org: str = ""
    # the last `condainfra drift --format json` report (plan JSON shape); optional
    drift_report: str = ""
    # GitHub ids of maintainers (login -> numeric id) for `sync-users`; resolved through the API when missing
    github_ids: str = ""
    github_api: str = "https://api.github.com"
    # GitHub API requests each refresh may spend on feedstocks' open PRs, issues and CI state (0: not read);
    # without GITHUB_TOKEN GitHub allows 60 an hour, so the counts are refreshed more slowly
    github_requests_per_run: int = Field(default=0, ge=0, le=100_000)
    refresh_seconds: int = Field(default=900, ge=30)
    # fetch limits of each refresh, as `--limit` takes them (e.g. ["status=128MiB", "run=20m"]); docs/operations.md
    limits: list[str] = Field(default_factory=list, max_length=50)
    # how many characters of a bot error a page shows before linking to the full job
    error_excerpt: int = Field(default=400, ge=40, le=20_000)


PATH_KEYS = ("project_root", "bot_status", "feedstock_outputs", "mirror_url", "drift_report", "github_ids")


def parse_settings(raw: dict | None, where: str = f"[{SECTION}]") -> DashboardSettings:
    try:
        return DashboardSettings.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise CondainfraError(f"{where}: {problems}") from None


def resolve(base: Path, value: str) -> str:
    """A relative local path in the config is relative to the deployment folder; URLs stay as they are."""
    if not value or "://" in value:
        return value
    path = Path(value)
    return str(path if path.is_absolute() else (base / path))


def resolved(settings: DashboardSettings, base: Path) -> DashboardSettings:
    """The settings with relative paths made relative to the deployment folder ``base``."""
    return settings.model_copy(update={key: resolve(base, getattr(settings, key)) for key in PATH_KEYS})


def channel_org(settings: DashboardSettings) -> str:
    return settings.org or settings.channel
