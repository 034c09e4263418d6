"""The bulk org reader against the GitHub stand-in (a mock of GitHub on 127.0.0.1, condainfra.devtools):
GraphQL by cursor with GitHub's cost rule, a team whose members span pages, the hour's points used
up (a wait said on stderr), the minute's secondary limit, and the stand-in's own limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from condainfra.devtools.github_graphql import QueryError, cost
from condainfra.devtools.github_org import generated_org
from condainfra.devtools.github_stand_in import TOKEN, StandIn
from condainfra.importers.github_api import GitHubClient, GitHubError
from condainfra.importers.github_reader import QUERIES, TEAM_PAGE, Budget, read_org_state


def read(server: StandIn, budget: Budget | None = None, said: list[str] | None = None):
    async def go():
        async with GitHubClient(server.url, TOKEN, None, (said if said is not None else []).append, jobs=4) as client:
            return await read_org_state(client, server.data.login, budget)

    return asyncio.run(go())


@pytest.fixture
def org():
    generated = generated_org(repos=300, teams=310, members=260)
    with StandIn(generated.data) as server:
        yield generated, server


def test_reads_the_whole_org_in_a_few_points(org):
    generated, server = org
    budget = Budget()
    state = read(server, budget)
    data = generated.data
    assert set(state.members) == set(data.admins + data.members)
    assert {m for m, role in state.members.items() if role == "admin"} == set(data.admins)
    assert set(state.repositories) == {r["name"] for r in data.repos}
    assert set(state.teams) == {t["slug"] for t in data.teams}
    # all-members holds 252 people: its first 100 came with the teams, the rest by its own cursor
    assert len(state.teams["all-members"].members) == len(data.team_members["all-members"]["member"]) == 252
    one = state.teams["pkg00007"]
    assert one.repositories == {"pkg00007-feedstock": "push"}
    assert one.members == {login: role for role in ("maintainer", "member") for login in data.team_members["pkg00007"][role]}
    # 3 pages of members, 3 of repositories, 5 of 74 teams, 2 more of all-members (on from its cursor): 13 points, 15 requests
    assert (server.behaviour.points, budget.spent) == (13, 13)
    assert len(server.behaviour.requests) == 15
    per_resource = len(data.repos) + len(data.teams) * 3 + len(data.admins + data.members)
    assert len(server.behaviour.requests) * 50 < per_resource


def test_github_cost_rule_and_node_limits():
    assert cost(QUERIES["teams"], {"first": TEAM_PAGE}) == (1, TEAM_PAGE + TEAM_PAGE * 200)
    assert cost(QUERIES["teams"], {"first": 100})[0] == 2  # why a page holds 74 teams
    assert cost(QUERIES["members"], {"first": 100})[0] == 1
    with pytest.raises(QueryError, match="first` limit of 100"):
        cost(QUERIES["members"], {"first": 101})
    with pytest.raises(QueryError, match="maximum limit of 500000"):
        cost("query X { a(first: 100) { b(first: 100) { c(first: 100) { d(first: 100) } } } }", {})


def test_points_used_up_waits_for_the_reset_and_says_so(org):
    _, server = org
    budget = Budget()
    budget.remaining, budget.reset_at = 0, time.time() + 1.5  # as the last answer said
    said: list[str] = []
    started = time.monotonic()
    read(server, budget, said)
    assert time.monotonic() - started >= 1.0
    assert any("GraphQL points used up" in s and "waiting" in s for s in said)


def test_the_minute_s_points_stay_under_the_secondary_limit():
    budget = Budget(per_minute=5)
    for _ in range(5):
        assert budget.wait_before(1) is None
        budget.record({"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"})
    wait, why = budget.wait_before(1)
    assert 55 < wait <= 60 and "secondary limit" in why


def test_an_org_the_token_cannot_see_is_one_message(org):
    _, server = org
    server.data.org["login"] = "elsewhere"

    async def go():
        async with GitHubClient(server.url, TOKEN, None, lambda _: None) as client:
            return await read_org_state(client, "bigorg")

    with pytest.raises(GitHubError, match="/orgs/bigorg(/outside_collaborators)?: HTTP 404|Could not resolve to an Organization"):
        asyncio.run(go())
