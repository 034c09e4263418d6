"""The stacks of the project: one per org, plus the feedstock shards of orgs that have feedstocks."""

from __future__ import annotations

from dataclasses import dataclass

from ..config.loader import OrgDeclaration
from .sharding import shard_stack_name


@dataclass(frozen=True)
class StackSpec:
    name: str
    mission: str  # infra | mirror | dashboard
    kind: str  # org | feedstocks | ...
    org: str | None = None
    shard: int | None = None


def infra_stacks(orgs: dict[str, OrgDeclaration]) -> list[StackSpec]:
    specs = []
    for name, decl in sorted(orgs.items()):
        specs.append(StackSpec(name, "infra", "org", org=name))
        if decl.config.feedstocks is not None:
            for shard in range(decl.config.feedstocks.shards):
                specs.append(StackSpec(shard_stack_name(name, shard), "infra", "feedstocks", org=name, shard=shard))
    return specs
