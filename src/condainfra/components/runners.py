"""The CI runners: GitHub runner groups and the AWS pools of ephemeral runners registered into them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from ..compiler import runners as ru
from .base import ComponentArgs, CompiledComponent
from .factory import component


@component(ru.RUNNERS)
class Runners(CompiledComponent):
    TYPE = ru.RUNNERS

    def outputs(self) -> dict:
        groups = [c for c in self.children if isinstance(c, RunnerGroup)]
        return {"runner_group_ids": {g.group_name: g.group_id for g in groups}}


@component(ru.REPOSITORY_LOOKUP)
class RepositoryLookup(pulumi.ComponentResource):
    """An existing repository, read (never created, changed or deleted: the org stacks own it)
    for the numeric id that a runner group's selected repositories are given as."""

    Args = ComponentArgs

    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(ru.REPOSITORY_LOOKUP, name, None, opts)
        org, repo = name.split("/", 1)
        provider = next(
            args.context.created[spec.urn]
            for spec in args.context.resources
            if spec.type == ru.GITHUB_PROVIDER and spec.name == org and spec.urn in args.context.created
        )
        read = github.Repository.get(name, repo, opts=pulumi.ResourceOptions(parent=self, provider=provider))
        # The id without the read as a dependency: a read is never changed or deleted by the engine,
        # so the edge would order nothing, and the registrations stay exactly the compiled ones.
        repo_id = read.repo_id
        self.repo_id = pulumi.Output(set(), repo_id.future(), repo_id.is_known(), repo_id.is_secret())
        self.register_outputs({"repo_id": self.repo_id})


@component(ru.RUNNER_GROUP)
class RunnerGroup(CompiledComponent):
    """A GitHub Actions runner group of one org, and the pools whose runners register into it."""

    TYPE = ru.RUNNER_GROUP

    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None):
        self.group_name = name
        super().__init__(name, args, opts)

    @property
    def group_id(self):
        groups = [c for c in self.children if isinstance(c, github.ActionsRunnerGroup)]
        return groups[0].id if groups else None

    def outputs(self) -> dict:
        return {"runner_group_id": self.group_id, "pools": len([c for c in self.children if isinstance(c, RunnerPool)])}


@component(ru.RUNNER_POOL)
class RunnerPool(CompiledComponent):
    """Launch template, autoscaling group and least-privilege instance role of one runner pool."""

    TYPE = ru.RUNNER_POOL

    def outputs(self) -> dict:
        groups = [c for c in self.children if isinstance(c, aws.autoscaling.Group)]
        roles = [c for c in self.children if isinstance(c, aws.iam.Role)]
        return {"autoscaling_group": groups[0].name if groups else None, "role_arn": roles[0].arn if roles else None}
