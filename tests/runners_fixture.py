"""A small project with runner groups and pools, written by the tests that need one."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNERS = "stacks/runners/runners.yaml"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:runners/app-AbCdEf"

ORG = """\
org: acme
settings:
  billing_email: admin@acme.example
owners: [alice, bob]
repositories:
  infra:
    visibility: private
  website:
    visibility: public
feedstocks: {}
"""

FEEDSTOCKS = "numpy: [alice]\ntorch: [bob]\n"

CONFIG = f"""\
region: eu-west-1
network:
  subnet_ids: [subnet-0123456789abcdef0]
  security_group_ids: [sg-0123456789abcdef0]
orgs:
  acme:
    groups:
      gpu:
        repositories: [torch-feedstock]
        allows_public_repositories: true
      cpu:
        repositories: [numpy-feedstock, infra]
        allows_public_repositories: true
pools:
  gpu-small:
    org: acme
    group: gpu
    labels: [gpu, linux-64]
    instance_type: g4dn.xlarge
    registration:
      secret_arn: {SECRET_ARN}
  cpu:
    org: acme
    group: cpu
    labels: [cpu]
    market: on-demand
    min_size: 1
    desired_capacity: 1
    registration:
      kind: token
      secret_arn: {SECRET_ARN}
      kms_key_arn: arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
"""


def write_project(root: Path, config: str = CONFIG) -> Path:
    (root / "stacks" / "acme" / "feedstocks").mkdir(parents=True)
    (root / "stacks" / "runners").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / "acme" / "org.yaml").write_text(ORG)
    (root / "stacks" / "acme" / "feedstocks" / "a.yaml").write_text(FEEDSTOCKS)
    (root / RUNNERS).write_text(config)
    shutil.copy(REPO / "stacks" / "runners" / "user-data.sh", root / "stacks" / "runners" / "user-data.sh")
    return root
