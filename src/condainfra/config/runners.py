"""Typed configuration of the CI runners stack (``stacks/runners/runners.yaml``).

GitHub Actions runner groups per org (which repositories may use them) and the
AWS pools of ephemeral self-hosted runners that register into those groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from ..errors import ConfigError, ConfigIssue
from .checks import _is_feedstock_repo
from .loader import validate_model
from .models import AWS_REGION, REPO_NAME, Login, RepoName, Strict
from .stackfile import open_stack_file
from .yamlfile import YamlDocument

if TYPE_CHECKING:
    from .loader import OrgDeclaration

RUNNERS_FILE = Path("stacks") / "runners" / "runners.yaml"
# beside the config, so that a plan against a git ref (which reads stacks/ at that ref) sees that ref's script
USER_DATA_FILE = Path("stacks") / "runners" / "user-data.sh"

# Runner group names and labels reach GitHub's API and the runner's config.sh; the
# label list is comma-separated there, so a comma (or a space) must never get in.
GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
POOL_NAME = r"^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$"  # becomes part of IAM and EC2 names
INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
# EC2 families with GPUs (g4dn, g5, g5g, g6, g6e, gr6, p3, p4d, p5, ...): the one place this rule lives
GPU_FAMILY = re.compile(r"^(g\d|gr\d|p\d)")
SSM_PARAMETER = r"^/[A-Za-z0-9_./-]{1,2047}$"
SECRET_ARN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]{36}$"
SUBNET_ID = r"^subnet-[0-9a-f]{8,17}$"
SECURITY_GROUP_ID = r"^sg-[0-9a-f]{8,17}$"


def is_gpu_instance(instance_type: str) -> bool:
    return bool(GPU_FAMILY.match(instance_type))


def _names(regex: re.Pattern[str], what: str):
    def check(values: list[str]) -> list[str]:
        for value in values:
            if not regex.fullmatch(value):
                raise ValueError(f"{value!r} is not a valid {what}")
        if len(set(values)) != len(values):
            raise ValueError(f"{what}s are listed more than once")
        return values

    return check


def _matches(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


# as mapping keys, so that an error points at the key's own line
GroupName = Annotated[str, _matches(GROUP_NAME, "runner group name")]
PoolName = Annotated[str, _matches(re.compile(POOL_NAME), "pool name (lower-case letters, digits and '-', 2-32 characters)")]


class RunnerGroup(Strict):
    visibility: Literal["all", "selected", "private"] = "selected"
    # repositories of the org (feedstocks as `<name>-feedstock`); only with visibility `selected`
    repositories: list[RepoName] = []
    # feedstocks are public and anyone can open a pull request on them: say so on purpose
    allows_public_repositories: bool = False
    # workflow refs (`org/repo/.github/workflows/x.yml@refs/heads/main`) allowed to use the group
    workflows: list[str] = []
    # who cirun's policies let start jobs (open-gpu-server's users, named lists); GitHub runner
    # groups cannot enforce this per user, it is kept here so that it is reviewed in one place
    users: list[Login] = []

    @field_validator("repositories")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return _names(REPO_NAME, "repository name")(value)

    @field_validator("workflows")
    @classmethod
    def _workflow_refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not re.fullmatch(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+/\.github/workflows/[A-Za-z0-9._-]+\.ya?ml@refs/(heads|tags)/[A-Za-z0-9._/-]+$", ref):
                raise ValueError(f"{ref!r} is not a workflow ref (org/repo/.github/workflows/file.yml@refs/heads/branch)")
        return value


class OrgRunners(Strict):
    groups: dict[GroupName, RunnerGroup] = {}


class Registration(Strict):
    """How a booting runner gets its registration token: a GitHub App's key (JSON with app_id,
    installation_id, private_key) or a token (JSON with token), in Secrets Manager. Only the ARN
    is configuration; the value never is."""

    kind: Literal["github-app", "token"] = "github-app"
    secret_arn: str = Field(pattern=SECRET_ARN)
    kms_key_arn: str | None = Field(default=None, pattern=KMS_KEY_ARN)  # when the secret uses a customer key


class RunnerPool(Strict):
    org: Login
    group: str
    labels: list[str] = Field(min_length=1)
    instance_type: str = Field(default="c6i.2xlarge", pattern=INSTANCE_TYPE)
    # an SSM parameter holding the AMI id: the image follows the vendor's updates without a config change
    ami_ssm_parameter: str = Field(default="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", pattern=SSM_PARAMETER)
    root_device_name: str = Field(default="/dev/xvda", pattern=r"^/dev/[a-z0-9]+$")
    root_volume_gb: int = Field(default=100, ge=20, le=16384)
    market: Literal["spot", "on-demand"] = "spot"
    min_size: int = Field(default=0, ge=0, le=1000)
    max_size: int = Field(default=4, ge=0, le=1000)
    desired_capacity: int = Field(default=0, ge=0, le=1000)
    registration: Registration

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return _names(LABEL, "runner label")(value)


class RunnerSoftware(Strict):
    version: str = Field(default="2.321.0", pattern=r"^\d+\.\d+\.\d+$")
    # the release's published checksum of actions-runner-linux-x64-<version>.tar.gz; checked when given
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Network(Strict):
    subnet_ids: list[str] = Field(min_length=1)
    # security groups for the runners; they should admit no inbound traffic (runners only call out)
    security_group_ids: list[str] = Field(min_length=1)

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        return _names(re.compile(SUBNET_ID), "subnet id")(value)

    @field_validator("security_group_ids")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        return _names(re.compile(SECURITY_GROUP_ID), "security group id")(value)


class RunnersConfig(Strict):
    region: str = Field(pattern=AWS_REGION)
    network: Network
    runner: RunnerSoftware = RunnerSoftware()
    orgs: dict[Login, OrgRunners] = {}
    pools: dict[PoolName, RunnerPool] = {}


def repository_visibility(org: OrgDeclaration, repo: str) -> str | None:
    """'public' or 'private' for a repository the org declares (feedstocks are public); None when undeclared."""
    declared = org.config.repositories.get(repo)
    if declared is not None:
        return declared.visibility
    if _is_feedstock_repo(org, repo):
        return "public"
    return None


def check_runners(cfg: RunnersConfig, doc: YamlDocument, orgs: dict[str, OrgDeclaration] | None) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for name, pool in cfg.pools.items():
        where = ("pools", name)
        if pool.org not in cfg.orgs or pool.group not in cfg.orgs[pool.org].groups:
            issues.append(doc.issue((*where, "group"), f"pools.{name}.group: runner group {pool.group!r} is not declared for org {pool.org!r}"))
        if not pool.min_size <= pool.desired_capacity <= pool.max_size:
            issues.append(doc.issue(where, f"pools.{name}: needs min_size <= desired_capacity <= max_size"))
    for org, runners in cfg.orgs.items():
        for name, group in runners.groups.items():
            where = ("orgs", org, "groups", name)
            if group.repositories and group.visibility != "selected":
                issues.append(doc.issue((*where, "repositories"), f"orgs.{org}.groups.{name}: repositories are only allowed with visibility 'selected'"))
            if orgs is None:
                continue  # the orgs did not load: their own errors are reported
            if org not in orgs:
                issues.append(doc.issue(("orgs", org), f"orgs.{org}: org {org!r} is not declared under stacks/"))
                continue
            for i, repo in enumerate(group.repositories):
                visibility = repository_visibility(orgs[org], repo)
                if visibility is None:
                    issues.append(doc.issue((*where, "repositories", i), f"orgs.{org}.groups.{name}.repositories: repository {repo!r} is not declared in {org}'s repositories or feedstocks"))
                elif visibility == "public" and not group.allows_public_repositories:
                    issues.append(doc.issue((*where, "repositories", i), f"orgs.{org}.groups.{name}: {repo!r} is public; set allows_public_repositories: true on purpose to let it use this group"))
    return issues


def parse_runners(doc: YamlDocument, orgs: dict[str, OrgDeclaration] | None) -> tuple[RunnersConfig | None, list[ConfigIssue]]:
    config, issues = validate_model(RunnersConfig, doc, doc.data if doc.data is not None else {})
    if config is not None:
        issues += check_runners(config, doc, orgs)
    return (None if issues else config), issues


@dataclass(frozen=True)
class RunnersStack:
    """What the runners stack compiles from: the typed config and the user-data script as checked
    in (read with the config, so that a plan against a git ref sees that ref's script)."""

    config: RunnersConfig
    user_data_template: str


def load_runners(root: Path, orgs: dict[str, OrgDeclaration] | None) -> RunnersStack | None:
    opened = open_stack_file(root, RUNNERS_FILE)
    if opened is None:
        return None
    doc, issues = opened
    config, more = parse_runners(doc, orgs)
    issues += more
    try:
        template = (root / USER_DATA_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(ConfigIssue(str(USER_DATA_FILE), 1, f"cannot read the runners' user-data script: {exc}"))
    if issues or config is None:
        raise ConfigError(issues)
    return RunnersStack(config, template)
