"""The org-wide resources of a GitHub organization: settings, memberships, teams, repositories, secrets."""

from __future__ import annotations

import pulumi_github as github

from ..compiler import github as gh
from .base import CompiledComponent
from .factory import component


@component(gh.ORGANIZATION)
class GithubOrganization(CompiledComponent):
    TYPE = gh.ORGANIZATION

    def outputs(self) -> dict:
        return {
            "memberships": sum(isinstance(c, github.Membership) for c in self.children),
            "teams": [c.name for c in self.children if isinstance(c, github.Team)],
            "repositories": [c.name for c in self.children if isinstance(c, github.Repository)],
        }
