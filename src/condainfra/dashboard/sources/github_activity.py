"""Open pull requests, open issues and the default branch's CI state of each feedstock, from
GitHub's REST API, read by the periodic refresh (never by a page request).

GitHub allows 60 requests an hour without a token and 5,000 with one, and conda-forge has about
29,000 feedstocks, so each run spends at most ``github_requests_per_run`` requests on the
feedstocks read longest ago, and a full round takes several runs (many more without a token).
Conditional requests (``If-None-Match`` with the ETag of the last answer) make an unchanged answer a
304, which GitHub does not count against the limit. When the limit is reached, the run stops and
says until when.

Per feedstock: ``GET /repos/{org}/{name}-feedstock`` (default branch; ``open_issues_count`` counts
issues and pull requests), ``GET .../pulls?state=open&per_page=1`` (the count is the last page
number of its ``Link`` header) and ``GET .../commits/{branch}/check-runs?per_page=100``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime, timezone
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...config.models import FEEDSTOCK_NAME, REPO_NAME
from ...config.quetz import GITHUB_TOKEN_ENV as TOKEN_ENV
from ...fetch.http import fetch_once, new_client, parse_etag
from ...fetch.limits import FetchError, FetchPolicy, LimitExceeded
from ...jsondoc import JsonDocumentError, loads
from ...urls import public_url
from .. import tables
from ..settings import DashboardSettings

REQUESTS_PER_FEEDSTOCK = 3
FAILED = {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
_LAST_PAGE = re.compile(r'[?&]page=(\d{1,9})[^>]*>;\s*rel="last"')


class RateLimited(Exception):
    """GitHub refused for the rate limit: this run stops, the next one goes on where it stopped."""


class _Fetcher:
    """GET under the refresh's fetch policy (its deadlines, size cap and header parsing), one attempt:
    a run that cannot finish leaves the rest for the next run."""

    def __init__(self, api: str, client: httpx.AsyncClient, policy: FetchPolicy):
        self.api, self.client, self.policy, self.spent, self.exhausted = api.rstrip("/"), client, policy, 0, False

    async def get(self, path: str, etags: dict, summarise) -> object:
        """``summarise(answer, headers)`` of the answer at ``path``, or the stored summary when GitHub
        says it has not changed (304)."""
        known = etags.get(path)
        headers = {"If-None-Match": known[0]} if known else {}
        self.spent += 1
        answer = await fetch_once(self.client, "GET", self.api + path, policy=self.policy, kind="api", headers=headers, retry_statuses=frozenset())
        if answer.status == 304 and known:
            return known[1]
        if answer.status in (403, 429) and (answer.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in answer.headers):
            raise RateLimited()
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise FetchError(f"{public_url(self.api + path)}: HTTP {answer.status}")
        value = summarise(loads(answer.body, f"GitHub {path}"), answer.headers)
        etag = parse_etag(answer.headers.get("etag"))
        if etag:
            etags[path] = [etag, value]
        self.exhausted = answer.headers.get("x-ratelimit-remaining") == "0"
        return value


def _repo(data, headers):
    if not isinstance(data, dict):
        return None
    branch = data.get("default_branch")
    issues = data.get("open_issues_count")
    return {"branch": branch if isinstance(branch, str) and REPO_NAME.fullmatch(branch) else None,
            "issues_and_prs": issues if isinstance(issues, int) and not isinstance(issues, bool) and issues >= 0 else None}


def _count(data, headers):
    last = _LAST_PAGE.search(headers.get("link", ""))
    if last:
        return int(last.group(1))
    return len(data) if isinstance(data, list) else None


def ci_state(data, headers=None) -> str | None:
    """success, failure, pending or none (no checks), from a check-runs answer."""
    runs = data.get("check_runs") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        return None
    runs = [r for r in runs if isinstance(r, dict)]
    if not runs:
        return "none"
    if any(r.get("conclusion") in FAILED for r in runs):
        return "failure"
    if any(r.get("status") != "completed" for r in runs):
        return "pending"
    return "success"


def refresh_activity(db: Session, settings: DashboardSettings, counts: dict[str, int], policy: FetchPolicy | None = None) -> list[str]:
    """Read the feedstocks read longest ago, within the run's request budget; the problems, if any."""
    G, F = tables.GithubActivity, tables.Feedstock
    budget = settings.github_requests_per_run
    rows = db.execute(
        select(F.org, F.name, G.checked_at).outerjoin(G, (G.org == F.org) & (G.feedstock == F.name)).where(F.archived.isnot(True))
        .order_by(G.checked_at.is_not(None), G.checked_at, F.name).limit(max(1, budget // REQUESTS_PER_FEEDSTOCK))
    ).all()
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "condainfra-dashboard"}
    if os.environ.get(TOKEN_ENV):
        headers["Authorization"] = f"Bearer {os.environ[TOKEN_ENV]}"
    readable = [(org, name) for org, name, _ in rows if FEEDSTOCK_NAME.fullmatch(name) and REPO_NAME.fullmatch(org)]
    etags = {}
    for g in db.execute(select(G).where(G.feedstock.in_({n for _, n in readable}))).scalars():
        try:
            etags[(g.org, g.feedstock)] = json.loads(g.etags or "{}")
        except ValueError:
            pass
    problems: list[str] = []
    results = asyncio.run(_read(readable, etags, settings, policy or FetchPolicy(), headers, budget, problems, counts))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for (org, name), found in results.items():
        row = db.get(G, (org, name)) or G(org=org, feedstock=name)
        if found is not None:
            row.default_branch, row.open_prs, row.open_issues, row.ci_state = found
        row.etags = json.dumps(etags.get((org, name), {}))
        row.checked_at = now
        db.merge(row)
    counts["GitHub repositories read"] = len(results)
    return problems


async def _read(feedstocks, etags, settings, policy, headers, budget, problems, counts) -> dict:
    """(org, feedstock) -> (default branch, open PRs, open issues, CI state), or None without a repository."""
    results: dict = {}
    shown = public_url(settings.github_api)
    async with new_client(policy, headers=headers) as client:
        fetch = _Fetcher(settings.github_api, client, policy)
        for org, name in feedstocks:
            if fetch.spent + REQUESTS_PER_FEEDSTOCK > budget:
                break
            known = etags.setdefault((org, name), {})
            base = f"/repos/{quote(org, safe='')}/{quote(name + '-feedstock', safe='')}"
            try:
                repo = await fetch.get(base, known, _repo)
                if repo is None:
                    results[(org, name)] = None
                else:
                    prs = await fetch.get(f"{base}/pulls?state=open&per_page=1", known, _count)
                    ci = await fetch.get(f"{base}/commits/{quote(repo['branch'], safe='')}/check-runs?per_page=100", known, ci_state) if repo["branch"] else None
                    issues = None if repo["issues_and_prs"] is None or prs is None else max(0, repo["issues_and_prs"] - prs)
                    results[(org, name)] = (repo["branch"], prs, issues, ci)
            except RateLimited:
                counts["GitHub rate limited"] = 1  # expected without a token: not a problem, the next runs go on
                break
            except (FetchError, JsonDocumentError) as exc:
                problems.append(f"GitHub API ({shown}): {org}/{name}-feedstock: {str(exc)[:300]}")
                if isinstance(exc, LimitExceeded):
                    break  # the run's time is up: the rest waits for the next run
            except httpx.TransportError as exc:
                problems.append(f"GitHub API ({shown}): not reachable ({type(exc).__name__})")
                break
            if fetch.exhausted:
                break  # the hour's requests are spent: expected without a token, the next run goes on
    return results
