"""`drift` against a GitHub stand-in the size of conda-forge, beside a per-resource refresh.

    python benchmarks/github_drift.py [--repos 28906 --teams 29000 --members 6000] [--sample 1]

The stand-in (condainfra.devtools.github_stand_in, a mock of GitHub on 127.0.0.1) serves a generated
org of 28,906 repositories, about 29,000 teams and 6,000 members, and a checkout declaring it with
conda-forge's feedstock defaults (ruleset, features) in 32 shards. It times `condainfra drift --all`
(one bulk read: GraphQL by cursor and a few REST calls) in a fresh process and counts the requests
and GraphQL points the stand-in served. Then it reads the same org the way a Pulumi refresh does:
one call per compiled resource, each the provider's own Read (terraform-provider-github,
github/resource_github_*.go: Repository `Repositories.Get`, Team `Teams.GetTeamByID`, TeamMembers
one GraphQL `members(first: 100)` query, TeamRepository `Teams.IsTeamRepoByID`, Membership
`Organizations.GetOrgMembership`, RepositoryRuleset `Repositories.GetRuleset`, OrganizationSettings
`Organizations.Get`), 16 at a time. With --sample N a random 1/N of the resources is read, and the
figures are scaled up (said so). Goal: the bulk read under 1,000 points for the whole org.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from condainfra.compiler import github as gh
from condainfra.devtools.github_org import generated_org, write_config
from condainfra.devtools.github_stand_in import TOKEN, StandIn
from condainfra.importers.github_reader import QUERIES
from condainfra.project import Project

CONDA_FORGE_DEFAULTS = {
    "description": "A conda-smithy repository for {name}.",
    "team_permission": "push",
    "features": {"has_issues": True, "has_wiki": False, "has_projects": False},
    "ruleset": {"name": "protect-default-branch", "enforcement": "active", "block_deletion": True, "block_force_push": True},
}
HOUR = {"token": 5000, "app": 12500}


def read_call(r, org: str) -> tuple[str, str, dict | None] | None:
    """The provider's Read of one resource, as (method, path, GraphQL body)."""
    i = r.inputs
    if r.type == gh.REPOSITORY:
        return "GET", f"/repos/{org}/{i['name']}", None
    if r.type == gh.RULESET:
        return "GET", f"/repos/{org}/{i['repository']}/rulesets/1", None
    if r.type == gh.TEAM:
        return "GET", f"/orgs/{org}/teams/{i['name']}", None
    if r.type == gh.TEAM_MEMBERS:
        return "POST", "/graphql", {"query": QUERIES["team_members"], "variables": {"org": org, "slug": i["teamSlug"], "first": 100}}
    if r.type == gh.TEAM_REPOSITORY:
        return "GET", f"/orgs/{org}/teams/{r.name.rsplit('/', 1)[1]}/repos/{org}/{i['repository']}", None
    if r.type == gh.MEMBERSHIP:
        return "GET", f"/orgs/{org}/memberships/{i['username']}", None
    if r.type == gh.ORG_SETTINGS:
        return "GET", f"/orgs/{org}", None
    if r.custom and not r.type.startswith("pulumi:providers:"):
        return "GET", f"/orgs/{org}/{r.type.rsplit(':', 1)[-1].lower()}/{r.name}", None
    return None


async def per_resource(url: str, calls: list[tuple[str, str, dict | None]], jobs: int = 16) -> None:
    queue = list(calls)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        async def worker() -> None:
            while queue:
                method, path, body = queue.pop()
                await client.request(method, path, json=body)

        await asyncio.gather(*(worker() for _ in range(jobs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=28906)
    parser.add_argument("--teams", type=int, default=29000)
    parser.add_argument("--members", type=int, default=6000)
    parser.add_argument("--sample", type=int, default=1, help="per resource, read a random 1/N of the resources and scale up")
    args = parser.parse_args()

    generated = generated_org(repos=args.repos, teams=args.teams, members=args.members)
    with tempfile.TemporaryDirectory(prefix="github-drift-") as folder:
        root = write_config(Path(folder) / "org", generated, shards=32, feedstocks=CONDA_FORGE_DEFAULTS)
        project = Project.load(root)
        resources = [r for spec in project.stacks() for r in project.compile(spec)]
        kinds = Counter(r.type.rsplit(":", 1)[-1] for r in resources if r.custom and not r.type.startswith("pulumi:providers:"))
        print(f"org: {len(generated.data.repos):,} repositories, {len(generated.data.teams):,} teams, "
              f"{len(generated.data.admins) + len(generated.data.members):,} members; {len(project.stacks())} stacks, "
              f"{sum(kinds.values()):,} resources ({', '.join(f'{k} {n:,}' for k, n in kinds.most_common())})")

        with StandIn(generated.data) as server:
            env = {**os.environ, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url}
            started = time.monotonic()
            done = subprocess.run([str(Path(sys.executable).with_name("condainfra")), "drift", "--all", "--format", "json", "--out", str(Path(folder) / "drift.json"),
                                   "--root", str(root)], env=env, capture_output=True, text=True)
            wall = time.monotonic() - started
            if done.returncode not in (0, 2):
                sys.exit(f"drift failed: {done.stderr.strip()[-500:]}")
            b = server.behaviour
            bulk = (len(b.requests), b.queries, b.points, wall)
            print(f"drift (bulk read):        {bulk[0]:>8,} requests ({bulk[1]:,} GraphQL queries), {bulk[2]:>6,} GraphQL points, "
                  f"{wall:6.1f} s wall (the whole command: load, compile 32 shards, read, compare); {done.stdout.strip().splitlines()[0]}")

            calls = [c for c in (read_call(r, generated.data.login) for r in resources) if c is not None]
            # a random sample: a stride would pick one kind only (a feedstock is five resources in a row)
            sample = random.Random(20).sample(calls, len(calls) // args.sample) if args.sample > 1 else calls
            before_requests, before_points = len(b.requests), b.points
            started = time.monotonic()
            asyncio.run(per_resource(server.url, sample))
            scale = len(calls) / len(sample)
            wall = (time.monotonic() - started) * scale
            requests = round((len(b.requests) - before_requests) * scale)
            points = round((b.points - before_points) * scale)
            scaled = f" (a random 1/{args.sample} of the reads, scaled up)" if args.sample > 1 else ""
            print(f"one REST call a resource: {requests:>8,} requests, {points:>6,} GraphQL points, {wall:6.1f} s wall at the stand-in{scaled}")
            rest = requests - points
            print(f"  on one token: {rest / HOUR['token']:.1f} h of REST at 5,000/h ({rest / HOUR['app']:.1f} h at 12,500/h); "
                  f"the bulk read: {bulk[0] - bulk[1]} REST requests and {bulk[2]} of 5,000 GraphQL points an hour")
            goal = "met" if bulk[2] < 1000 else "NOT met"
            print(f"goal (< 1,000 points for the whole org): {goal}")


if __name__ == "__main__":
    main()
