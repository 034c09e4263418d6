"""One GitHub session per run: one client (the token, the ETag cache, the fetch policy, bounded
concurrency) and one points budget, shared by every org read and every removal of the run, so
that stacks run side by side (``--parallel N``) draw on one token's limits whatever N is."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

from ..errors import CondainfraError
from ..importers.github_api import CACHE_DIR, RUN_DEADLINE, Counters, GitHubClient
from ..importers.github_reader import Budget, OrgState, read_org_state

DEFAULT_API = "https://api.github.com"
# GitHub's secondary limit allows 100 requests at once; a run keeps far below it
JOBS = 8
T = TypeVar("T")


def api_url(given: str | None = None) -> str:
    """--api-url, else GITHUB_API_URL (as GitHub Actions sets it), else api.github.com."""
    return given or os.environ.get("GITHUB_API_URL") or DEFAULT_API


def token() -> str:
    value = os.environ.get("GITHUB_TOKEN")
    if not value:
        raise CondainfraError("GITHUB_TOKEN is not set: reading the org on GitHub needs a token (an owner's, to see its settings and owners)")
    return value


@dataclass
class Session:
    root: Path
    url: str
    say: Callable[[str], None]
    jobs: int = JOBS
    budget: Budget = field(default_factory=Budget)
    counters: Counters = field(default_factory=Counters)
    states: dict[str, OrgState] = field(default_factory=dict)
    # stacks run in threads (--parallel): one read of an org at a time, and one budget, for all of them
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, work: Callable[[GitHubClient], Awaitable[T]]) -> T:
        """``work`` with a client of this session (its counters added to the session's)."""
        from ..fetch import FetchPolicy

        policy = FetchPolicy(run_deadline=RUN_DEADLINE)
        client = GitHubClient(self.url, token(), self.root / CACHE_DIR, self.say, jobs=self.jobs, policy=policy)

        async def go() -> T:
            async with client:
                return await work(client)

        try:
            return asyncio.run(go())
        finally:
            for name in ("requests", "not_modified", "waits"):
                setattr(self.counters, name, getattr(self.counters, name) + getattr(client.counters, name))

    def read(self, orgs: list[str], fresh: bool = False) -> dict[str, OrgState]:
        """Each org read once per session (all of them side by side), unless ``fresh``."""
        with self.lock:
            wanted = [o for o in dict.fromkeys(orgs) if fresh or o not in self.states]

            async def work(client: GitHubClient) -> list[OrgState]:
                return list(await asyncio.gather(*(read_org_state(client, org, self.budget) for org in wanted)))

            if wanted:
                self.states.update({s.org: s for s in self.run(work)})
            return {o: self.states[o] for o in orgs}

    def figures(self) -> str:
        return f"{self.counters.requests} request(s) ({self.counters.not_modified} not modified), {self.budget.spent} GraphQL point(s)"
