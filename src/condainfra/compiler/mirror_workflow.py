"""The generated mirror-sync.yml: a fan-out over (channel, subdir, shard) and a fan-in that publishes.

Each sync job pushes one shard of a subdir's package names (`mirror sync --shard K/N --run ID`) and
publishes nothing; one publish job per channel then writes each subdir's repodata when every shard of
the run has recorded its part (`mirror publish --run ID`). The workflow runs one at a time, so there is
one run per channel at a time. Config values reach its scripts only as environment variables, quoted:
the jobs hold the AWS role, and a value pasted into `run:` would be read as shell code.
"""

from __future__ import annotations

import json

from ..config.mirror import KNOWN_SUBDIRS, MirrorConfig

GHCR = "ghcr.io"


def targets(cfg: MirrorConfig) -> list[str]:
    """Where the jobs write: the bucket (through a loopback registry process), and ghcr.io when it is a read path."""
    out = [f"oci://127.0.0.1:5000/{cfg.registry_prefix}"]
    if cfg.read.ghcr is not None:
        out.append(f"oci://{GHCR}/{cfg.read.ghcr.org.lower()}/{cfg.registry_prefix}")
    return out


def matrix(cfg: MirrorConfig) -> list[dict]:
    return [
        {"channel": c.name, "source": c.source, "packages": " ".join(c.packages), "subdir": subdir,
         "shard": f"{k}/{cfg.shard_count(c.name, subdir)}"}
        for c in cfg.channels for subdir in (c.subdirs or KNOWN_SUBDIRS)
        for k in range(1, cfg.shard_count(c.name, subdir) + 1)
    ]


def _setup(cfg: MirrorConfig) -> list[str]:
    account, role = cfg.sync.aws_account_id, cfg.sync.role_name
    registry_config = (
        "version: 0.1\\n"
        "log: {level: warn}\\n"
        # distribution names the ACL "private" on every write unless told; the bucket has ACLs off
        # (BucketOwnerEnforced), which accepts no ACL but this one
        "storage: {s3: {region: %s, bucket: %s, objectacl: bucket-owner-full-control}, delete: {enabled: true}}\\n"
        "http: {addr: 127.0.0.1:5000}\\n"
    )
    return [
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
    ]


def _repeated_args(*options: tuple[str, str]) -> list[str]:
    """Shell lines that turn each space-separated variable into one ``--option value`` per word, in
    an array: the values reach the command as arguments, never as shell text."""
    lines = ["          args=()"]
    for option, variable in options:
        lines += [f"          read -ra {option}_list <<< \"${variable}\"",
                  f"          for {option} in \"${{{option}_list[@]}}\"; do args+=(--{option} \"${option}\"); done"]
    return lines


def _each_target(cfg: MirrorConfig, command: str) -> list[str]:
    """One `condainfra mirror ...` per target; ghcr.io with the job's own token."""
    lines = []
    for target in targets(cfg):
        insecure = " --insecure" if target.startswith("oci://127.0.0.1") else ""
        lines.append(f"          {command} --to {json.dumps(target)}{insecure}")
    return lines


def workflow(cfg: MirrorConfig) -> str:
    channels = [{"name": c.name, "source": c.source, "packages": " ".join(c.packages), "subdirs": " ".join(c.subdirs)} for c in cfg.channels]
    token_env = [
        "          CONDAINFRA_OCI_USERNAME: ${{ github.actor }}",
        "          CONDAINFRA_OCI_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    ] if cfg.read.ghcr is not None else []
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
        *(["  packages: write"] if cfg.read.ghcr is not None else []),
        "# one run at a time: a channel's shards and its publish never meet another run's",
        "concurrency:",
        "  group: mirror-sync",
        "  cancel-in-progress: false",
        "jobs:",
        "  sync:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 340",
        "    strategy:",
        "      fail-fast: false",
        "      max-parallel: 64",
        "      matrix:",
        f"        include: {json.dumps(matrix(cfg), sort_keys=True)}",
        "    steps:",
        *_setup(cfg),
        "      - name: Sync one shard",
        "        env:",
        "          CHANNEL: ${{ matrix.channel }}",
        "          SOURCE: ${{ matrix.source }}",
        "          SUBDIR: ${{ matrix.subdir }}",
        "          SHARD: ${{ matrix.shard }}",
        "          PACKAGES: ${{ matrix.packages }}",
        "          RUN: ${{ github.run_id }}",
        f"          JOBS: \"{cfg.sync.jobs}\"",
        *token_env,
        "        run: |",
        *_repeated_args(("package", "PACKAGES")),
        *_each_target(cfg, "condainfra mirror sync --from \"$SOURCE\" --channel \"$CHANNEL\" --subdir \"$SUBDIR\" --shard \"$SHARD\" --run \"$RUN\" --jobs \"$JOBS\" \"${args[@]}\""),
        "  publish:",
        "    needs: sync",
        "    # also after a failed shard: publish refuses that subdir alone, and publishes the others",
        "    if: ${{ !cancelled() }}",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 120",
        "    strategy:",
        "      fail-fast: false",
        "      matrix:",
        f"        channel: {json.dumps(channels, sort_keys=True)}",
        "    steps:",
        *_setup(cfg),
        "      - name: Publish",
        "        env:",
        "          CHANNEL: ${{ matrix.channel.name }}",
        "          SOURCE: ${{ matrix.channel.source }}",
        "          PACKAGES: ${{ matrix.channel.packages }}",
        "          SUBDIRS: ${{ matrix.channel.subdirs }}",
        "          RUN: ${{ github.run_id }}",
        f"          JOBS: \"{cfg.sync.jobs}\"",
        *token_env,
        "        run: |",
        *_repeated_args(("package", "PACKAGES"), ("subdir", "SUBDIRS")),
        *_each_target(cfg, "condainfra mirror publish --from \"$SOURCE\" --channel \"$CHANNEL\" --run \"$RUN\" --jobs \"$JOBS\" \"${args[@]}\""),
        "      - name: Verify",
        "        env:",
        "          CHANNEL: ${{ matrix.channel.name }}",
        "        run: condainfra mirror verify --to \"oci://127.0.0.1:5000/" + cfg.registry_prefix + "\" --channel \"$CHANNEL\" --insecure",
    ]
    return "\n".join(lines) + "\n"
