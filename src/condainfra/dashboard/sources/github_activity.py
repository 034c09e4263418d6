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

import json
import os
import re
import time
from datetime import datetime, timezone
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...config.models import FEEDSTOCK_NAME, REPO_NAME
from ...jsondoc import loads
from ...urls import public_url
from .. import tables
from ..settings import DashboardSettings

TOKEN_ENV = "GITHUB_TOKEN"
REQUESTS_PER_FEEDSTOCK = 3
MAX_BODY = 4 << 20  # one answer of at most 100 check runs is well under 1 MB
REQUEST_DEADLINE = 30.0
RUN_DEADLINE = 60.0  # a tenth of the shortest refresh period would be 3 s a feedstock at worst
FAILED = {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
_LAST_PAGE = re.compile(r'[?&]page=(\d{1,9})[^>]*>;\s*rel="last"')


class RateLimited(Exception):
    """GitHub refused for the rate limit: this run stops, the next one goes on where it stopped."""


class _Fetcher:
    def __init__(self, api: str, client: httpx.Client, deadline: float):
        self.api, self.client, self.deadline, self.spent = api.rstrip("/"), client, deadline, 0

    def get(self, path: str, etags: dict, summarise) -> object:
        """``summarise(answer, headers)`` of the answer at ``path``, or the stored summary when GitHub
        says it has not changed (304). Bounded: a deadline per request and per run, a size cap."""
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"the run's {RUN_DEADLINE:.0f} s deadline")
        headers = {}
        known = etags.get(path)
        if known:
            headers["If-None-Match"] = known[0]
        self.spent += 1
        started = time.monotonic()
        with self.client.stream("GET", self.api + path, headers=headers) as response:
            if response.status_code == 304 and known:
                return known[1]
            if response.status_code in (403, 429) and (response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers):
                reset = response.headers.get("x-ratelimit-reset", "")
                when = datetime.fromtimestamp(int(reset), timezone.utc).strftime("%H:%M UTC") if reset.isdigit() else "later"
                raise RateLimited(f"rate limit reached until {when}")
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request, response=response)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise ValueError(f"answer larger than {MAX_BODY >> 20} MiB")
                if time.monotonic() - started > REQUEST_DEADLINE:
                    raise TimeoutError(f"answer slower than {REQUEST_DEADLINE:.0f} s")
            value = summarise(loads(bytes(body), f"GitHub {path}"), response.headers)
            if response.headers.get("etag", "").isascii() and response.headers.get("etag"):
                etags[path] = [response.headers["etag"][:200], value]
            remaining = response.headers.get("x-ratelimit-remaining", "")
            if remaining.isdigit() and int(remaining) == 0:
                etags["_exhausted"] = response.headers.get("x-ratelimit-reset", "")
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


def refresh_activity(db: Session, settings: DashboardSettings, counts: dict[str, int]) -> list[str]:
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
    problems: list[str] = []
    done = 0
    timeout = httpx.Timeout(REQUEST_DEADLINE, connect=10.0)
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=False) as client:
        fetch = _Fetcher(settings.github_api, client, time.monotonic() + RUN_DEADLINE)
        for org, name, _ in rows:
            if fetch.spent + REQUESTS_PER_FEEDSTOCK > budget or not (FEEDSTOCK_NAME.fullmatch(name) and REPO_NAME.fullmatch(org)):
                continue
            row = db.get(G, (org, name)) or G(org=org, feedstock=name, etags="{}")
            try:
                etags = json.loads(row.etags or "{}")
            except ValueError:
                etags = {}
            base = f"/repos/{quote(org, safe='')}/{quote(name + '-feedstock', safe='')}"
            try:
                repo = fetch.get(base, etags, _repo)
                if repo is not None:
                    prs = fetch.get(f"{base}/pulls?state=open&per_page=1", etags, _count)
                    ci = fetch.get(f"{base}/commits/{quote(repo['branch'], safe='')}/check-runs?per_page=100", etags, ci_state) if repo["branch"] else None
                    row.default_branch, row.open_prs, row.ci_state = repo["branch"], prs, ci
                    row.open_issues = None if repo["issues_and_prs"] is None or prs is None else max(0, repo["issues_and_prs"] - prs)
            except RateLimited:
                counts["GitHub rate limited"] = 1  # expected without a token: not a problem, the next runs go on
                break
            except (httpx.HTTPError, TimeoutError, ValueError) as exc:
                problems.append(f"GitHub API ({public_url(settings.github_api)}): {org}/{name}-feedstock: {type(exc).__name__}: {str(exc)[:200]}")
                if isinstance(exc, (httpx.TransportError, TimeoutError)):
                    break  # the API is not answering: the rest waits for the next run
                continue
            exhausted = etags.pop("_exhausted", None)
            row.etags = json.dumps(etags)
            row.checked_at = datetime.now(timezone.utc).replace(tzinfo=None)
            db.merge(row)
            done += 1
            if exhausted is not None:
                break  # the hour's requests are spent: expected without a token, the next run goes on
    counts["GitHub repositories read"] = done
    return problems
