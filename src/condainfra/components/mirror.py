"""The mirror's infrastructure: the registry's S3 storage and the scheduled sync job."""

from __future__ import annotations

import pulumi_aws as aws

from ..compiler import mirror as mi
from .base import CompiledComponent
from .factory import component


@component(mi.CHANNEL_MIRROR)
class ChannelMirror(CompiledComponent):
    TYPE = mi.CHANNEL_MIRROR


@component(mi.REGISTRY_STORAGE)
class RegistryStorage(CompiledComponent):
    """S3 bucket for distribution's storage driver: versioned, encrypted, never public."""

    TYPE = mi.REGISTRY_STORAGE

    def outputs(self) -> dict:
        buckets = [c for c in self.children if isinstance(c, aws.s3.Bucket)]
        return {"bucket": buckets[0].bucket if buckets else None}


@component(mi.SYNC_JOB)
class SyncJob(CompiledComponent):
    """The role a GitHub Actions workflow assumes (OIDC) to run `mirror sync`, and that workflow."""

    TYPE = mi.SYNC_JOB

    def outputs(self) -> dict:
        roles = [c for c in self.children if isinstance(c, aws.iam.Role)]
        return {"role_arn": roles[0].arn if roles else None}
