"""A web service on AWS, as more than one stack compiles it: a VPC with public and private subnets, an HTTPS
application load balancer in front, and an ECS Fargate service behind it.

The tasks sit in public subnets with public addresses, reachable only from the load balancer's security
group, so they pull images and reach AWS APIs without a NAT gateway (about $33 a month before traffic).
Each caller names its own parents (component resources), so its URNs are its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from . import aws as a
from .resources import Resource, StackBuilder, json_document, ref, referenced

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLUSTER = "aws:ecs/cluster:Cluster"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
CERTIFICATE = "aws:acm/certificate:Certificate"
CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"

EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass
class Adder:
    """Adds AWS resources through one provider; an output used as an input is a dependency to the engine,
    and the plan says so too."""

    builder: StackBuilder
    provider: Resource
    added: dict[str, Resource] = field(default_factory=dict)

    def __call__(self, type_: str, name: str, inputs: dict[str, Any], parent: Resource, depends_on=(), protect: bool = False) -> Resource:
        urns = dict.fromkeys([*referenced(inputs), *(d.urn for d in depends_on)])
        deps = tuple(self.added[urn] for urn in urns)
        resource = self.builder.add(type_, name, inputs, parent=parent, depends_on=deps, provider=self.provider, protect=protect)
        self.added[resource.urn] = resource
        return resource


def subnets(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(public, private) /24 blocks of the VPC, one of each per availability zone."""
    blocks = list(ipaddress.ip_network(cidr).subnets(new_prefix=24))
    return [str(b) for b in blocks[:zones]], [str(b) for b in blocks[10:10 + zones]]


@dataclass
class Network:
    vpc: Resource
    public: list[Resource]
    private: list[Resource]
    lb_sg: Resource
    service_sg: Resource


def network(add: Adder, name: str, cidr: str, zones: list[str], parent: Resource, lb_description: str, service_description: str) -> Network:
    """VPC, public subnets (load balancer, tasks) and private ones (no route out), the load balancer's and
    the tasks' security groups: the world to the balancer on 80 and 443, the balancer to the tasks on ``port``,
    the tasks out on HTTPS (the rules: :func:`open_to_the_world`, :func:`balancer_to_service`, :func:`service_https_out`).
    A caller adds its own groups and rules with :func:`security_group`."""
    vpc = add(VPC, name, {"cidrBlock": cidr, "enableDnsHostnames": True, "enableDnsSupport": True}, parent)
    igw = add(INTERNET_GATEWAY, name, {"vpcId": ref(vpc, "id")}, parent)
    public_rt = add(ROUTE_TABLE, f"{name}-public", {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": ref(igw, "id")}], "vpcId": ref(vpc, "id")}, parent)
    public_blocks, private_blocks = subnets(cidr, len(zones))
    public, private = [], []
    for zone, public_cidr, private_cidr in zip(zones, public_blocks, private_blocks):
        pub = add(SUBNET, f"{name}-public-{zone}", {"availabilityZone": zone, "cidrBlock": public_cidr, "mapPublicIpOnLaunch": False, "vpcId": ref(vpc, "id")}, parent)
        add(ROUTE_TABLE_ASSOCIATION, f"{name}-public-{zone}", {"routeTableId": ref(public_rt, "id"), "subnetId": ref(pub, "id")}, parent)
        # private: the VPC's main route table, which has no route out
        priv = add(SUBNET, f"{name}-private-{zone}", {"availabilityZone": zone, "cidrBlock": private_cidr, "mapPublicIpOnLaunch": False, "vpcId": ref(vpc, "id")}, parent)
        public.append(pub)
        private.append(priv)
    lb_sg = security_group(add, vpc, name, "lb", lb_description, parent)
    service_sg = security_group(add, vpc, name, "service", service_description, parent)
    return Network(vpc, public, private, lb_sg, service_sg)


def security_group(add: Adder, vpc: Resource, name: str, role: str, description: str, parent: Resource) -> Resource:
    return add(SECURITY_GROUP, f"{name}-{role}", {"description": description, "name": f"{name}-{role}", "vpcId": ref(vpc, "id")}, parent)


def open_to_the_world(add: Adder, net: Network, name: str, parent: Resource) -> None:
    for port in (80, 443):
        add(INGRESS_RULE, f"{name}-lb-{port}", {"cidrIpv4": "0.0.0.0/0", "description": "the world", "fromPort": port, "ipProtocol": "tcp", "securityGroupId": ref(net.lb_sg, "id"), "toPort": port}, parent)


def balancer_to_service(add: Adder, net: Network, name: str, port: int, description: str, parent: Resource) -> None:
    add(EGRESS_RULE, f"{name}-lb-to-service", {"description": description, "fromPort": port, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(net.service_sg, "id"), "securityGroupId": ref(net.lb_sg, "id"), "toPort": port}, parent)
    add(INGRESS_RULE, f"{name}-service-from-lb", {"description": "from the load balancer", "fromPort": port, "ipProtocol": "tcp", "referencedSecurityGroupId": ref(net.lb_sg, "id"), "securityGroupId": ref(net.service_sg, "id"), "toPort": port}, parent)


def service_https_out(add: Adder, net: Network, name: str, description: str, parent: Resource) -> None:
    add(EGRESS_RULE, f"{name}-service-https", {"cidrIpv4": "0.0.0.0/0", "description": description, "fromPort": 443, "ipProtocol": "tcp", "securityGroupId": ref(net.service_sg, "id"), "toPort": 443}, parent)


@dataclass
class Front:
    lb: Resource
    target: Resource
    https: Resource


def front(add: Adder, name: str, domain: str, net: Network, port: int, health_check: dict[str, Any], parent: Resource) -> Front:
    """Certificate (DNS-validated), load balancer, target group, HTTP -> HTTPS redirect and the HTTPS listener."""
    certificate = add(CERTIFICATE, domain, {"domainName": domain, "validationMethod": "DNS"}, parent)
    # waits until the DNS validation record (an output of the certificate) is in place and the certificate issued
    validation = add(CERTIFICATE_VALIDATION, domain, {"certificateArn": ref(certificate, "arn")}, parent)
    lb = add(LOAD_BALANCER, name, {
        "dropInvalidHeaderFields": True, "enableDeletionProtection": True, "internal": False, "loadBalancerType": "application",
        "name": name, "securityGroups": [ref(net.lb_sg, "id")], "subnets": [ref(p, "id") for p in net.public],
    }, parent)
    target = add(TARGET_GROUP, name, {
        "deregistrationDelay": 30, "name": name, "port": port, "protocol": "HTTP", "targetType": "ip", "vpcId": ref(net.vpc, "id"),
        "healthCheck": {"healthyThreshold": 2, "interval": 30, "protocol": "HTTP", "unhealthyThreshold": 3, **health_check},
    }, parent)
    add(LISTENER, f"{name}-http", {
        "defaultActions": [{"redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}, "type": "redirect"}],
        "loadBalancerArn": ref(lb, "arn"), "port": 80, "protocol": "HTTP",
    }, parent)
    https = add(LISTENER, f"{name}-https", {
        "certificateArn": ref(validation, "certificateArn"), "defaultActions": [{"targetGroupArn": ref(target, "arn"), "type": "forward"}],
        "loadBalancerArn": ref(lb, "arn"), "port": 443, "protocol": "HTTPS", "sslPolicy": TLS_POLICY,
    }, parent)
    return Front(lb, target, https)


@dataclass
class TaskSpec:
    """What runs: one container, its size, its roles' policies."""

    name: str
    container: dict[str, Any]  # the container definition, without logConfiguration (added here)
    cpu: int
    memory: int
    desired_count: int
    log_retention_days: int
    task_policy: dict[str, Any]
    task_policy_resource: str  # the role policy's resource name
    task_policy_name: str
    task_description: str
    execution_description: str
    execution_policy: tuple[str, dict[str, Any]] | None = None  # (name, policy) beyond ECS's managed one
    task_depends_on: tuple[Resource, ...] = ()


def fargate_service(add: Adder, spec: TaskSpec, region: str, net: Network, fr: Front, port: int, parent: Resource) -> Resource:
    """Log group, cluster, execution and task roles, the task definition and the service behind the balancer."""
    name = spec.name
    logs = add(LOG_GROUP, name, {"name": f"/condainfra/{name}", "retentionInDays": spec.log_retention_days}, parent)
    cluster = add(CLUSTER, name, {"name": name, "settings": [{"name": "containerInsights", "value": "enabled"}]}, parent)
    execution = add(a.ROLE, f"{name}-execution", {"assumeRolePolicy": json_document(a.assume_role("ecs-tasks.amazonaws.com")), "description": spec.execution_description, "name": f"{name}-execution"}, parent)
    add(a.ROLE_POLICY_ATTACHMENT, f"{name}-execution", {"policyArn": EXECUTION_POLICY, "role": ref(execution, "name")}, parent)
    if spec.execution_policy:
        policy_name, policy = spec.execution_policy
        add(a.ROLE_POLICY, f"{name}-execution-secrets", {"name": policy_name, "role": ref(execution, "name"), "policy": json_document(policy)}, parent)
    task_role = add(a.ROLE, f"{name}-task", {"assumeRolePolicy": json_document(a.assume_role("ecs-tasks.amazonaws.com")), "description": spec.task_description, "name": f"{name}-task"}, parent)
    add(a.ROLE_POLICY, spec.task_policy_resource, {"name": spec.task_policy_name, "policy": json_document(spec.task_policy), "role": ref(task_role, "name")}, parent)
    container = {
        **spec.container,
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": f"/condainfra/{name}", "awslogs-region": region, "awslogs-stream-prefix": spec.container["name"]}},
    }
    task = add(TASK_DEFINITION, name, {
        "containerDefinitions": json_document([container]), "cpu": str(spec.cpu), "executionRoleArn": ref(execution, "arn"),
        "family": name, "memory": str(spec.memory), "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}, "taskRoleArn": ref(task_role, "arn"),
    }, parent, (logs, *spec.task_depends_on))
    return add(ECS_SERVICE, name, {
        "cluster": ref(cluster, "arn"), "deploymentCircuitBreaker": {"enable": True, "rollback": True}, "desiredCount": spec.desired_count,
        "healthCheckGracePeriodSeconds": 120, "launchType": "FARGATE",
        "loadBalancers": [{"containerName": spec.container["name"], "containerPort": port, "targetGroupArn": ref(fr.target, "arn")}],
        "name": name,
        "networkConfiguration": {"assignPublicIp": True, "securityGroups": [ref(net.service_sg, "id")], "subnets": [ref(p, "id") for p in net.public]},
        "taskDefinition": ref(task, "arn"),
    }, parent, (fr.https,))
