"""Who maintains what, from the org-as-code config under ``stacks/``.

The dashboard reads the config leniently: a config that `condainfra validate` would refuse
(a feedstock naming an unknown team, say) still yields every feedstock it can, and each
problem is reported once rather than blanking the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...compiler.sharding import shard_of, shard_stack_name
from ...config.loader import ORG_FILE, load_org
from ...config.models import TEAM_REFERENCE
from ...errors import CondainfraError


@dataclass(frozen=True)
class DeclaredFeedstock:
    org: str
    name: str
    stack: str
    archived: bool
    # login -> the team reference it came through ("" for a direct maintainer)
    maintainers: dict[str, str]


@dataclass
class OrgPeople:
    feedstocks: dict[tuple[str, str], DeclaredFeedstock] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_org_people(root: Path) -> OrgPeople:
    people = OrgPeople()
    stacks = root / "stacks"
    if not stacks.is_dir():
        people.problems.append(f"{stacks}: no stacks folder")
        return people
    declarations = {}
    for org_dir in sorted(p for p in stacks.iterdir() if (p / ORG_FILE).is_file()):
        try:
            declaration, issues = load_org(org_dir, root)
        except CondainfraError as exc:
            people.problems.append(str(exc))
            continue
        people.problems += [str(i) for i in issues]
        if declaration is not None:
            declarations[declaration.name] = declaration
    for org, decl in declarations.items():
        people.owners[org] = list(decl.config.owners)
        if decl.config.feedstocks is None:
            continue
        shards = decl.config.feedstocks.shards
        for feedstock in decl.feedstocks.values():
            maintainers: dict[str, str] = {}
            for entry in feedstock.maintainers:
                if "/" not in entry:
                    maintainers.setdefault(entry.lower(), "")
                    continue
                match = TEAM_REFERENCE.fullmatch(entry)
                team_org, team = (match.group(1), match.group(2)) if match else ("", "")
                declared = declarations.get(team_org)
                spec = declared.config.teams.get(team) if declared else None
                if spec is not None:
                    logins = (*spec.maintainers, *spec.members)
                elif declared is not None and team in declared.feedstocks:
                    # a feedstock's own team (`conda-forge/jaxlib`): that feedstock's direct maintainers
                    logins = tuple(m for m in declared.feedstocks[team].maintainers if "/" not in m)
                else:
                    if not any(repr(entry) in p and repr(feedstock.name) in p for p in people.problems):  # the loader said so already
                        people.problems.append(f"feedstock {org}/{feedstock.name}: team {entry!r} is not declared; its members are left out")
                    continue
                for login in logins:
                    maintainers.setdefault(login.lower(), entry)
            people.feedstocks[(org, feedstock.name)] = DeclaredFeedstock(
                org, feedstock.name, shard_stack_name(org, shard_of(feedstock.shard_key, shards)), feedstock.archived, maintainers
            )
    return people
