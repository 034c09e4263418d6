"""The mirror's infrastructure: the registry's S3 storage and the scheduled sync job."""

from __future__ import annotations

import pulumi_aws as aws

from ..compiler import mirror as mi
from ..compiler import mirror_read as mr
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
        bucket = self.first_of(aws.s3.Bucket)
        return {"bucket": bucket.bucket if bucket else None}


@component(mi.SYNC_JOB)
class SyncJob(CompiledComponent):
    """The role a GitHub Actions workflow assumes (OIDC) to run `mirror sync`, and that workflow."""

    TYPE = mi.SYNC_JOB

    def outputs(self) -> dict:
        role = self.first_of(aws.iam.Role)
        return {"role_arn": role.arn if role else None}


@component(mr.READ_REGISTRY)
class ReadRegistry(CompiledComponent):
    """distribution, read-only, over the mirror's bucket on ECS Fargate behind an HTTPS load balancer."""

    TYPE = mr.READ_REGISTRY

    def outputs(self) -> dict:
        lb = self.first_of(aws.lb.LoadBalancer)
        return {"load_balancer_dns": lb.dns_name if lb else None}


@component(mr.NETWORK)
class ReadNetwork(CompiledComponent):
    """VPC, public subnets (load balancer, tasks), security groups."""

    TYPE = mr.NETWORK


@component(mr.FRONT)
class ReadFront(CompiledComponent):
    """The HTTPS load balancer: certificate, redirect from HTTP, the anonymous /token answer."""

    TYPE = mr.FRONT


@component(mr.SERVICE)
class ReadService(CompiledComponent):
    """The ECS service running distribution in read-only mode."""

    TYPE = mr.SERVICE
