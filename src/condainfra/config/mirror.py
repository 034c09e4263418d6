"""Typed configuration of the mirror stack (``stacks/mirror/mirror.yaml``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ..errors import ConfigError, display_path
from .loader import validate_model
from .models import Login, Strict
from .yamlfile import load_yaml

MIRROR_FILE = Path("stacks") / "mirror" / "mirror.yaml"
_CRON = re.compile(r"^(\S+\s+){4}\S+$")
_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_OCI_COMPONENT = r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$"


class MirroredChannel(Strict):
    name: str = Field(pattern=_OCI_COMPONENT)
    source: str = Field(pattern=r"^https?://")
    subdirs: list[str] = []
    packages: list[str] = []


class Storage(Strict):
    bucket: str = Field(pattern=_BUCKET)
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # timestamped repodata tags older than this are expired; `latest` never is
    old_repodata_days: int = Field(default=30, ge=1, le=3650)
    noncurrent_version_days: int = Field(default=14, ge=1, le=3650)
    kms_key_arn: str | None = None


class SyncJob(Strict):
    aws_account_id: str = Field(pattern=r"^\d{12}$")
    role_name: str = Field(default="condainfra-mirror-sync", pattern=r"^[\w+=,.@-]{1,64}$")
    # the repository whose workflow runs `mirror sync`, and the ref allowed to assume the role
    repository: str = Field(pattern=r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
    branch: str = "main"
    schedule: str = "17 */2 * * *"
    jobs: int = Field(default=16, ge=1, le=256)
    create_oidc_provider: bool = False

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _CRON.match(value.strip()):
            raise ValueError(f"{value!r} is not a five-field cron schedule")
        return value


class MirrorConfig(Strict):
    registry_prefix: str = Field(default="mirrors", pattern=r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")
    storage: Storage
    sync: SyncJob
    channels: list[MirroredChannel]
    owner: Login | None = None  # GitHub org of the workflow repository (default: from sync.repository)
    runtime: Literal["docker-registry"] = "docker-registry"


def load_mirror(root: Path) -> MirrorConfig | None:
    path = root / MIRROR_FILE
    if not path.is_file():
        return None
    doc, issues = load_yaml(path, display_path(path, root))
    if doc is None:
        raise ConfigError(issues)
    config, model_issues = validate_model(MirrorConfig, doc, doc.data if doc.data is not None else {})
    issues += model_issues
    if config is not None:
        names = [c.name for c in config.channels]
        for i, name in enumerate(names):
            if names.index(name) != i:
                issues.append(doc.issue(("channels", i, "name"), f"channels.{i}.name: channel {name!r} is listed twice"))
    if issues:
        raise ConfigError(issues)
    return config

