"""AWS resource type tokens and the building blocks more than one stack compiles the same way."""

from __future__ import annotations

from .resources import Resource, StackBuilder

PROVIDER = "pulumi:providers:aws"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def provider(builder: StackBuilder, region: str, parent: Resource) -> Resource:
    # the SDK's own defaults, spelled out so that the plan shows what the engine receives
    return builder.add(PROVIDER, "aws", {"region": region, "skipCredentialsValidation": False, "skipRegionValidation": True}, parent=parent)


def private_bucket(builder: StackBuilder, name: str, parent: Resource, aws: Resource, lifecycle_rules: list[dict], kms_key_arn: str | None = None,
                   object_ownership: str = "BucketOwnerEnforced") -> Resource:
    """A bucket nobody outside the account reads: public access blocked, versioned, encrypted,
    with the given lifecycle; protected, and never force-destroyed with its objects.

    Object ownership is declared, not left to the account's default, because it decides whether a
    write that names an ACL is accepted: with ``BucketOwnerEnforced`` (ACLs off) S3 refuses any
    ``x-amz-acl`` but ``bucket-owner-full-control`` with AccessControlListNotSupported."""

    def add(type_, inputs, depends_on=(), protect=False):
        return builder.add(type_, name, inputs, parent=parent, depends_on=depends_on, provider=aws, protect=protect)

    bucket = add(BUCKET, {"bucket": name, "forceDestroy": False}, protect=True)
    add(VERSIONING, {"bucket": name, "versioningConfiguration": {"status": "Enabled"}}, (bucket,))
    default = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": kms_key_arn} if kms_key_arn else {"sseAlgorithm": "AES256"}
    add(ENCRYPTION, {"bucket": name, "rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}]}, (bucket,))
    add(OWNERSHIP, {"bucket": name, "rule": {"objectOwnership": object_ownership}}, (bucket,))
    add(PUBLIC_ACCESS_BLOCK, {"blockPublicAcls": True, "blockPublicPolicy": True, "bucket": name, "ignorePublicAcls": True, "restrictPublicBuckets": True}, (bucket,))
    add(LIFECYCLE, {"bucket": name, "rules": lifecycle_rules}, (bucket,))
    return bucket


def noncurrent_rules(days: int) -> list[dict]:
    """Lifecycle of a versioned bucket: old versions and abandoned multipart uploads expire."""
    return [
        {"abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}, "filter": {"prefix": ""}, "id": "abort-incomplete-uploads", "status": "Enabled"},
        {"filter": {"prefix": ""}, "id": "expire-noncurrent-versions", "noncurrentVersionExpiration": {"noncurrentDays": days}, "status": "Enabled"},
    ]


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role(service: str) -> dict:
    return policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
