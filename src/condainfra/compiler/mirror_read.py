"""The mirror's own read path: distribution in read-only mode over the bucket, on ECS Fargate behind an
HTTPS load balancer (compiler/aws_service.py, as the dashboard runs). Blob downloads are answered with a
redirect to a presigned S3 URL (distribution's default for S3 storage), so package bytes never pass
through the task; the task reads the bucket and nothing else, and cannot write it.

rattler and pixi ask an ``oci://`` host for an anonymous pull token at ``/token`` first (ghcr.io's front
end); the load balancer answers that itself, and distribution, with no auth configured, ignores the token.
"""

from __future__ import annotations

import json

from ..config.mirror import MirrorConfig
from . import aws as a
from . import aws_service as svc
from .resources import Resource, StackBuilder, ref

READ_REGISTRY = "condainfra:mirror:ReadRegistry"
NETWORK = "condainfra:mirror:Network"
FRONT = "condainfra:mirror:Front"
SERVICE = "condainfra:mirror:Service"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"

NAME = "condainfra-mirror"
CONTAINER = "registry"
PORT = 5000


def registry_environment(cfg: MirrorConfig) -> list[dict[str, str]]:
    """distribution's config as environment variables (each value is read as YAML by distribution)."""
    env = {
        "REGISTRY_HTTP_ADDR": f":{PORT}",
        "REGISTRY_LOG_LEVEL": "warn",
        "REGISTRY_STORAGE": "s3",
        "REGISTRY_STORAGE_S3_BUCKET": cfg.storage.bucket,
        "REGISTRY_STORAGE_S3_REGION": cfg.storage.region,
        "REGISTRY_STORAGE_MAINTENANCE_READONLY": json.dumps({"enabled": True}),
        "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED": "false",
        "REGISTRY_STORAGE_REDIRECT_DISABLE": "false",  # blobs: 307 to a presigned S3 URL
        "REGISTRY_STORAGE_DELETE_ENABLED": "false",
    }
    return [{"name": k, "value": v} for k, v in env.items()]


def read_policy(cfg: MirrorConfig) -> dict:
    arn = f"arn:aws:s3:::{cfg.storage.bucket}"
    statements = [
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": arn},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{arn}/*"},
    ]
    if cfg.storage.kms_key_arn:
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": cfg.storage.kms_key_arn})
    return a.policy(*statements)


def compile_read_registry(cfg: MirrorConfig, builder: StackBuilder, mirror: Resource, aws: Resource) -> None:
    r = cfg.read.registry
    root = builder.add(READ_REGISTRY, r.domain, parent=mirror, custom=False)
    add = svc.Adder(builder, aws)
    net = builder.add(NETWORK, NAME, parent=root, custom=False)
    network = svc.network(add, NAME, r.network.cidr, r.network.availability_zones, net,
                          "HTTPS load balancer of the channel mirror", "read-only registry tasks: reachable from the load balancer only")
    svc.open_to_the_world(add, network, NAME, net)
    svc.balancer_to_service(add, network, NAME, PORT, "to the registry tasks", net)
    svc.service_https_out(add, network, NAME, "HTTPS to S3 and the image registry", net)

    front = builder.add(FRONT, r.domain, parent=root, custom=False)
    fr = svc.front(add, NAME, r.domain, network, PORT, {"matcher": "200", "path": "/v2/"}, front)
    add(LISTENER_RULE, f"{NAME}-anonymous-token", {
        "actions": [{"fixedResponse": {"contentType": "application/json", "messageBody": '{"token":"anonymous"}', "statusCode": "200"}, "type": "fixed-response"}],
        "conditions": [{"pathPattern": {"values": ["/token"]}}], "listenerArn": ref(fr.https, "arn"), "priority": 1,
    }, front)

    service = builder.add(SERVICE, NAME, parent=root, custom=False)
    container = {
        "name": CONTAINER, "image": r.image, "essential": True, "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": PORT, "protocol": "tcp"}],
        "environment": registry_environment(cfg),
    }
    svc.fargate_service(add, svc.TaskSpec(
        name=NAME, container=container, cpu=r.cpu, memory=r.memory, desired_count=r.desired_count,
        log_retention_days=r.log_retention_days, task_policy=read_policy(cfg),
        task_policy_resource=f"{NAME}-task-read", task_policy_name="read-registry-storage",
        task_description="the read-only registry: reads the mirror's bucket, nothing else",
        execution_description="ECS pulls the registry image and writes its logs",
    ), cfg.storage.region, network, fr, PORT, service)
