"""A small reader of the GitHub REST API, for `condainfra import github`.

* The token comes from ``GITHUB_TOKEN`` and goes only to the API's own host: a ``Link`` header
  that points elsewhere is refused, so a hostile server cannot collect it.
* Lists follow ``Link: <...>; rel="next"`` until there is none.
* Every answer is cached on disk under ``.condainfra/cache/github/`` with its ``ETag`` (URL, ETag
  and body only, never a request header), and asked again with ``If-None-Match``: a ``304`` costs
  nothing of the rate limit, so a second import of a 29,000-repository org is cheap.
* Rate limits: a ``403``/``429`` with ``x-ratelimit-remaining: 0`` waits until
  ``x-ratelimit-reset``; one with ``retry-after`` waits that long; a secondary limit without either
  waits a minute, then longer; an answer that was the hour's last waits for the reset before the
  next request. One pause holds every request in flight, and is said on stderr once, before it starts.
* Every request follows the project's fetch policy (``condainfra.fetch``): an answer is at most the
  ``api`` size (decompressed), each request and the whole run have a deadline, a list has at most
  ``pages`` pages, 5xx answers and dropped connections are retried a bounded number of times, and so
  is a rate limit (``attempts``). When one gives up the import stops with one message, before
  anything is written. Header values are read strictly: an ETag that is not visible ASCII is never
  cached, a ``Link`` header that is not a list of links is an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

import httpx

from .. import jsondoc
from ..errors import CondainfraError
from ..fetch import Answer, FetchError, FetchPolicy, RetryableStatus, Unreachable, fetch_once, new_client, next_link, parse_etag, parse_retry_after, retrying
from ..output import write_atomic
from ..project import WORK_DIR

API_VERSION = "2022-11-28"
PER_PAGE = 100
CACHE_DIR = Path(WORK_DIR) / "cache" / "github"
RATE_LIMIT_STATUSES = (403, 429)
SECONDARY_WAIT = 60.0  # GitHub: "wait for at least one minute" when it gives no time
MAX_WAIT = 3700.0  # the primary limit resets within the hour
ATTEMPTS = 5
RUN_DEADLINE = 3 * 3600.0  # an hour's rate-limit wait fits, an endless server does not
SERVER_ERRORS = frozenset({500, 502, 503, 504})  # 403/429 are GitHub's rate limits, waited for below


class GitHubError(CondainfraError):
    """An answer the import cannot go on without; ``status`` says which."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Counters:
    requests: int = 0
    not_modified: int = 0
    waits: int = 0


class ETagCache:
    """Answers by URL: ``{"url", "etag", "body"}`` files, named by the URL's hash."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _path(self, url: str) -> Path:
        assert self.folder is not None
        return self.folder / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def get(self, url: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        try:
            entry = jsondoc.loads(self._path(url).read_bytes(), str(self._path(url)))
        except (OSError, jsondoc.JsonDocumentError):
            return None  # no entry, or a damaged one: ask GitHub for the whole answer
        # an ETag that is not visible ASCII (written by an older version) cannot be sent back
        valid = isinstance(entry, dict) and entry.get("url") == url and isinstance(entry.get("etag"), str) and parse_etag(entry["etag"])
        return entry if valid else None

    def put(self, url: str, etag: str, body: Any, next_url: str | None) -> None:
        if self.folder is None or parse_etag(etag) is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path(url), json.dumps({"url": url, "etag": etag, "next": next_url, "body": body}))


def _reset(headers: httpx.Headers) -> float | None:
    reset = headers.get("x-ratelimit-reset", "")
    return float(reset) if reset.isascii() and reset.isdigit() and len(reset) <= 12 else None


def _message(answer: Answer) -> str:
    try:
        body = jsondoc.loads(answer.body, "GitHub's answer")
    except jsondoc.JsonDocumentError:
        return ""
    return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""


def _rate_limit_wait(response: Answer, attempt: int, now: float) -> float | None:
    """How long a "too many requests" answer asks to wait; None when it is no rate limit."""
    if response.status not in RATE_LIMIT_STATUSES:
        return None
    headers = response.headers
    retry_after = parse_retry_after(headers.get("retry-after"), now)
    if retry_after is not None:
        return retry_after
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _reset(headers)
        return max(reset - now, 0.0) + 1.0 if reset is not None else SECONDARY_WAIT
    if response.status == 429 or "rate limit" in _message(response).lower():
        return SECONDARY_WAIT * 2 ** min(attempt, 4)
    return None  # a 403 that is a refusal, not a limit


class GitHubClient:
    """Reads ``GET`` resources of one API host; use as ``async with``."""

    def __init__(
        self,
        api_url: str,
        token: str | None,
        cache_dir: Path | None,
        say: Callable[[str], None],
        on_request: Callable[[], None] = lambda: None,
        jobs: int = 4,
        attempts: int | None = None,
        policy: FetchPolicy | None = None,
    ):
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment or parts.username:
            raise CondainfraError(f"--api-url {api_url!r}: expected http(s)://HOST[:PORT][/PATH]")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0 or (port is None and parts.netloc.endswith(":")):
            raise CondainfraError(f"--api-url {api_url!r}: the port must be a number from 1 to 65535")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise CondainfraError(f"--api-url {api_url!r}: plain http only to this machine (the token would travel in clear)")
        self.base = api_url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc)
        self._token = token
        self.cache = ETagCache(cache_dir)
        self.say, self.on_request = say, on_request
        self.counters = Counters()
        self._jobs = asyncio.Semaphore(jobs)
        self.policy = policy or FetchPolicy(run_deadline=RUN_DEADLINE)
        self._attempts = attempts or self.policy.attempts
        self._resume_at = 0.0  # time.time() before which no request is sent (a rate limit's reset)

    async def __aenter__(self) -> GitHubClient:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION, "User-Agent": "condainfra-import"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._http = new_client(self.policy, headers=headers, timeout=30.0, follow_redirects=False)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._http.aclose()

    @staticmethod
    def segment(name: str) -> str:
        """A name from an answer as one path segment: `../x` or `a?b` cannot reach another resource."""
        return quote(name, safe="")

    def url(self, path: str, **params: Any) -> str:
        query = urlencode(sorted(params.items()))
        return f"{self.base}{path}" + (f"?{query}" if query else "")

    def _own(self, url: str) -> str:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            raise GitHubError(f"GitHub's answer points to {parts.scheme}://{parts.netloc}, not {self._origin[0]}://{self._origin[1]}: refused (the token goes to the API host only)")
        return url

    async def _fetch(self, url: str, keep: Callable[[Any], Any] = lambda body: body) -> tuple[Any, str | None]:
        """One page: its body and the next page's URL, from the cache when GitHub says 304.
        ``keep`` cuts the body down to what is used before it is cached or returned."""
        cached = self.cache.get(url)
        headers = {"If-None-Match": cached["etag"]} if cached else {}
        path = urlsplit(url).path
        response = await self._limited("GET", url, headers)
        if response.status == 304 and cached:
            self.counters.not_modified += 1
            return cached["body"], cached.get("next")
        if response.status != 200:
            raise GitHubError(_refusal(response, url), response.status)
        try:
            body = keep(jsondoc.loads(response.body, f"GET {path}"))
        except jsondoc.JsonDocumentError as exc:
            raise GitHubError(f"{exc}; nothing was written") from None
        try:
            next_url = next_link(response.headers.get("link"), f"GET {path}")
        except FetchError as exc:
            raise GitHubError(str(exc)) from None
        next_url = self._own(next_url) if next_url else None
        etag = parse_etag(response.headers.get("etag"))
        if etag:
            self.cache.put(url, etag, body, next_url)
        return body, next_url

    async def _limited(self, method: str, url: str, headers: dict[str, str], content: bytes | None = None) -> Answer:
        """One answer within the rate limits: a limit reached waits (said once) and is asked again."""
        path = urlsplit(url).path
        async with self._jobs:
            for attempt in range(self._attempts):
                await self._paused()
                response = await self._answer(url, headers, method, content)
                wait = _rate_limit_wait(response, attempt, time.time())
                if wait is None:
                    break
                if attempt + 1 < self._attempts:
                    self._pause(wait, f"GitHub rate limit reached ({response.status} on {path})")
            else:
                raise GitHubError(f"{method} {path}: HTTP {response.status} (rate limited) after {self._attempts} attempts (limit attempts); nothing was written", response.status)
        reset = _reset(response.headers)
        if response.headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            # the last request of the hour: wait for the reset rather than be refused
            self._pause(reset - time.time() + 1.0, "GitHub rate limit used up")
        return response

    async def send(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 204)) -> tuple[Any, httpx.Headers]:
        """A request that is no cached GET (a GraphQL query's POST, an authoritative DELETE), under the
        same limits and waits; its JSON body (None when empty) and headers."""
        url = self.url(path)
        content = json.dumps(body).encode() if body is not None else None
        response = await self._limited(method, url, {"Content-Type": "application/json"} if content else {}, content)
        if response.status not in ok:
            raise GitHubError(_refusal(response, url).replace("GET", method, 1), response.status)
        try:
            parsed = jsondoc.loads(response.body, f"{method} {path}") if response.body else None
        except jsondoc.JsonDocumentError as exc:
            raise GitHubError(f"{exc}; nothing was written") from None
        return parsed, response.headers

    async def _answer(self, url: str, headers: dict[str, str], method: str = "GET", content: bytes | None = None) -> Answer:
        """One answer, server errors and dropped connections retried; limits tripped are one message."""
        try:
            async for tried in retrying(self.policy, self._attempts):
                with tried:
                    self.counters.requests += 1
                    self.on_request()
                    return await fetch_once(self._http, method, url, policy=self.policy, kind="api", headers=headers, content=content, retry_statuses=SERVER_ERRORS)
        except httpx.TransportError as exc:
            raise GitHubError(f"lost the connection to {urlsplit(url).netloc} ({type(exc).__name__}: {exc or 'no answer'}); nothing was written") from None
        except RetryableStatus as exc:
            raise GitHubError(f"GitHub kept failing: {exc} after {self._attempts} attempts; nothing was written", exc.status) from None
        except (Unreachable, FetchError) as exc:
            raise GitHubError(f"{exc}; nothing was written") from None
        raise AssertionError("unreachable")

    def _pause(self, wait: float, why: str) -> None:
        """Hold every request until ``wait`` seconds from now, and say so once per pause: with
        several requests in flight, the first limit seen stops them all."""
        wait = min(max(wait, 0.0), MAX_WAIT)
        if wait > self.policy.remaining():
            raise GitHubError(f"{why}; waiting {wait:.0f} s would pass the run's deadline of {self.policy.run_deadline:g} s (limit run); nothing was written")
        resume = time.time() + wait
        if resume > self._resume_at + 1.0:
            until = datetime.fromtimestamp(resume, timezone.utc).strftime("%H:%M:%S UTC")
            self.counters.waits += 1
            self.say(f"{why}; waiting {wait:.0f} s, until {until}")
        self._resume_at = max(self._resume_at, resume)

    async def _paused(self) -> None:
        delay = self._resume_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def get(self, path: str, **params: Any) -> Any:
        return (await self._fetch(self.url(path, **params)))[0]

    async def list(self, path: str, key: str | None = None, fields: tuple[str, ...] | None = None, **params: Any) -> list[Any]:
        """Every item of a paginated list; ``key`` names the list in an object answer (``secrets``).
        With ``fields``, only those fields of each item are kept, in memory and in the cache:
        whatever else an answer carries (for secrets: anything but a name) is never stored."""

        def keep(body: Any) -> Any:
            page = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(page, list):
                raise GitHubError(f"GET {path}: expected a list{f' under {key!r}' if key else ''}")
            if fields is not None:
                page = [{f: item[f] for f in fields if f in item} if isinstance(item, dict) else None for item in page]
            return page

        url: str | None = self.url(path, per_page=PER_PAGE, **params)
        items: list[Any] = []
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise GitHubError(f"GET {path}: the pages link back to one already read")
            if len(seen) >= self.policy.pages:
                raise GitHubError(f"GET {path}: more than {self.policy.pages} pages (limit pages); nothing was written")
            seen.add(url)
            page, url = await self._fetch(url, keep)
            items.extend(page)
        return items


def _refusal(response: Answer, url: str) -> str:
    path = urlsplit(url).path
    message = _message(response)
    hint = {401: "the token was refused; set GITHUB_TOKEN", 403: "the token may not read this", 404: "not found, or not visible to this token"}
    detail = "; ".join(x for x in (hint.get(response.status), repr(message) if message else "") if x)
    return f"GET {path}: HTTP {response.status}" + (f" ({detail})" if detail else "")
