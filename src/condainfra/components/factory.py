"""Turn compiled resource specs into real Pulumi resources.

The compiled list is the single source of truth: this module only translates
its engine-side names back to SDK arguments, so the program cannot register
anything the plan did not show.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from ..compiler import github as gh
from ..compiler import mirror as mi
from ..compiler.resources import REF, SECRET, Resource
from ..errors import CondainfraError

CUSTOM_TYPES: dict[str, type[pulumi.CustomResource]] = {
    gh.PROVIDER: github.Provider,
    gh.ORG_SETTINGS: github.OrganizationSettings,
    gh.MEMBERSHIP: github.Membership,
    gh.TEAM: github.Team,
    gh.TEAM_MEMBERS: github.TeamMembers,
    gh.TEAM_REPOSITORY: github.TeamRepository,
    gh.REPOSITORY: github.Repository,
    gh.RULESET: github.RepositoryRuleset,
    gh.ORG_SECRET: github.ActionsOrganizationSecret,
    gh.ORG_SECRET_REPOSITORIES: github.ActionsOrganizationSecretRepositories,
    mi.AWS_PROVIDER: aws.Provider,
    mi.BUCKET: aws.s3.Bucket,
    mi.VERSIONING: aws.s3.BucketVersioning,
    mi.ENCRYPTION: aws.s3.BucketServerSideEncryptionConfiguration,
    mi.PUBLIC_ACCESS_BLOCK: aws.s3.BucketPublicAccessBlock,
    mi.LIFECYCLE: aws.s3.BucketLifecycleConfiguration,
    mi.OIDC_PROVIDER: aws.iam.OpenIdConnectProvider,
    mi.ROLE: aws.iam.Role,
    mi.ROLE_POLICY: aws.iam.RolePolicy,
    mi.REPOSITORY_FILE: github.RepositoryFile,
}

# component type token -> class; filled by the component modules as they are imported
COMPONENT_TYPES: dict[str, Callable[..., pulumi.ComponentResource]] = {}

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def component(type_token: str):
    def register(cls):
        COMPONENT_TYPES[type_token] = cls
        return cls

    return register


def resolve_secret(source: str, config: pulumi.Config) -> pulumi.Output:
    kind, _, key = source.partition(":")
    if kind == "env":
        value = os.environ.get(key)
        if value is None:
            raise CondainfraError(f"secret source {source!r}: environment variable {key} is not set")
        return pulumi.Output.secret(value)
    value = config.get_secret(key)
    if value is None:
        raise CondainfraError(f"secret source {source!r}: set it with `pulumi config set --secret {key} ...` on this stack")
    return value


@dataclass
class BuildContext:
    """What the components share while the program runs: the specs by parent and what was created."""

    resources: list[Resource]
    config: pulumi.Config = field(default_factory=pulumi.Config)
    created: dict[str, pulumi.Resource] = field(default_factory=dict)
    children: dict[str | None, list[Resource]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in self.resources:
            self.children.setdefault(spec.parent, []).append(spec)

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            if SECRET in value:
                return resolve_secret(value[SECRET], self.config)
            if REF in value:
                return getattr(self.created[value[REF]], snake(value["output"]))
            return {snake(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def options(self, spec: Resource, parent: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent,
            depends_on=[self.created[urn] for urn in spec.dependencies] or None,
            provider=self.created[spec.provider] if spec.provider else None,
            protect=spec.protect or None,
        )

    def build(self, spec: Resource, parent: pulumi.Resource | None) -> pulumi.Resource:
        if spec.custom:
            cls = CUSTOM_TYPES[spec.type]
            kwargs = {snake(k): self.value(v) for k, v in spec.inputs.items()}
            resource = cls(spec.name, **kwargs, opts=self.options(spec, parent))
        else:
            cls = COMPONENT_TYPES[spec.type]
            resource = cls(spec.name, cls.Args(spec=spec, context=self), opts=self.options(spec, parent))
        self.created[spec.urn] = resource
        return resource

    def build_children(self, parent: pulumi.Resource, spec: Resource) -> list[pulumi.Resource]:
        return [self.build(child, parent) for child in self.children.get(spec.urn, [])]


def build_stack(resources: list[Resource], config: pulumi.Config | None = None) -> BuildContext:
    """Register every compiled resource, top-level components first; they build their children."""
    from . import feedstock, mirror, organization  # noqa: F401  (registers the component types)

    context = BuildContext(resources, config or pulumi.Config())
    for spec in context.children.get(None, []):
        context.build(spec, None)
    return context
