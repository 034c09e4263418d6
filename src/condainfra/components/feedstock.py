"""Feedstocks: a repository, its maintainer team and their ruleset; a shard groups a slice of them."""

from __future__ import annotations

import pulumi_github as github

from ..compiler import github as gh
from .base import CompiledComponent
from .factory import component


@component(gh.FEEDSTOCK_SHARD)
class FeedstockShard(CompiledComponent):
    TYPE = gh.FEEDSTOCK_SHARD

    def outputs(self) -> dict:
        return {"feedstocks": sum(isinstance(c, Feedstock) for c in self.children)}


@component(gh.FEEDSTOCK)
class Feedstock(CompiledComponent):
    TYPE = gh.FEEDSTOCK

    def outputs(self) -> dict:
        repos = [c for c in self.children if isinstance(c, github.Repository)]
        return {"repository": repos[0].full_name if repos else None}
