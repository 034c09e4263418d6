"""Adoption: a Pulumi bulk-import file that takes over what already exists, so a first `up` creates nothing twice.

The file is the one `pulumi import --file` reads (pulumi/pulumi pkg/cmd/pulumi/operations/import.go,
`importFile`): ``resources`` of ``{"type", "name", "logicalName", "id", "parent", "provider"}``, where
``parent`` and ``provider`` name other entries of the same file. Component resources are entries with
``"component": true`` and no id (an import creates them empty, pulumi/pulumi#14467); explicit providers
are entries of their own whose configuration is ``providerInputs`` (pulumi/pulumi#21671, #23972). The
engine builds each URN from the parent chain, the type and ``logicalName``, the way the compiler names
the resource, so the next `up` finds every imported resource under the URN the program registers.

An entry's ``name`` only has to be unique in the file: it is the URN's own part (qualified type and
name). The import ID of each kind is the one its provider documents (the "## Import" section of each
resource class in pulumi_github and pulumi_aws). Where GitHub or AWS assigns the ID (a ruleset's number,
a VPC's id, an ARN), it cannot be known offline: that resource is left out of ``resources``, listed
under ``notImported`` with the reason and how to find its ID, and the first `up` creates it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..compiler import github as gh
from ..compiler.resources import LOOKUP, REF, SECRET, Resource
from ..compiler.stacks import StackSpec
from ..config.checks import team_slug
from ..output import write_atomic
from ..errors import CondainfraError
from ..project import WORK_DIR, Project

FORMAT = "condainfra-import/1"


@dataclass(frozen=True)
class Skip:
    """Why a resource cannot be imported by an ID known offline, and what the operator can do about it."""

    reason: str


class _Stack:
    """One compiled stack, indexed so that an ID rule can follow a reference to another resource."""

    def __init__(self, resources: list[Resource]):
        self.by_urn = {r.urn: r for r in resources}

    def org(self, r: Resource) -> str | None:
        provider = self.by_urn.get(r.provider) if r.provider else None
        owner = provider.inputs.get("owner") if provider is not None else None
        return owner if isinstance(owner, str) else None

    def value(self, r: Resource, key: str, output: str | None = None) -> str | None:
        """An input as a plain string; a reference to another resource's ``name``/``bucket``/... output
        is that resource's input of the same name (``output`` picks which one when it is an ARN or id)."""
        value = r.inputs.get(key)
        if isinstance(value, dict) and REF in value:
            target = self.by_urn.get(value[REF])
            if target is None:
                return None
            return self.value(target, output or value.get("output", ""))
        return value if isinstance(value, str) and value else None


Rule = Callable[[Resource, _Stack], "str | Skip"]


def _input(key: str, output: str | None = None) -> Rule:
    def rule(r: Resource, stack: _Stack) -> str | Skip:
        value = stack.value(r, key, output)
        return value if value is not None else Skip(f"its `{key}` is not known before it exists")

    return rule


def _assigned(by: str, find: str) -> Rule:
    def rule(r: Resource, stack: _Stack) -> Skip:
        return Skip(f"its import ID is assigned by {by}; it will be created. To adopt an existing one instead, find its ID with {find}")

    return rule


def _slug(raw: str) -> str | Skip:
    slug = team_slug(raw)
    # the provider reads an all-digit import ID as a numeric team id, never as a slug (getTeamID)
    if slug.isdigit():
        return Skip(f"team slug {slug!r} is all digits, which the provider reads as a team id; find the id with `gh api /orgs/ORG/teams/{slug} --jq .id`")
    return slug


def _team_of(r: Resource, key: str, stack: _Stack) -> str | Skip:
    """The slug of the team an input names: a slug, a reference to the stack's Team resource (its
    `id` output), or a lookup of another stack's team by its slug (a feedstock shard's grants)."""
    raw = r.inputs.get(key)
    if isinstance(raw, dict) and REF in raw:
        team = stack.by_urn.get(raw[REF])
        raw = team.inputs.get("name") if team is not None else None
    elif isinstance(raw, dict) and LOOKUP in raw:
        raw = (raw.get("args") or {}).get("slug")
    if not isinstance(raw, str) or not raw:
        return Skip(f"its `{key}` names no team known before it exists")
    return _slug(raw)


def _team(r: Resource, stack: _Stack) -> str | Skip:
    return _team_of(r, "name", stack)  # "the GitHub team ID or name": the provider looks a non-number up as a slug


def _team_members(r: Resource, stack: _Stack) -> str | Skip:
    return _team_of(r, "teamSlug", stack)


def _team_repository(r: Resource, stack: _Stack) -> str | Skip:
    slug = _team_of(r, "teamId", stack)
    repo = stack.value(r, "repository")
    if isinstance(slug, Skip) or repo is None:
        return slug if isinstance(slug, Skip) else Skip("its `repository` is not a plain name")
    return f"{slug}:{repo}"  # `team_id:repository` or `team_name:repository`


def _membership(r: Resource, stack: _Stack) -> str | Skip:
    org, user = stack.org(r), stack.value(r, "username")
    if org is None or user is None:
        return Skip("its org (the provider's `owner`) or `username` is not known")
    return f"{org}:{user}"  # `organization:username`


def _repository_file(r: Resource, stack: _Stack) -> str | Skip:
    repo, path = stack.value(r, "repository"), stack.value(r, "file")
    if repo is None or path is None:
        return Skip("its `repository` or `file` is not known")
    branch = stack.value(r, "branch") or ""  # empty: the default branch
    return f"{repo}:{path.replace(':', '??')}:{branch}"  # `repo:path:branch`, a `:` in the path escaped as `??`


def _joined(separator: str, *parts: Rule) -> Rule:
    def rule(r: Resource, stack: _Stack) -> str | Skip:
        values = [part(r, stack) for part in parts]
        skipped = next((v for v in values if isinstance(v, Skip)), None)
        return skipped if skipped is not None else separator.join(values)  # type: ignore[arg-type]

    return rule


_AWS_ID = "the AWS console or CLI"
# Every custom resource kind the shipped stacks compile to (tests/plan/test_adopt.py checks that none is
# missing), with its documented import ID.
RULES: dict[str, Rule] = {
    # pulumi_github 6.x
    gh.REPOSITORY: _input("name"),
    gh.TEAM: _team,
    gh.TEAM_MEMBERS: _team_members,
    gh.TEAM_REPOSITORY: _team_repository,
    gh.MEMBERSHIP: _membership,
    "github:index/repositoryVulnerabilityAlerts:RepositoryVulnerabilityAlerts": _input("repository"),
    gh.ORG_SECRET: _input("secretName"),
    gh.ORG_SECRET_REPOSITORIES: _input("secretName"),
    "github:index/repositoryFile:RepositoryFile": _repository_file,
    # importing takes the org's numeric id; creating it only applies the declared settings to the org
    gh.ORG_SETTINGS: _assigned("GitHub (the org's numeric id)", "`gh api /orgs/ORG --jq .id`"),
    gh.RULESET: _assigned("GitHub (`REPO:RULESET_ID`)", "`gh api /repos/ORG/REPO/rulesets --jq '.[] | [.id, .name]'`"),
    "github:index/actionsRunnerGroup:ActionsRunnerGroup": _assigned("GitHub (the runner group's id)", "`gh api /orgs/ORG/actions/runner-groups --jq '.runner_groups[] | [.id, .name]'`"),
    # pulumi_aws 7.x: names where the stack sets them, AWS's own ids and ARNs otherwise
    "aws:s3/bucket:Bucket": _input("bucket"),
    "aws:s3/bucketVersioning:BucketVersioning": _input("bucket", "bucket"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _input("bucket", "bucket"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _input("bucket", "bucket"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _input("bucket", "bucket"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _input("bucket", "bucket"),
    "aws:iam/role:Role": _input("name"),
    "aws:iam/rolePolicy:RolePolicy": _joined(":", _input("role", "name"), _input("name")),  # role_name:role_policy_name
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _joined("/", _input("role", "name"), _input("policyArn")),
    "aws:iam/instanceProfile:InstanceProfile": _input("name"),
    "aws:ecr/repository:Repository": _input("name"),
    "aws:ecs/cluster:Cluster": _input("name"),
    "aws:ecs/service:Service": _joined("/", _input("cluster", "name"), _input("name")),  # cluster-name/service-name
    "aws:cloudwatch/logGroup:LogGroup": _input("name"),
    "aws:rds/instance:Instance": _input("identifier"),
    "aws:rds/subnetGroup:SubnetGroup": _input("name"),
    "aws:autoscaling/group:Group": _input("name"),
    "aws:ecs/taskDefinition:TaskDefinition": _assigned("AWS (the ARN ends in the revision)", "`aws ecs list-task-definitions --family-prefix FAMILY`"),
    "aws:secretsmanager/secret:Secret": _assigned("AWS (the ARN has a random suffix)", "`aws secretsmanager describe-secret --secret-id NAME --query ARN`"),
    "aws:secretsmanager/secretVersion:SecretVersion": _assigned("AWS (`SECRET_ARN|VERSION_ID`)", "`aws secretsmanager list-secret-version-ids --secret-id NAME`"),
    "aws:acm/certificate:Certificate": _assigned("AWS (its ARN)", "`aws acm list-certificates`"),
    "aws:acm/certificateValidation:CertificateValidation": lambda r, s: Skip("it cannot be imported (it only waits for the certificate's validation; it creates nothing)"),
    "aws:lb/loadBalancer:LoadBalancer": _assigned("AWS (its ARN)", "`aws elbv2 describe-load-balancers --names NAME`"),
    "aws:lb/targetGroup:TargetGroup": _assigned("AWS (its ARN)", "`aws elbv2 describe-target-groups --names NAME`"),
    "aws:lb/listener:Listener": _assigned("AWS (its ARN)", "`aws elbv2 describe-listeners --load-balancer-arn LB_ARN`"),
    "aws:lb/listenerRule:ListenerRule": _assigned("AWS (its ARN)", "`aws elbv2 describe-rules --listener-arn LISTENER_ARN`"),
    "aws:ec2/vpc:Vpc": _assigned("AWS (`vpc-...`)", "`aws ec2 describe-vpcs`"),
    "aws:ec2/subnet:Subnet": _assigned("AWS (`subnet-...`)", "`aws ec2 describe-subnets`"),
    "aws:ec2/internetGateway:InternetGateway": _assigned("AWS (`igw-...`)", "`aws ec2 describe-internet-gateways`"),
    "aws:ec2/routeTable:RouteTable": _assigned("AWS (`rtb-...`)", "`aws ec2 describe-route-tables`"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _assigned("AWS (`SUBNET_ID/ROUTE_TABLE_ID`)", "`aws ec2 describe-route-tables`"),
    "aws:ec2/securityGroup:SecurityGroup": _assigned("AWS (`sg-...`)", "`aws ec2 describe-security-groups`"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _assigned("AWS (`sgr-...`)", "`aws ec2 describe-security-group-rules`"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _assigned("AWS (`sgr-...`)", "`aws ec2 describe-security-group-rules`"),
    "aws:ec2/launchTemplate:LaunchTemplate": _assigned("AWS (`lt-...`)", "`aws ec2 describe-launch-templates`"),
}


def import_id(r: Resource, stack: _Stack) -> str | Skip:
    rule = RULES.get(r.type)
    if rule is None:
        return Skip(f"condainfra knows no import ID format for {r.type}; it will be created")
    return rule(r, stack)


def _entry_name(r: Resource) -> str:
    # `qualified type::name`: unique in a stack (it is the URN without the stack and project)
    return r.urn.split("::", 2)[2]


def _plain(inputs: dict[str, Any]) -> dict[str, Any]:
    """A provider's configuration without the values only the program resolves (secrets come from its environment)."""
    return {k: v for k, v in sorted(inputs.items()) if not (isinstance(v, dict) and (SECRET in v or REF in v or LOOKUP in v))}


@dataclass
class ImportFile:
    document: dict[str, Any]
    skipped: list[tuple[Resource, Skip]]
    taken: list[Resource] = field(default_factory=list)  # the resources the file imports (entries with an id)

    @property
    def imported(self) -> int:
        return len(self.taken)

    def write(self, path: Path) -> None:
        """Whole or not at all: an interrupted run leaves no half file for `pulumi import` to read."""
        write_atomic(path, json.dumps(self.document, indent=1, ensure_ascii=False) + "\n")

    def skipped_lines(self) -> list[str]:
        """One line per kind left out (29,000 rulesets are one line, not 29,000), with an example."""
        by_type: dict[str, list[tuple[Resource, Skip]]] = {}
        for resource, skip in self.skipped:
            by_type.setdefault(resource.type, []).append((resource, skip))
        lines = []
        for type_, items in by_type.items():
            first, skip = items[0]
            example = f"e.g. {first.name}" if len(items) > 1 else first.name
            others = sum(1 for _, s in items if s.reason != skip.reason)
            tail = f" ({others} of them for other reasons: see notImported in the file)" if others else ""
            lines.append(f"not imported: {len(items)} {type_.rsplit(':', 1)[-1]} ({example}): {skip.reason}{tail}")
        return lines


def build_import_file(project: Project, spec: StackSpec) -> ImportFile:
    """The stack's import file: every compiled resource with its parent and provider, in registration order."""
    resources = project.compile(spec)
    stack = _Stack(resources)
    entries: list[dict[str, Any]] = []
    provider_inputs: dict[str, dict[str, Any]] = {}
    skipped: list[tuple[Resource, Skip]] = []
    taken: list[Resource] = []
    for r in resources:
        entry: dict[str, Any] = {"type": r.type, "name": _entry_name(r), "logicalName": r.name}
        if not r.custom:
            entry["component"] = True
        elif r.type.startswith("pulumi:providers:"):
            provider_inputs[entry["name"]] = _plain(r.inputs)
        else:
            found = import_id(r, stack)
            if isinstance(found, Skip):
                skipped.append((r, found))
                continue
            entry["id"] = found
            taken.append(r)
        if r.parent:
            entry["parent"] = _entry_name(stack.by_urn[r.parent])
        if r.provider:
            entry["provider"] = _entry_name(stack.by_urn[r.provider])
        entries.append(entry)
    document = {
        "format": FORMAT,
        "stack": spec.name,
        "resources": entries,
        "providerInputs": provider_inputs,
        "notImported": [{"urn": r.urn, "type": r.type, "reason": s.reason} for r, s in skipped],
        "counts": dict(sorted(Counter("component" if e.get("component") else "import" if "id" in e else "provider" for e in entries).items())),
    }
    return ImportFile(document, skipped, taken)


def drop_missing(built: ImportFile, exists: Callable[[Resource, str], bool | None]) -> int:
    """Leave out every entry whose import ID ``exists`` says the provider's side does not have (False;
    None: not known): `pulumi import` fails whole on one missing ID, and the first `up` creates them.
    Returns how many were left out."""
    missing = {r.urn for r, e in zip(built.taken, [e for e in built.document["resources"] if "id" in e]) if exists(r, e["id"]) is False}
    if not missing:
        return 0
    gone = [r for r in built.taken if r.urn in missing]
    kept_names = {_entry_name(r) for r in gone}
    built.document["resources"] = [e for e in built.document["resources"] if not ("id" in e and e["name"] in kept_names)]
    built.taken = [r for r in built.taken if r.urn not in missing]
    skip = Skip("it is not on GitHub (checked before the import); the first `up` creates it")
    built.skipped += [(r, skip) for r in gone]
    built.document["notImported"] += [{"urn": r.urn, "type": r.type, "reason": skip.reason} for r in gone]
    built.document["counts"]["import"] = built.imported
    return len(gone)


def adoption_file(project: Project, spec: StackSpec) -> Path:
    """Where `adopt` writes a stack's import file by default: the checkout's git-ignored working
    folder, so that a file of 170,000 IDs is never committed by accident."""
    if spec.name.startswith(".") or "/" in spec.name:  # a stack name is data, never a path
        raise CondainfraError(f"stack {spec.name!r}: give --out FILE")
    folder = project.root / WORK_DIR / "adopt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CondainfraError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder / f"{spec.name}.import.json"


def write_import_file(project: Project, spec: StackSpec, path: Path) -> int:
    """Write the stack's import file atomically; the number of existing resources it imports (entries with an id)."""
    built = build_import_file(project, spec)
    built.write(path)
    return built.imported
