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

import ipaddress

from ..config import quetz as quetz_config
from ..config.dashboard import DashboardStackConfig
from . import aws as a
from .resources import Resource, StackBuilder, json_document, ref, referenced, secret

QUETZ_DEPLOYMENT = "condainfra:dashboard:QuetzDeployment"
NETWORK = "condainfra:dashboard:Network"
PACKAGE_STORE = "condainfra:dashboard:PackageStore"
DATABASE = "condainfra:dashboard:Database"
SERVICE = "condainfra:dashboard:Service"
FRONT = "condainfra:dashboard:Front"

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
DB_INSTANCE = "aws:rds/instance:Instance"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLUSTER = "aws:ecs/cluster:Cluster"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
CERTIFICATE = "aws:acm/certificate:Certificate"
CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"

NAME = "condainfra-quetz"
CONTAINER = "quetz"
PORT = 8000
DB_PORT = 5432
# an endpoint Quetz always has: it lists channels, so it also proves the database answers
HEALTH_CHECK_PATH = "/api/channels"
# Quetz's /api/dummylogin signs anyone in as anyone; Quetz also strips a /t/<token> prefix before routing
DUMMYLOGIN_PATHS = ["/api/dummylogin", "/api/dummylogin/*", "/t/*/api/dummylogin", "/t/*/api/dummylogin/*"]
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
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
            "s3": {"bucket_name": cfg.storage.bucket, "region": cfg.region},
            "logging": {"level": "INFO"},
            "plugins": {"enabled": [quetz_config.PLUGIN_SECTION]},
            quetz_config.PLUGIN_SECTION: {
                "project_root": APP_ROOT, "channel": p.channel, "bot_status": p.bot_status,
                "feedstock_outputs": p.feedstock_outputs, "mirror_url": p.mirror_url, "refresh_seconds": p.refresh_seconds,
            },
        },
        header="Rendered by condainfra from stacks/dashboard/dashboard.yaml; secrets come from the environment.",
    )


def subnets(cfg: DashboardStackConfig) -> tuple[list[str], list[str]]:
    """(public, private) /24 blocks of the VPC, one of each per availability zone."""
    blocks = list(ipaddress.ip_network(cfg.network.cidr).subnets(new_prefix=24))
    zones = len(cfg.network.availability_zones)
    return [str(b) for b in blocks[:zones]], [str(b) for b in blocks[10:10 + zones]]


def compile_dashboard(cfg: DashboardStackConfig, builder: StackBuilder) -> None:
    root = builder.add(QUETZ_DEPLOYMENT, "dashboard", custom=False)
    aws = a.provider(builder, cfg.region, root)

    added: dict[str, Resource] = {}

    def add(type_, name, inputs, parent, depends_on=(), protect=False) -> Resource:
        # an output used as an input is a dependency to the engine: the plan says so too
        urns = dict.fromkeys([*referenced(inputs), *(d.urn for d in depends_on)])
        deps = tuple(added[urn] for urn in urns)
        resource = builder.add(type_, name, inputs, parent=parent, depends_on=deps, provider=aws, protect=protect)
        added[resource.urn] = resource
        return resource

    # --- network ---
    net = builder.add(NETWORK, NAME, parent=root, custom=False)
    vpc = add(VPC, NAME, {"cidrBlock": cfg.network.cidr, "enableDnsHostnames": True, "enableDnsSupport": True}, net)
    igw = add(INTERNET_GATEWAY, NAME, {"vpcId": ref(vpc, "id")}, net)
    public_rt = add(ROUTE_TABLE, f"{NAME}-public", {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": ref(igw, "id")}], "vpcId": ref(vpc, "id")}, net)
    public_blocks, private_blocks = subnets(cfg)
    public, private = [], []
    for zone, public_cidr, private_cidr in zip(cfg.network.availability_zones, public_blocks, private_blocks):
        pub = add(SUBNET, f"{NAME}-public-{zone}", {"availabilityZone": zone, "cidrBlock": public_cidr, "mapPublicIpOnLaunch": False, "vpcId": ref(vpc, "id")}, net)
        add(ROUTE_TABLE_ASSOCIATION, f"{NAME}-public-{zone}", {"routeTableId": ref(public_rt, "id"), "subnetId": ref(pub, "id")}, net)
        # private: the VPC's main route table, which has no route out
        priv = add(SUBNET, f"{NAME}-private-{zone}", {"availabilityZone": zone, "cidrBlock": private_cidr, "mapPublicIpOnLaunch": False, "vpcId": ref(vpc, "id")}, net)
        public.append(pub)
        private.append(priv)

    def security_group(name: str, description: str) -> Resource:
        return add(SECURITY_GROUP, f"{NAME}-{name}", {"description": description, "name": f"{NAME}-{name}", "vpcId": ref(vpc, "id")}, net)

    lb_sg = security_group("lb", "HTTPS load balancer of the maintainers dashboard")
    service_sg = security_group("service", "Quetz tasks: reachable from the load balancer only")
    db_sg = security_group("database", "Quetz database: reachable from the Quetz tasks only")
    for port in (80, 443):
        add(INGRESS_RULE, f"{NAME}-lb-{port}", {"cidrIpv4": "0.0.0.0/0", "description": "the world", "fromPort": port, "ipProtocol": "tcp", "securityGroupId": ref(lb_sg, "id"), "toPort": port}, net)
    add(EGRESS_RULE, f"{NAME}-lb-to-service", {"description": "to the Quetz tasks", "fromPort": PORT, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(service_sg, "id"), "securityGroupId": ref(lb_sg, "id"), "toPort": PORT}, net)
    add(INGRESS_RULE, f"{NAME}-service-from-lb", {"description": "from the load balancer", "fromPort": PORT, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(lb_sg, "id"), "securityGroupId": ref(service_sg, "id"), "toPort": PORT}, net)
    # out: HTTPS (GitHub, ECR, S3, Secrets Manager, the bot status) and the database
    add(EGRESS_RULE, f"{NAME}-service-https", {"cidrIpv4": "0.0.0.0/0", "description": "HTTPS to AWS APIs and GitHub", "fromPort": 443, "ipProtocol": "tcp", "securityGroupId": ref(service_sg, "id"), "toPort": 443}, net)
    add(EGRESS_RULE, f"{NAME}-service-to-database", {"description": "to the database", "fromPort": DB_PORT, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(db_sg, "id"), "securityGroupId": ref(service_sg, "id"), "toPort": DB_PORT}, net)
    add(INGRESS_RULE, f"{NAME}-database-from-service", {"description": "from the Quetz tasks", "fromPort": DB_PORT, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(service_sg, "id"), "securityGroupId": ref(db_sg, "id"), "toPort": DB_PORT}, net)

    # --- package store ---
    store = builder.add(PACKAGE_STORE, cfg.storage.bucket, parent=root, custom=False)
    bucket = a.private_bucket(builder, cfg.storage.bucket, store, aws, a.noncurrent_rules(cfg.storage.noncurrent_version_days))

    # --- secrets and database ---
    database = builder.add(DATABASE, NAME, parent=root, custom=False)
    s = cfg.secrets
    secrets = {}
    # named outside Quetz's QUETZ_ prefix: the container's start writes them into config.toml (see quetz_config)
    for env, name, key in ((quetz_config.DATABASE_PASSWORD_ENV, s.database_password, s.database_password_config),
                           (quetz_config.SESSION_SECRET_ENV, s.session_secret, s.session_secret_config),
                           (quetz_config.GITHUB_CLIENT_SECRET_ENV, s.github_client_secret, s.github_client_secret_config)):
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
    certificate = add(CERTIFICATE, cfg.domain, {"domainName": cfg.domain, "validationMethod": "DNS"}, front)
    # waits until the DNS validation record (an output of the certificate) is in place and the certificate issued
    validation = add(CERTIFICATE_VALIDATION, cfg.domain, {"certificateArn": ref(certificate, "arn")}, front)
    lb = add(LOAD_BALANCER, NAME, {
        "dropInvalidHeaderFields": True, "enableDeletionProtection": True, "internal": False, "loadBalancerType": "application",
        "name": NAME, "securityGroups": [ref(lb_sg, "id")], "subnets": [ref(p, "id") for p in public],
    }, front)
    target = add(TARGET_GROUP, NAME, {
        "deregistrationDelay": 30, "name": NAME, "port": PORT, "protocol": "HTTP", "targetType": "ip", "vpcId": ref(vpc, "id"),
        "healthCheck": {"healthyThreshold": 2, "interval": 30, "matcher": "200", "path": HEALTH_CHECK_PATH, "protocol": "HTTP", "unhealthyThreshold": 3},
    }, front)
    add(LISTENER, f"{NAME}-http", {
        "defaultActions": [{"redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}, "type": "redirect"}],
        "loadBalancerArn": ref(lb, "arn"), "port": 80, "protocol": "HTTP",
    }, front)
    https = add(LISTENER, f"{NAME}-https", {
        "certificateArn": ref(validation, "certificateArn"), "defaultActions": [{"targetGroupArn": ref(target, "arn"), "type": "forward"}],
        "loadBalancerArn": ref(lb, "arn"), "port": 443, "protocol": "HTTPS", "sslPolicy": TLS_POLICY,
    }, front)
    add(LISTENER_RULE, f"{NAME}-no-dummylogin", {
        "actions": [{"fixedResponse": {"contentType": "application/json", "messageBody": '{"detail":"Not Found"}', "statusCode": "404"}, "type": "fixed-response"}],
        "conditions": [{"pathPattern": {"values": DUMMYLOGIN_PATHS}}], "listenerArn": ref(https, "arn"), "priority": 1,
    }, front)
    # --- service ---
    service = builder.add(SERVICE, NAME, parent=root, custom=False)
    repository = add(ECR_REPOSITORY, NAME, {"forceDelete": False, "imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "MUTABLE", "name": NAME}, service)
    logs = add(LOG_GROUP, NAME, {"name": f"/condainfra/{NAME}", "retentionInDays": cfg.service.log_retention_days}, service)
    cluster = add(CLUSTER, NAME, {"name": NAME, "settings": [{"name": "containerInsights", "value": "enabled"}]}, service)
    execution = add(a.ROLE, f"{NAME}-execution", {"assumeRolePolicy": json_document(a.assume_role("ecs-tasks.amazonaws.com")), "description": "ECS pulls the Quetz image, writes its logs, reads its secrets", "name": f"{NAME}-execution"}, service)
    add(a.ROLE_POLICY_ATTACHMENT, f"{NAME}-execution", {"policyArn": EXECUTION_POLICY, "role": ref(execution, "name")}, service)
    add(a.ROLE_POLICY, f"{NAME}-execution-secrets", {
        "name": "read-quetz-secrets", "role": ref(execution, "name"),
        "policy": json_document(a.policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [ref(h, "arn") for h in secrets.values()]})),
    }, service)
    task_role = add(a.ROLE, f"{NAME}-task", {"assumeRolePolicy": json_document(a.assume_role("ecs-tasks.amazonaws.com")), "description": "Quetz itself: the package bucket and nothing else", "name": f"{NAME}-task"}, service)
    add(a.ROLE_POLICY, f"{NAME}-task-packages", {"name": "package-store", "policy": json_document(package_store_policy(cfg)), "role": ref(task_role, "name")}, service)
    image = f"{cfg.aws_account_id}.dkr.ecr.{cfg.region}.amazonaws.com/{NAME}:{cfg.service.image_tag}"
    container = {
        "name": CONTAINER, "image": image, "essential": True, "user": "1000",
        "portMappings": [{"containerPort": PORT, "protocol": "tcp"}],
        "environment": [
            {"name": quetz_config.CONFIG_ENV, "value": quetz_config_toml(cfg)},
            *({"name": k, "value": v} for k, v in zip(quetz_config.DATABASE_ENV, (ref(instance, "address"), str(DB_PORT), db.name, db.username))),
        ],
        "secrets": [{"name": env, "valueFrom": ref(holder, "arn")} for env, holder in secrets.items()],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": f"/condainfra/{NAME}", "awslogs-region": cfg.region, "awslogs-stream-prefix": CONTAINER}},
    }
    task = add(TASK_DEFINITION, NAME, {
        "containerDefinitions": json_document([container]), "cpu": str(cfg.service.cpu), "executionRoleArn": ref(execution, "arn"),
        "family": NAME, "memory": str(cfg.service.memory), "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}, "taskRoleArn": ref(task_role, "arn"),
    }, service, (logs, repository))

    add(ECS_SERVICE, NAME, {
        "cluster": ref(cluster, "arn"), "deploymentCircuitBreaker": {"enable": True, "rollback": True}, "desiredCount": cfg.service.desired_count,
        "healthCheckGracePeriodSeconds": 120, "launchType": "FARGATE",
        "loadBalancers": [{"containerName": CONTAINER, "containerPort": PORT, "targetGroupArn": ref(target, "arn")}],
        "name": NAME,
        "networkConfiguration": {"assignPublicIp": True, "securityGroups": [ref(service_sg, "id")], "subnets": [ref(p, "id") for p in public]},
        "taskDefinition": ref(task, "arn"),
    }, service, (https,))
    del bucket  # created for its side: the task role's policy names it by ARN


def package_store_policy(cfg: DashboardStackConfig) -> dict:
    """What Quetz's S3 package store needs, on the package bucket only."""
    arn = f"arn:aws:s3:::{cfg.storage.bucket}"
    return a.policy(
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": arn},
        {"Effect": "Allow", "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], "Resource": f"{arn}/*"},
    )
