"""The dashboard's deployment: Quetz with the plugin on ECS Fargate, RDS, S3 and a load balancer."""

from __future__ import annotations

import pulumi_aws as aws

from ..compiler import dashboard as da
from .base import CompiledComponent
from .factory import component


@component(da.QUETZ_DEPLOYMENT)
class QuetzDeployment(CompiledComponent):
    """Everything the dashboard runs on; its outputs are what an operator looks up."""

    TYPE = da.QUETZ_DEPLOYMENT

    def outputs(self) -> dict:
        bucket = self.first_of(aws.s3.Bucket)
        database = self.first_of(aws.rds.Instance)
        lb = self.first_of(aws.lb.LoadBalancer)
        certificate = self.first_of(aws.acm.Certificate)
        return {
            "bucket": bucket.bucket if bucket else None,
            "database_endpoint": database.endpoint if database else None,
            "load_balancer_dns": lb.dns_name if lb else None,
            "url": certificate.domain_name.apply(lambda d: f"https://{d}/dashboard/") if certificate else None,
            # the DNS record to create so that the certificate is issued
            "certificate_validation": certificate.domain_validation_options if certificate else None,
        }


@component(da.NETWORK)
class Network(CompiledComponent):
    """VPC, public subnets (load balancer, tasks) and private subnets (database), security groups."""

    TYPE = da.NETWORK


@component(da.PACKAGE_STORE)
class PackageStore(CompiledComponent):
    """Quetz's package files: a private, versioned, encrypted bucket."""

    TYPE = da.PACKAGE_STORE


@component(da.DATABASE)
class Database(CompiledComponent):
    """RDS PostgreSQL in private subnets, and the Secrets Manager secrets of the service."""

    TYPE = da.DATABASE


@component(da.SERVICE)
class Service(CompiledComponent):
    """The ECS service running Quetz with the dashboard plugin (and its job supervisor)."""

    TYPE = da.SERVICE


@component(da.FRONT)
class Front(CompiledComponent):
    """The HTTPS load balancer: certificate, redirect from HTTP, the /api/dummylogin block."""

    TYPE = da.FRONT
