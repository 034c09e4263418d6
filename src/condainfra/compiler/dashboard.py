"""Compile the dashboard stack: Quetz with the dashboard plugin on AWS.

ECS on Fargate runs the container (no hosts to patch, and Quetz is one small service); RDS
PostgreSQL in private subnets holds its database; S3 its packages; an application load balancer
terminates TLS. The tasks sit in public subnets with public addresses, reachable only from the
load balancer's security group, so they can pull images and reach GitHub without a NAT gateway
(about $33 a month before traffic). Quetz's periodic jobs (the dashboard's refresh and
sync-users) run in the service, in Quetz's own job supervisor, which `quetz start` starts beside
the web server: no second scheduler to keep in step.
"""

from __future__ import annotations

from ..config import quetz as quetz_config
from ..config.dashboard import DashboardStackConfig
from . import aws as a
from . import aws_service as svc
from .aws_service import (  # noqa: F401 (the dashboard's tests and components read them here)
    CERTIFICATE, CERTIFICATE_VALIDATION, CLUSTER, ECS_SERVICE, EGRESS_RULE, INGRESS_RULE, INTERNET_GATEWAY, LISTENER,
    LOAD_BALANCER, LOG_GROUP, ROUTE_TABLE, ROUTE_TABLE_ASSOCIATION, SECURITY_GROUP, SUBNET, TARGET_GROUP, TASK_DEFINITION, VPC,
)
from .resources import StackBuilder, ref, secret

QUETZ_DEPLOYMENT = "condainfra:dashboard:QuetzDeployment"
NETWORK = "condainfra:dashboard:Network"
PACKAGE_STORE = "condainfra:dashboard:PackageStore"
DATABASE = "condainfra:dashboard:Database"
SERVICE = "condainfra:dashboard:Service"
FRONT = "condainfra:dashboard:Front"

DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
DB_INSTANCE = "aws:rds/instance:Instance"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"

NAME = "condainfra-quetz"
CONTAINER = "quetz"
PORT = 8000
DB_PORT = 5432
# an endpoint Quetz always has: it lists channels, so it also proves the database answers
HEALTH_CHECK_PATH = "/api/channels"
# Quetz's /api/dummylogin signs anyone in as anyone; Quetz also strips a /t/<token> prefix before routing
DUMMYLOGIN_PATHS = ["/api/dummylogin", "/api/dummylogin/*", "/t/*/api/dummylogin", "/t/*/api/dummylogin/*"]
APP_ROOT = "/app"  # where the image keeps the checkout's Pulumi.yaml and stacks/ (see Dockerfile)


def quetz_config_toml(cfg: DashboardStackConfig) -> str:
    """The deployed Quetz's config.toml. No secrets: ECS fills the database password, session secret and
    GitHub client secret from Secrets Manager into the environment, and the container's start writes
    them into this file's sections (never as QUETZ_* variables, which replace whole sections)."""
    p = cfg.plugin
    return quetz_config.render(
        {
            "github": {"client_id": cfg.github_oauth_client_id},
            "session": {"https_only": True},
            # the bucket's regional endpoint: Quetz's default url is the global https://s3.amazonaws.com
            "s3": {"bucket_name": cfg.storage.bucket, "region": cfg.region, "url": f"https://s3.{cfg.region}.amazonaws.com"},
            "logging": {"level": "INFO"},
            "plugins": {"enabled": [quetz_config.PLUGIN_SECTION]},
            quetz_config.PLUGIN_SECTION: {
                "project_root": APP_ROOT, "channel": p.channel, "bot_status": p.bot_status,
                "feedstock_outputs": p.feedstock_outputs, "mirror_url": p.mirror_url, "refresh_seconds": p.refresh_seconds,
                "github_requests_per_run": p.github_requests_per_run,
            },
        },
        header="Rendered by condainfra from stacks/dashboard/dashboard.yaml; secrets come from the environment.",
    )


def compile_dashboard(cfg: DashboardStackConfig, builder: StackBuilder) -> None:
    root = builder.add(QUETZ_DEPLOYMENT, "dashboard", custom=False)
    aws = a.provider(builder, cfg.region, root)

    add = svc.Adder(builder, aws)

    # --- network ---
    net = builder.add(NETWORK, NAME, parent=root, custom=False)
    network = svc.network(add, NAME, cfg.network.cidr, cfg.network.availability_zones, net,
                          "HTTPS load balancer of the maintainers dashboard", "Quetz tasks: reachable from the load balancer only")
    lb_sg, service_sg, private = network.lb_sg, network.service_sg, network.private
    db_sg = svc.security_group(add, network.vpc, NAME, "database", "Quetz database: reachable from the Quetz tasks only", net)
    svc.open_to_the_world(add, network, NAME, net)
    svc.balancer_to_service(add, network, NAME, PORT, "to the Quetz tasks", net)
    # out: HTTPS (GitHub, ECR, S3, Secrets Manager, the bot status) and the database
    svc.service_https_out(add, network, NAME, "HTTPS to AWS APIs and GitHub", net)
    add(EGRESS_RULE, f"{NAME}-service-to-database", {"description": "to the database", "fromPort": DB_PORT, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(db_sg, "id"), "securityGroupId": ref(service_sg, "id"), "toPort": DB_PORT}, net)
    add(INGRESS_RULE, f"{NAME}-database-from-service", {"description": "from the Quetz tasks", "fromPort": DB_PORT, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(service_sg, "id"), "securityGroupId": ref(db_sg, "id"), "toPort": DB_PORT}, net)

    # --- package store ---
    store = builder.add(PACKAGE_STORE, cfg.storage.bucket, parent=root, custom=False)
    # Quetz's S3 store (through s3fs) writes every object with the canned ACL "private", which a bucket
    # with ACLs off refuses: ACLs stay on, owned by the bucket, and public ACLs stay blocked
    bucket = a.private_bucket(builder, cfg.storage.bucket, store, aws, a.noncurrent_rules(cfg.storage.noncurrent_version_days),
                              object_ownership="BucketOwnerPreferred")

    # --- secrets and database ---
    database = builder.add(DATABASE, NAME, parent=root, custom=False)
    s = cfg.secrets
    secrets = {}
    # named outside Quetz's QUETZ_ prefix: the container's start writes them into config.toml (see quetz_config)
    named = [(quetz_config.DATABASE_PASSWORD_ENV, s.database_password, s.database_password_config),
             (quetz_config.SESSION_SECRET_ENV, s.session_secret, s.session_secret_config),
             (quetz_config.GITHUB_CLIENT_SECRET_ENV, s.github_client_secret, s.github_client_secret_config)]
    if s.github_token:
        named.append((quetz_config.GITHUB_TOKEN_ENV, s.github_token, s.github_token_config))
    for env, name, key in named:
        holder = add(SECRET, name, {"description": f"{env} of the maintainers dashboard's Quetz (managed by condainfra)", "name": name, "recoveryWindowInDays": 30}, database)
        add(SECRET_VERSION, name, {"secretId": ref(holder, "arn"), "secretString": secret(f"config:{key}")}, database, (holder,))
        secrets[env] = holder
    db = cfg.database
    subnet_group = add(DB_SUBNET_GROUP, NAME, {"description": "private subnets of the Quetz database", "name": NAME, "subnetIds": [ref(p, "id") for p in private]}, database)
    instance = add(
        DB_INSTANCE, NAME,
        {
            "allocatedStorage": db.allocated_storage_gb, "autoMinorVersionUpgrade": True, "backupRetentionPeriod": db.backup_retention_days,
            "copyTagsToSnapshot": True, "dbName": db.name, "dbSubnetGroupName": ref(subnet_group, "name"), "deletionProtection": True,
            "engine": "postgres", "engineVersion": db.engine_version, "finalSnapshotIdentifier": f"{NAME}-final", "identifier": NAME,
            "instanceClass": db.instance_class, "maxAllocatedStorage": db.max_allocated_storage_gb, "multiAz": db.multi_az,
            "password": secret(f"config:{s.database_password_config}"), "port": DB_PORT, "publiclyAccessible": False,
            "skipFinalSnapshot": False, "storageEncrypted": True, "storageType": "gp3", "username": db.username,
            "vpcSecurityGroupIds": [ref(db_sg, "id")],
        },
        database, protect=True,
    )

    # --- front (before the service, whose tasks register with its target group) ---
    front = builder.add(FRONT, cfg.domain, parent=root, custom=False)
    fr = svc.front(add, NAME, cfg.domain, network, PORT, {"matcher": "200", "path": HEALTH_CHECK_PATH}, front)
    https = fr.https
    add(LISTENER_RULE, f"{NAME}-no-dummylogin", {
        "actions": [{"fixedResponse": {"contentType": "application/json", "messageBody": '{"detail":"Not Found"}', "statusCode": "404"}, "type": "fixed-response"}],
        "conditions": [{"pathPattern": {"values": DUMMYLOGIN_PATHS}}], "listenerArn": ref(https, "arn"), "priority": 1,
    }, front)
    # --- service ---
    service = builder.add(SERVICE, NAME, parent=root, custom=False)
    repository = add(ECR_REPOSITORY, NAME, {"forceDelete": False, "imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "MUTABLE", "name": NAME}, service)
    image = f"{cfg.aws_account_id}.dkr.ecr.{cfg.region}.amazonaws.com/{NAME}:{cfg.service.image_tag}"
    container = {
        "name": CONTAINER, "image": image, "essential": True, "user": "1000",
        "portMappings": [{"containerPort": PORT, "protocol": "tcp"}],
        "environment": [
            {"name": "CONDAINFRA_QUETZ_CONFIG", "value": quetz_config_toml(cfg)},
            {"name": "DB_HOST", "value": ref(instance, "address")},
            {"name": "DB_PORT", "value": str(DB_PORT)},
            {"name": "DB_NAME", "value": db.name},
            {"name": "DB_USER", "value": db.username},
        ],
        "secrets": [{"name": env, "valueFrom": ref(holder, "arn")} for env, holder in secrets.items()],
    }
    svc.fargate_service(add, svc.TaskSpec(
        name=NAME, container=container, cpu=cfg.service.cpu, memory=cfg.service.memory, desired_count=cfg.service.desired_count,
        log_retention_days=cfg.service.log_retention_days, task_policy=package_store_policy(cfg),
        task_policy_resource=f"{NAME}-task-packages", task_policy_name="package-store",
        task_description="Quetz itself: the package bucket and nothing else",
        execution_description="ECS pulls the Quetz image, writes its logs, reads its secrets",
        execution_policy=("read-quetz-secrets", a.policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [ref(h, "arn") for h in secrets.values()]})),
        task_depends_on=(repository,),
    ), cfg.region, network, fr, PORT, service)
    del bucket  # created for its side: the task role's policy names it by ARN


def package_store_policy(cfg: DashboardStackConfig) -> dict:
    """What Quetz's S3 package store needs, on the package bucket only."""
    arn = f"arn:aws:s3:::{cfg.storage.bucket}"
    return a.policy(
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": arn},
        # PutObjectAcl: a write that names an ACL (Quetz's always do) needs it besides PutObject
        {"Effect": "Allow", "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"], "Resource": f"{arn}/*"},
    )
