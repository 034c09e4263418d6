"""A small OCI distribution client over httpx: what a mirror needs and nothing more.

Authentication follows the distribution spec's token flow: a 401 carries
``WWW-Authenticate: Bearer realm=...,service=...,scope=...``; we ask the realm
for a token (anonymously for pulls, with a username and token from the
environment for pushes) and retry. ``Basic`` challenges get the same
credentials directly. Every request, reads and writes alike, follows the run's one fetch
policy (``condainfra.fetch``): 429 and 5xx answers and dropped connections are retried
its number of ``attempts`` with its backoff, honouring ``Retry-After``; each request has
a deadline and what it reads a size cap (``registry`` for manifests, tag lists and
tokens, ``repodata`` for the mirror's repodata blob, ``artifact`` for a blob streamed on,
``upload`` for an upload's answer), redirects the policy's number.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlencode

import httpx

from .. import jsondoc
from ..errors import CondainfraError
from ..fetch import Answer, FetchError, FetchPolicy, RetryableStatus, Stream, fetch_once, new_client, next_link, open_stream, retrying
from ..urls import public_url
from .layout import MANIFEST_MEDIA_TYPE
from .target import OciTarget, is_loopback  # noqa: F401  (the mirror's callers import them from here)

USER_ENV = "CONDAINFRA_OCI_USERNAME"
TOKEN_ENV = "CONDAINFRA_OCI_TOKEN"
LANE_SIZE = 2
UPLOAD_SESSIONS = 2  # a lost upload is started again once
TAGS_PAGE = 1000  # tags asked for per page; a registry may answer fewer and link the next page
ACCEPT_MANIFEST = f"{MANIFEST_MEDIA_TYPE}, application/vnd.docker.distribution.manifest.v2+json"


class RegistryError(CondainfraError):
    pass


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


@dataclass
class Registry:
    target: OciTarget
    concurrency: int = 16
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    requests: int = 0  # every HTTP request made, for the no-op benchmark and the summary
    config_source: str | None = None  # a repository known to hold the shared empty config blob
    _client: httpx.AsyncClient | None = None
    _lanes: list[httpx.AsyncClient] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)
    _basic: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __aenter__(self) -> Registry:
        # Several small connection pools instead of one large one: httpcore scans a pool's
        # connections on every request, which at hundreds of requests a second cost more CPU
        # than the uploads themselves. Each task keeps to its own lane.
        lanes = max(1, self.concurrency // LANE_SIZE)
        tls = httpx.create_ssl_context()  # one for every lane: loading the CA bundle costs ~40 ms a client
        self._lanes = [
            new_client(
                self.policy,
                base_url=self.target.base_url,
                http2=not self.target.insecure,
                limits=httpx.Limits(max_connections=LANE_SIZE, max_keepalive_connections=LANE_SIZE),
                timeout=60.0,
                follow_redirects=False,
                verify=tls,
            )
            for _ in range(lanes)
        ]
        self._client = self._lanes[0]
        return self

    async def __aexit__(self, *exc) -> None:
        for client in self._lanes:
            await client.aclose()

    @property
    def _lane(self) -> httpx.AsyncClient:
        task = asyncio.current_task()
        return self._lanes[hash(task) % len(self._lanes)] if task else self._client

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.target.username and self.target.password:
            return self.target.username, self.target.password
        user, token = os.environ.get(USER_ENV), os.environ.get(TOKEN_ENV)
        return (user, token) if user and token else None

    # -- transport -------------------------------------------------------------

    async def request(self, method: str, url: str, *, scope: str | None = None, kind: str = "registry", **kwargs: Any) -> Answer:
        """One request with auth, retries and clear errors; the answer's body read (at most ``kind``'s cap)."""
        return await self._retried(lambda: self._send(method, url, scope, kind, kwargs))

    async def _retried(self, send):
        assert self._client is not None, "use `async with Registry(...)`"
        attempts = self.policy.attempts
        try:
            async for attempt in retrying(self.policy):
                with attempt:
                    return await send()
        except RetryableStatus as exc:
            raise RegistryError(f"registry {self.target.host}: {exc} after {attempts} attempts (limit attempts)") from None
        except httpx.TransportError as exc:
            raise RegistryError(f"registry {self.target.host} is not reachable after {attempts} attempts: {exc.__class__.__name__}: {exc or 'no answer'}") from None
        except FetchError as exc:
            raise RegistryError(f"registry {self.target.host}: {exc}") from None
        raise AssertionError("unreachable")

    async def _send(self, method: str, url: str, scope: str | None, kind: str, kwargs: dict[str, Any]) -> Answer:
        call = dict(kwargs)
        content = call.pop("content_factory", None)
        for _ in range(2):
            call["headers"] = {**kwargs.get("headers", {}), **self._auth_header(scope)}
            if content is not None:
                call["content"] = content()
            self.requests += 1
            answer = await fetch_once(self._lane, method, url, policy=self.policy, kind=kind, **call)
            if answer.status == 401 and "www-authenticate" in answer.headers:
                await self._authenticate(answer.headers["www-authenticate"], scope)
                continue
            return answer
        raise RegistryError(f"registry {self.target.host}: access denied for {scope or url} (set {USER_ENV} and {TOKEN_ENV} to push)")

    async def _open_stream(self, url: str, scope: str) -> Stream:
        """A blob's answer left open for the caller to stream (``mirror serve`` passes it on as it comes)."""
        for _ in range(2):
            self.requests += 1
            opened = await open_stream(self._lane, url, policy=self.policy, kind="artifact", headers=self._auth_header(scope))
            if opened.status == 401 and "www-authenticate" in opened.headers:
                await opened.aclose()
                await self._authenticate(opened.headers["www-authenticate"], scope)
                continue
            return opened
        raise RegistryError(f"registry {self.target.host}: access denied for {scope} (set {USER_ENV} and {TOKEN_ENV} to push)")

    def _auth_header(self, scope: str | None) -> dict[str, str]:
        if self._basic and self.credentials:
            user, token = self.credentials
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}
        token = self._tokens.get(scope or "") or self._tokens.get("*")
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _authenticate(self, header: str, scope: str | None) -> None:
        scheme, params = _challenge(header)
        if scheme == "basic":
            if not self.credentials:
                raise RegistryError(f"registry {self.target.host} asks for a password: set {USER_ENV} and {TOKEN_ENV}")
            if self._basic:
                raise RegistryError(f"registry {self.target.host}: the credentials in {USER_ENV}/{TOKEN_ENV} were refused")
            self._basic = True
            return
        if scheme != "bearer" or "realm" not in params:
            raise RegistryError(f"registry {self.target.host}: unsupported authentication challenge {header!r}")
        # ask for what the operation needs (push implies pull) and what the registry named (a mount
        # also needs pull on the source repository): one token for both
        scopes = list(dict.fromkeys([*(scope or "").split(), *params.get("scope", "").split()]))
        query = [("service", params["service"])] if params.get("service") else []
        query += [("scope", s) for s in scopes]
        headers = {}
        if self.credentials:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        realm = params["realm"] + ("&" if "?" in params["realm"] else "?") + urlencode(query) if query else params["realm"]
        async with self._lock:
            self.requests += 1
            response = await fetch_once(self._client, "GET", realm, policy=self.policy, kind="registry", headers=headers, retry_statuses=frozenset())
        if response.status != 200:
            raise RegistryError(f"registry {self.target.host}: token service {public_url(params['realm'])} answered HTTP {response.status}")
        body = jsondoc.loads(response.body, f"registry {self.target.host}: token service {public_url(params['realm'])}")
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.isascii() or not token.isprintable():
            token = None
        if not token:
            raise RegistryError(f"registry {self.target.host}: token service returned no token")
        self._tokens[scope or params.get("scope", "*")] = token

    # -- the distribution API ------------------------------------------------------

    @staticmethod
    def pull(repo: str) -> str:
        return f"repository:{repo}:pull"

    @staticmethod
    def push(repo: str) -> str:
        return f"repository:{repo}:pull,push"

    async def check(self) -> None:
        response = await self.request("GET", "/v2/")
        if response.status not in (200, 401):
            raise RegistryError(f"{self.target.base_url}/v2/ answered HTTP {response.status}: not an OCI registry")

    async def blob_exists(self, repo: str, digest: str, scope: str | None = None) -> bool:
        response = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope or self.pull(repo))
        return response.status == 200

    async def blob_size(self, repo: str, digest: str) -> int | None:
        response = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=self.pull(repo))
        length = response.headers.get("content-length", "")
        if response.status != 200 or not (length.isascii() and length.isdigit()):
            return None
        return int(length)

    async def push_blob(
        self, repo: str, digest: str, size: int, data: bytes | None = None, path: Path | None = None,
        mount_from: str | None = None, new_repository: bool = False,
    ) -> bool:
        """Upload a blob unless the repository already has it; True when uploaded.

        In a repository the registry has never seen there is nothing to look for, so the
        existence check is skipped. With ``mount_from``, the registry is asked to link the
        blob from that repository instead (one request, no upload)."""
        scope = self.push(repo)
        if not new_repository and await self.blob_exists(repo, digest, scope):
            return False
        query = f"?mount={digest}&from={mount_from}" if mount_from else ""
        mount_scope = f"{scope} {self.pull(mount_from)}" if mount_from else scope

        def body():
            if data is not None:
                return data
            return _file_chunks(path)

        for session in range(UPLOAD_SESSIONS):
            started = await self.request("POST", f"/v2/{repo}/blobs/uploads/{query if session == 0 else ''}", scope=mount_scope, headers={"Content-Length": "0"})
            if started.status == 201:
                return False  # mounted
            if started.status != 202 or "location" not in started.headers:
                raise RegistryError(f"{repo}: starting a blob upload answered HTTP {started.status}: {_reason(started)}")
            location = started.headers["location"]
            separator = "&" if "?" in location else "?"
            done = await self.request(
                "PUT",
                f"{location}{separator}digest={digest}",
                scope=scope,
                kind="upload",
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                content_factory=body,
            )
            if done.status == 201:
                return True
            if done.status != 404 or "BLOB_UPLOAD_UNKNOWN" not in _reason(done):
                break
            # the session is gone: a write that landed but was answered 5xx (and retried), or an upload
            # the registry lost. The first is done; the second starts again from the beginning.
            if await self.blob_exists(repo, digest, scope):
                return True
        raise RegistryError(f"{repo}: uploading {digest} answered HTTP {done.status}: {_reason(done)}")

    async def put_manifest(self, repo: str, reference: str, body: bytes) -> str:
        """Tag a manifest whose blobs this run has pushed. A blob pushed a moment ago can still be answered
        MANIFEST_BLOB_UNKNOWN: distribution's filesystem driver rewrites a repository's link to a blob in
        place, so while another writer pushes the same blob (every shard pushes the empty config) the link
        reads empty for a moment. Asked again with the policy's attempts and backoff; a blob really missing
        still fails, with the registry's reason."""
        url = f"/v2/{repo}/manifests/{reference}"
        answers: list[Answer] = []
        with contextlib.suppress(RetryableStatus):  # attempts spent: the last answer is reported below
            async for attempt in retrying(self.policy):
                with attempt:
                    answers.append(await self.request("PUT", url, scope=self.push(repo), headers={"Content-Type": MANIFEST_MEDIA_TYPE}, content=body))
                    if answers[-1].status == 400 and "MANIFEST_BLOB_UNKNOWN" in _reason(answers[-1]):
                        raise RetryableStatus("PUT", url, 400)
        response = answers[-1]
        if response.status != 201:
            raise RegistryError(f"{repo}:{reference}: pushing the manifest answered HTTP {response.status}: {_reason(response)}")
        return response.headers.get("docker-content-digest", "")

    def _json(self, answer: Answer, what: str) -> dict[str, Any]:
        data = jsondoc.loads(answer.body, f"registry {self.target.host}: {what}")
        if not isinstance(data, dict):
            raise RegistryError(f"registry {self.target.host}: {what}: expected a JSON object")
        return data

    def _tag_list(self, answer: Answer, repo: str) -> list[str]:
        tags = self._json(answer, f"{repo}: tag list").get("tags") or []
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    async def find_manifest(self, repo: str, reference: str) -> tuple[bytes | None, bool]:
        """(the tag's manifest or None, whether the repository exists at all). Asked through the
        tag list, because only that answers NAME_UNKNOWN for a repository the registry has never
        seen, in which no blob needs looking for."""
        response = await self.request("GET", f"/v2/{repo}/tags/list", scope=self.pull(repo))
        if response.status == 404:
            return None, False
        if response.status != 200:
            raise RegistryError(f"{repo}: listing tags answered HTTP {response.status}: {_reason(response)}")
        if reference not in self._tag_list(response, repo):
            if self._next_page(response, f"{repo}: tag list") is None:
                return None, True
            # more pages: asking for the tag itself is one request, where reading them all may be many
        return await self.get_manifest(repo, reference), True

    async def get_manifest(self, repo: str, reference: str) -> bytes | None:
        response = await self.request("GET", f"/v2/{repo}/manifests/{reference}", scope=self.pull(repo), headers={"Accept": ACCEPT_MANIFEST})
        if response.status == 404:
            return None
        if response.status != 200:
            raise RegistryError(f"{repo}:{reference}: reading the manifest answered HTTP {response.status}: {_reason(response)}")
        return response.body

    async def get_blob(self, repo: str, digest: str) -> bytes | None:
        """A blob the mirror reads back (its repodata): capped like upstream's repodata."""
        response = await self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=self.pull(repo), kind="repodata", follow_redirects=True)
        if response.status == 404:
            return None
        if response.status != 200:
            raise RegistryError(f"{repo}@{digest}: reading the blob answered HTTP {response.status}")
        return response.body

    async def stream_blob(self, repo: str, digest: str) -> tuple[httpx.Response, AsyncIterator[bytes]] | None:
        """(the answer, its body as it comes) or None when the registry has no such blob. The body stops
        with one RegistryError at the artifact limit's size or deadline (from the request to the last byte)."""
        opened = await self._retried(lambda: self._open_stream(f"/v2/{repo}/blobs/{digest}", self.pull(repo)))
        if opened.status != 200:
            await opened.aclose()
            return None
        return opened.response, self._said(opened.chunks)

    async def _said(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except FetchError as exc:
            raise RegistryError(f"registry {self.target.host}: {exc}") from None
        finally:
            await chunks.aclose()

    async def tags(self, repo: str) -> list[str]:
        """Every tag, page by page: a registry may list a page at a time (ghcr.io does), and a repodata
        repository gathers a timestamp tag per publication beside the shards' records and starts."""
        listed: list[str] = []
        url: str | None = f"/v2/{repo}/tags/list?n={TAGS_PAGE}"
        for _ in range(self.policy.pages):
            response = await self.request("GET", url, scope=self.pull(repo))
            if response.status == 404 and not listed:
                return []
            if response.status != 200:
                raise RegistryError(f"{repo}: listing tags answered HTTP {response.status}")
            listed += self._tag_list(response, repo)
            url = self._next_page(response, f"{repo}: tag list")
            if url is None:
                return listed
        raise RegistryError(f"{repo}: the tag list has more than {self.policy.pages} pages (limit pages)")

    def _next_page(self, response: Answer, what: str) -> str | None:
        """A list's next page from its Link header, on this registry only."""
        try:
            url = next_link(response.headers.get("link"), f"registry {self.target.host}: {what}")
        except FetchError as exc:
            raise RegistryError(str(exc)) from None
        if url is not None and not url.startswith("/v2/") and not url.startswith(self.target.base_url + "/v2/"):
            raise RegistryError(f"registry {self.target.host}: {what}: the next page is on another host: refused")
        return url

    async def catalog(self) -> list[str]:
        names: list[str] = []
        url: str | None = "/v2/_catalog?n=1000"
        for _ in range(self.policy.pages):
            response = await self.request("GET", url, scope="registry:catalog:*")
            if response.status != 200:
                raise RegistryError(f"registry {self.target.host} does not list its repositories (HTTP {response.status}); name the channels")
            listed = self._json(response, "catalog").get("repositories") or []
            names += [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
            url = self._next_page(response, "catalog")
            if url is None:
                return names
        raise RegistryError(f"registry {self.target.host}: the catalog has more than {self.policy.pages} pages (limit pages)")


def _reason(response: Answer) -> str:
    text = response.body.decode("utf-8", errors="replace")
    try:
        data = jsondoc.loads(response.body, "registry answer")
        errors = data.get("errors") if isinstance(data, dict) else None
        errors = errors if isinstance(errors, list) else []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))[:500] or text[:200]
    except jsondoc.JsonDocumentError:
        return text[:200]


async def _file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk
