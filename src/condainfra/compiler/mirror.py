"""Compile the mirror stack: the registry's S3 storage, the sync job's IAM role and workflow, and the read
paths: ghcr.io (pushed to by the workflow, no infrastructure) and/or a read-only registry of our own."""

from __future__ import annotations

import json

from ..config.mirror import KNOWN_SUBDIRS, MirrorConfig
from .aws import BUCKET, ENCRYPTION, LIFECYCLE, PUBLIC_ACCESS_BLOCK, ROLE, ROLE_POLICY, VERSIONING, noncurrent_rules, private_bucket
from .aws import provider as aws_provider
from .mirror_read import compile_read_registry
from .mirror_workflow import workflow
from .resources import StackBuilder

__all__ = ["BUCKET", "ENCRYPTION", "LIFECYCLE", "PUBLIC_ACCESS_BLOCK", "ROLE", "ROLE_POLICY", "VERSIONING", "compile_mirror", "workflow"]

CHANNEL_MIRROR = "condainfra:mirror:ChannelMirror"
REGISTRY_STORAGE = "condainfra:mirror:RegistryStorage"
SYNC_JOB = "condainfra:mirror:SyncJob"

GITHUB_PROVIDER = "pulumi:providers:github"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"

GITHUB_OIDC = "token.actions.githubusercontent.com"
WORKFLOW_PATH = ".github/workflows/mirror-sync.yml"
# distribution's S3 layout: tags live under <root>/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>
REGISTRY_ROOT = "docker/registry/v2/repositories"


def compile_mirror(cfg: MirrorConfig, builder: StackBuilder) -> None:
    mirror = builder.add(CHANNEL_MIRROR, "mirror", custom=False)
    aws = aws_provider(builder, cfg.storage.region, mirror)
    owner = cfg.owner or cfg.sync.repository.split("/", 1)[0]
    github = builder.add(GITHUB_PROVIDER, owner, {"baseUrl": "https://api.github.com/", "owner": owner}, parent=mirror)

    st = cfg.storage
    storage = builder.add(REGISTRY_STORAGE, st.bucket, parent=mirror, custom=False)

    bucket = private_bucket(builder, st.bucket, storage, aws, lifecycle_rules(cfg), st.kms_key_arn)

    job = builder.add(SYNC_JOB, cfg.sync.role_name, parent=mirror, custom=False)
    deps = ()
    if cfg.sync.create_oidc_provider:
        oidc = builder.add(
            OIDC_PROVIDER, "github-actions",
            {"clientIdLists": ["sts.amazonaws.com"], "url": f"https://{GITHUB_OIDC}"},
            parent=job, provider=aws, protect=True,
        )
        deps = (oidc,)
    role = builder.add(
        ROLE, cfg.sync.role_name,
        {
            "assumeRolePolicy": assume_role_policy(cfg),
            "description": f"condainfra mirror sync from {cfg.sync.repository}@{cfg.sync.branch}",
            "maxSessionDuration": 21600,
            "name": cfg.sync.role_name,
        },
        parent=job, depends_on=deps, provider=aws,
    )
    builder.add(
        ROLE_POLICY, cfg.sync.role_name,
        {"name": "registry-storage", "policy": storage_policy(cfg), "role": cfg.sync.role_name},
        parent=job, depends_on=(role, bucket), provider=aws,
    )
    repo = cfg.sync.repository.split("/", 1)[1]
    builder.add(
        REPOSITORY_FILE, f"{cfg.sync.repository}/{WORKFLOW_PATH}",
        {
            "branch": cfg.sync.branch,
            "commitMessage": "Update the mirror sync workflow (managed by condainfra)",
            "content": workflow(cfg),
            "file": WORKFLOW_PATH,
            "overwriteOnCreate": True,
            "repository": repo,
        },
        parent=job, provider=github,
    )
    if cfg.read.registry is not None:
        compile_read_registry(cfg, builder, mirror, aws)


def lifecycle_rules(cfg: MirrorConfig) -> list[dict]:
    rules = noncurrent_rules(cfg.storage.noncurrent_version_days)
    prefix = cfg.registry_prefix
    for channel in cfg.channels:
        for subdir in channel.subdirs or KNOWN_SUBDIRS:
            # timestamp tags (YYYY.MM.DD...) start with "20"; `latest` does not match and never expires
            tags = f"{REGISTRY_ROOT}/{prefix}/{channel.name}/{subdir}/repodata.json/_manifests/tags/20"
            rules.append({"expiration": {"days": cfg.storage.old_repodata_days}, "filter": {"prefix": tags}, "id": f"old-repodata-{channel.name}-{subdir}", "status": "Enabled"})
    return rules


def assume_role_policy(cfg: MirrorConfig) -> str:
    account = cfg.sync.aws_account_id
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
                            f"{GITHUB_OIDC}:sub": f"repo:{cfg.sync.repository}:ref:refs/heads/{cfg.sync.branch}",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def storage_policy(cfg: MirrorConfig) -> str:
    """What distribution's S3 driver needs, on this bucket only."""
    bucket = f"arn:aws:s3:::{cfg.storage.bucket}"
    statements = [
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], "Resource": bucket},
        {
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
            "Resource": f"{bucket}/*",
        },
    ]
    if cfg.storage.kms_key_arn:
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": cfg.storage.kms_key_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
