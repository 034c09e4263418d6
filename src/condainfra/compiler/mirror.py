"""Compile the mirror stack: the registry's S3 storage, the sync job's IAM role, and its workflow."""

from __future__ import annotations

import json

from ..config.mirror import KNOWN_SUBDIRS, MirrorConfig
from .aws import BUCKET, ENCRYPTION, LIFECYCLE, PUBLIC_ACCESS_BLOCK, ROLE, ROLE_POLICY, VERSIONING, noncurrent_rules, private_bucket
from .aws import provider as aws_provider
from .resources import StackBuilder

__all__ = ["BUCKET", "ENCRYPTION", "LIFECYCLE", "PUBLIC_ACCESS_BLOCK", "ROLE", "ROLE_POLICY", "VERSIONING", "compile_mirror"]

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


def workflow(cfg: MirrorConfig) -> str:
    """The sync job. Config values reach its scripts only as environment variables, quoted: the job holds
    the AWS role, and a value pasted into `run:` would be read as shell code."""
    account, role = cfg.sync.aws_account_id, cfg.sync.role_name
    # lists as space-separated words, which the step splits with `read -a` (no globbing); the config's
    # grammars keep whitespace out of every item
    matrix = [
        {"name": c.name, "packages": " ".join(c.packages), "source": c.source, "subdirs": " ".join(c.subdirs)}
        for c in cfg.channels
    ]
    registry_config = (
        "version: 0.1\\n"
        "log: {level: warn}\\n"
        "storage: {s3: {region: %s, bucket: %s}, delete: {enabled: true}}\\n"
        "http: {addr: 127.0.0.1:5000}\\n"
    )
    to = f"oci://127.0.0.1:5000/{cfg.registry_prefix}"
    lines = [
        "# Managed by condainfra (stacks/mirror/mirror.yaml): edit the config, not this file.",
        "name: mirror-sync",
        "on:",
        "  schedule:",
        f"    - cron: {json.dumps(cfg.sync.schedule)}",
        "  workflow_dispatch: {}",
        "permissions:",
        "  id-token: write",
        "  contents: read",
        "jobs:",
        "  sync:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 340",
        "    concurrency:",
        "      group: mirror-sync-${{ matrix.channel.name }}",
        "      cancel-in-progress: false",
        "    strategy:",
        "      fail-fast: false",
        "      matrix:",
        f"        channel: {json.dumps(matrix, sort_keys=True)}",
        "    env:",
        "      CHANNEL: ${{ matrix.channel.name }}",
        f"      TO: {json.dumps(to)}",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: aws-actions/configure-aws-credentials@v4",
        "        with:",
        f"          role-to-assume: arn:aws:iam::{account}:role/{role}",
        f"          aws-region: {cfg.storage.region}",
        "      - name: Install",
        "        run: |",
        "          sudo apt-get update -qq && sudo apt-get install -y -qq docker-registry",
        "          python3 -m pip install .",
        "      - name: Start a registry process on the S3 storage",
        "        env:",
        f"          REGION: {json.dumps(cfg.storage.region)}",
        f"          BUCKET: {json.dumps(cfg.storage.bucket)}",
        "        run: |",
        f"          printf '{registry_config}' \"$REGION\" \"$BUCKET\" > registry.yml",
        "          docker-registry serve registry.yml &",
        "          for _ in $(seq 50); do curl -fs http://127.0.0.1:5000/v2/ && break; sleep 0.2; done",
        "      - name: Sync",
        "        env:",
        "          SOURCE: ${{ matrix.channel.source }}",
        "          SUBDIRS: ${{ matrix.channel.subdirs }}",
        "          PACKAGES: ${{ matrix.channel.packages }}",
        f"          JOBS: \"{cfg.sync.jobs}\"",
        "        run: |",
        "          args=()",
        "          read -ra subdir_list <<< \"$SUBDIRS\"",
        "          for subdir in \"${subdir_list[@]}\"; do args+=(--subdir \"$subdir\"); done",
        "          read -ra package_list <<< \"$PACKAGES\"",
        "          for package in \"${package_list[@]}\"; do args+=(--package \"$package\"); done",
        "          condainfra mirror sync --from \"$SOURCE\" --to \"$TO\" --channel \"$CHANNEL\" --insecure --jobs \"$JOBS\" \"${args[@]}\"",
        "      - name: Verify",
        "        run: condainfra mirror verify --to \"$TO\" --channel \"$CHANNEL\" --insecure",
    ]
    return "\n".join(lines) + "\n"
