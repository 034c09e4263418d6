"""Typed configuration of the mirror stack (``stacks/mirror/mirror.yaml``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..errors import ConfigError
from ..subdirs import KNOWN_SUBDIRS, SUBDIR
from .dashboard import _DOMAIN as DOMAIN
from .dashboard import FARGATE_SIZES, Network
from .models import AWS_REGION, CHANNEL_URL, PACKAGE_GLOB, S3_BUCKET, Login, Strict, matching
from .stackfile import load_stack_model

MIRROR_FILE = Path("stacks") / "mirror" / "mirror.yaml"
# Every value here ends up in the generated mirror-sync.yml, which holds the AWS role: each has a grammar
# that leaves no room for shell or YAML syntax, and the workflow still passes them through env: quoted.
# Five cron fields, single spaces: no quote or newline to break out of the workflow's `cron: "..."`.
_CRON = re.compile(r"^[0-9A-Za-z*/,?#-]+(?: [0-9A-Za-z*/,?#-]+){4}$")
_OCI_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
# git's ref grammar, narrowed: no `..`, no leading or trailing `/` or `.`
_BRANCH = re.compile(r"^(?!.*\.\.)(?!.*//)[A-Za-z0-9_][A-Za-z0-9._/-]*(?<![./])$")


def _channel_url(value: str) -> str:
    match = CHANNEL_URL.fullmatch(value)
    if not match or int(match["port"] or 1) not in range(1, 65536):
        raise ValueError(f"{value!r} is not a valid http(s) channel URL (no credentials, query or special characters)")
    return value


ChannelUrl = Annotated[str, AfterValidator(_channel_url)]
Subdir = Annotated[str, matching(SUBDIR, "subdir")]
PackageGlob = Annotated[str, matching(PACKAGE_GLOB, "package name glob")]


class MirroredChannel(Strict):
    name: str = Field(pattern=f"^{_OCI_COMPONENT}$")
    # http(s) only: the sync job runs on a fresh runner, where a local folder would not exist
    source: ChannelUrl
    subdirs: list[Subdir] = []
    packages: list[PackageGlob] = []


class Storage(Strict):
    bucket: str = Field(pattern=S3_BUCKET)
    region: str = Field(pattern=AWS_REGION)
    # timestamped repodata tags older than this are expired; `latest` never is
    old_repodata_days: int = Field(default=30, ge=1, le=3650)
    noncurrent_version_days: int = Field(default=14, ge=1, le=3650)
    kms_key_arn: str | None = None


class SyncJob(Strict):
    aws_account_id: str = Field(pattern=r"^\d{12}$")
    role_name: str = Field(default="condainfra-mirror-sync", pattern=r"^[\w+=,.@-]{1,64}$")
    # the repository whose workflow runs `mirror sync`, and the ref allowed to assume the role
    repository: str = Field(pattern=r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
    branch: Annotated[str, matching(_BRANCH, "branch name")] = "main"
    schedule: str = "17 */2 * * *"
    jobs: int = Field(default=16, ge=1, le=256)
    create_oidc_provider: bool = False

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _CRON.fullmatch(value):
            raise ValueError(f"{value!r} is not a five-field cron schedule")
        return value


class GhcrReadPath(Strict):
    """The workflow also pushes to oci://ghcr.io/<org>/<registry_prefix> with its own token (packages: write)."""

    org: Login


class RegistryReadPath(Strict):
    """distribution in read-only mode over the bucket, on ECS Fargate behind an HTTPS load balancer; blob
    downloads are redirected to S3 (presigned URLs), so package bytes never pass through the task."""

    domain: str = Field(pattern=DOMAIN, max_length=253)
    network: Network
    image: str = Field(default="public.ecr.aws/docker/library/registry:2.8.3", pattern=r"^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
    cpu: int = 512
    memory: int = 1024
    desired_count: int = Field(default=2, ge=1, le=20)
    log_retention_days: Literal[7, 14, 30, 90, 365] = 30

    @model_validator(mode="after")
    def _fargate(self) -> RegistryReadPath:
        if self.cpu not in FARGATE_SIZES or self.memory not in FARGATE_SIZES[self.cpu]:
            raise ValueError(f"cpu {self.cpu} with memory {self.memory} is not a Fargate size; see FARGATE_SIZES in config/dashboard.py")
        return self


class ReadPaths(Strict):
    """Where clients read the mirror; ``order`` is the priority `mirror client-config` lists them in."""

    order: list[Literal["ghcr", "registry"]] = Field(min_length=1)
    ghcr: GhcrReadPath | None = None
    registry: RegistryReadPath | None = None

    @model_validator(mode="after")
    def _declared(self) -> ReadPaths:
        for name in self.order:
            if getattr(self, name) is None:
                raise ValueError(f"order lists {name!r}, which has no section here")
        if len(set(self.order)) != len(self.order):
            raise ValueError("order lists a read path twice")
        for name in ("ghcr", "registry"):
            if getattr(self, name) is not None and name not in self.order:
                raise ValueError(f"{name!r} is declared but not in order")
        return self


MAX_MATRIX = 256  # GitHub's limit on the jobs of one matrix


class MirrorConfig(Strict):
    registry_prefix: str = Field(default="mirrors", pattern=f"^{_OCI_COMPONENT}(?:/{_OCI_COMPONENT})*$")
    storage: Storage
    sync: SyncJob
    channels: list[MirroredChannel]
    owner: Login | None = None  # GitHub org of the workflow repository (default: from sync.repository)
    runtime: Literal["docker-registry"] = "docker-registry"
    # jobs per (channel, subdir) that sync at once; a subdir not named here is one job (docs/mirror.md: sizing)
    shards: dict[str, dict[Subdir, Annotated[int, Field(ge=1, le=64)]]] = {}
    read: ReadPaths

    @model_validator(mode="after")
    def _shards(self) -> MirrorConfig:
        channels = {c.name: c for c in self.channels}
        for name, subdirs in self.shards.items():
            if name not in channels:
                raise ValueError(f"shards: {name!r} is not a channel of this file")
            unknown = sorted(set(subdirs) - set(channels[name].subdirs or KNOWN_SUBDIRS))
            if unknown:
                raise ValueError(f"shards.{name}: {', '.join(unknown)} not among the channel's subdirs")
        jobs = sum(self.shard_count(c.name, s) for c in self.channels for s in (c.subdirs or KNOWN_SUBDIRS))
        if jobs > MAX_MATRIX:
            raise ValueError(f"shards: {jobs} sync jobs; GitHub runs at most {MAX_MATRIX} in one matrix")
        return self

    def shard_count(self, channel: str, subdir: str) -> int:
        return self.shards.get(channel, {}).get(subdir, 1)


def load_mirror(root: Path) -> MirrorConfig | None:
    loaded = load_stack_model(root, MIRROR_FILE, MirrorConfig)
    if loaded is None:
        return None
    config, doc, issues = loaded
    if config is not None:
        names = [c.name for c in config.channels]
        for i, name in enumerate(names):
            if names.index(name) != i:
                issues.append(doc.issue(("channels", i, "name"), f"channels.{i}.name: channel {name!r} is listed twice"))
    if issues:
        raise ConfigError(issues)
    return config

