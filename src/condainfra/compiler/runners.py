"""Compile the CI runners stack: GitHub runner groups and the AWS pools of ephemeral runners in them."""

from __future__ import annotations

import base64
import json
import re
import shlex

from ..config.runners import USER_DATA_FILE, RunnerPool, RunnersConfig, RunnersStack
from ..errors import CondainfraError
from . import aws as aws_compiler
from . import github as github_compiler
from .resources import Resource, StackBuilder, ref

RUNNERS = "condainfra:runners:Runners"
RUNNER_GROUP = "condainfra:runners:RunnerGroup"
RUNNER_POOL = "condainfra:runners:RunnerPool"
# an existing repository read (never managed) for its numeric id, which runner groups take
REPOSITORY_LOOKUP = "condainfra:runners:RepositoryLookup"

GITHUB_PROVIDER = github_compiler.PROVIDER
ROLE, ROLE_POLICY = aws_compiler.ROLE, aws_compiler.ROLE_POLICY
ACTIONS_RUNNER_GROUP = "github:index/actionsRunnerGroup:ActionsRunnerGroup"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"

USER_DATA_LIMIT = 16384  # EC2's limit on user data, before base64
SETTINGS_BLOCK = re.compile(r"^# --- settings:.*?\n(?P<body>.*?)^# --- end of settings ---$", re.M | re.S)
SETTING = re.compile(r"^([A-Z][A-Z0-9_]*)=''$", re.M)


def aws_name(pool: str) -> str:
    return f"condainfra-runner-{pool}"


def compile_runners(stack: RunnersStack, builder: StackBuilder) -> None:
    cfg = stack.config
    root = builder.add(RUNNERS, "runners", custom=False)
    aws = aws_compiler.provider(builder, cfg.region, root)
    github = {org: github_compiler.org_provider(builder, org, root) for org in cfg.orgs}

    lookups: dict[tuple[str, str], Resource] = {}
    for org, runners in cfg.orgs.items():
        for repo in sorted({r for g in runners.groups.values() for r in g.repositories}):
            lookups[org, repo] = builder.add(REPOSITORY_LOOKUP, f"{org}/{repo}", parent=root, custom=False)

    for org, runners in cfg.orgs.items():
        for name, group in runners.groups.items():
            component = builder.add(RUNNER_GROUP, f"{org}/{name}", parent=root, custom=False)
            selected = [lookups[org, r] for r in group.repositories]
            inputs = {
                "allowsPublicRepositories": group.allows_public_repositories,
                "name": name,
                "restrictedToWorkflows": bool(group.workflows),
                "selectedWorkflows": list(group.workflows),
                "visibility": group.visibility,
            }
            if group.visibility == "selected":
                inputs["selectedRepositoryIds"] = [ref(r, "repoId") for r in selected]
            # the ids are outputs of the lookups: that is the dependency, no depends_on needed
            builder.add(ACTIONS_RUNNER_GROUP, f"{org}/{name}", inputs, parent=component, provider=github[org])
            for pool_name, pool in cfg.pools.items():
                if pool.org == org and pool.group == name:
                    _pool(builder, stack, pool_name, pool, component, aws)


def _pool(builder: StackBuilder, stack: RunnersStack, name: str, pool: RunnerPool, group: Resource, aws: Resource) -> None:
    cfg = stack.config
    component = builder.add(RUNNER_POOL, name, parent=group, custom=False)

    def add(type_, inputs, depends_on=()):
        return builder.add(type_, name, inputs, parent=component, depends_on=depends_on, provider=aws)

    aws_id = aws_name(name)
    role = add(ROLE, {
        "assumeRolePolicy": assume_role_policy(),
        "description": f"condainfra runner pool {name}: reads its registration secret, nothing else",
        "maxSessionDuration": 3600,
        "name": aws_id,
    })
    policy = add(ROLE_POLICY, {"name": "registration-secret", "policy": instance_policy(pool), "role": aws_id}, (role,))
    profile = add(INSTANCE_PROFILE, {"name": aws_id, "role": aws_id}, (role,))
    launch: dict = {
        "blockDeviceMappings": [{
            "deviceName": pool.root_device_name,
            # the SDK types these two as strings
            "ebs": {"deleteOnTermination": "true", "encrypted": "true", "volumeSize": pool.root_volume_gb, "volumeType": "gp3"},
        }],
        "description": f"condainfra runner pool {name} ({pool.org}/{pool.group})",
        "iamInstanceProfile": {"name": aws_id},
        # resolved by EC2 at each launch: the pool follows the image its vendor publishes
        "imageId": f"resolve:ssm:{pool.ami_ssm_parameter}",
        # the runner powers off after its one job; powering off must free the instance
        "instanceInitiatedShutdownBehavior": "terminate",
        "instanceType": pool.instance_type,
        "metadataOptions": {"httpEndpoint": "enabled", "httpPutResponseHopLimit": 1, "httpTokens": "required", "instanceMetadataTags": "disabled"},
        "name": aws_id,
        "updateDefaultVersion": True,
        "userData": user_data(stack, pool),
        "vpcSecurityGroupIds": list(cfg.network.security_group_ids),
    }
    template = add(LAUNCH_TEMPLATE, launch, (profile, policy))
    spec = {"launchTemplateName": aws_id, "version": "$Latest"}
    group_inputs: dict = {
        "desiredCapacity": pool.desired_capacity,
        "maxSize": pool.max_size,
        "minSize": pool.min_size,
        "name": aws_id,
        "tags": [
            {"key": "Name", "propagateAtLaunch": True, "value": aws_id},
            {"key": "condainfra:runner-group", "propagateAtLaunch": True, "value": f"{pool.org}/{pool.group}"},
        ],
        "vpcZoneIdentifiers": list(cfg.network.subnet_ids),
    }
    if pool.market == "spot":
        # all spot, from the pools least likely to be interrupted at a low price
        group_inputs["mixedInstancesPolicy"] = {
            "instancesDistribution": {"onDemandBaseCapacity": 0, "onDemandPercentageAboveBaseCapacity": 0, "spotAllocationStrategy": "price-capacity-optimized"},
            "launchTemplate": {"launchTemplateSpecification": spec},
        }
    else:
        group_inputs["launchTemplate"] = {"name": aws_id, "version": "$Latest"}
    add(AUTOSCALING_GROUP, group_inputs, (template,))


def assume_role_policy() -> str:
    return json.dumps(aws_compiler.assume_role("ec2.amazonaws.com"), sort_keys=True)


def instance_policy(pool: RunnerPool) -> str:
    """The pool's instances may read their registration secret, by its ARN, and decrypt it; nothing else."""
    reg = pool.registration
    statements = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": reg.secret_arn}]
    if reg.kms_key_arn:
        statements.append({
            "Effect": "Allow", "Action": "kms:Decrypt", "Resource": reg.kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{reg.secret_arn.split(':')[3]}.amazonaws.com"}},
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def user_data_settings(pool: RunnerPool, cfg: RunnersConfig) -> dict[str, str]:
    return {
        "RUNNER_ORG": pool.org,
        "RUNNER_GROUP": pool.group,
        "RUNNER_LABELS": ",".join(pool.labels),
        "RUNNER_VERSION": cfg.runner.version,
        "RUNNER_SHA256": cfg.runner.sha256 or "",
        "REGISTRATION_KIND": pool.registration.kind,
        "REGISTRATION_SECRET_ARN": pool.registration.secret_arn,
        "AWS_REGION_NAME": cfg.region,
    }


def render_user_data(template: str, values: dict[str, str]) -> str:
    """The script with its settings block filled in. Every value goes through shlex.quote, so no
    configuration value reaches the shell unquoted, whatever it contains."""
    block = SETTINGS_BLOCK.search(template)
    if block is None:
        raise CondainfraError(f"{USER_DATA_FILE}: no settings block ('# --- settings:' ... '# --- end of settings ---')")
    names = SETTING.findall(block["body"])
    if sorted(names) != sorted(values):
        raise CondainfraError(f"{USER_DATA_FILE}: the settings block names {sorted(names)}, the compiler fills {sorted(values)}")
    body = SETTING.sub(lambda m: f"{m[1]}={shlex.quote(values[m[1]])}", block["body"])
    return template[: block.start("body")] + body + template[block.end("body"):]


def user_data(stack: RunnersStack, pool: RunnerPool) -> str:
    script = render_user_data(stack.user_data_template, user_data_settings(pool, stack.config))
    if len(script.encode()) > USER_DATA_LIMIT:
        raise CondainfraError(f"{USER_DATA_FILE}: the rendered script is {len(script.encode())} bytes; EC2 takes at most {USER_DATA_LIMIT}")
    return base64.b64encode(script.encode()).decode()
