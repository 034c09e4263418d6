"""A small OCI distribution client over httpx: what a mirror needs and nothing more.

Authentication follows the distribution spec's token flow: a 401 carries
``WWW-Authenticate: Bearer realm=...,service=...,scope=...``; we ask the realm
for a token (anonymously for pulls, with a username and token from the
environment for pushes) and retry. ``Basic`` challenges get the same
credentials directly. 429 and 5xx answers and dropped connections are retried
with exponential backoff (tenacity), honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import unquote, urlsplit

import httpx

from ..errors import CondainfraError
from ..urls import public_url
from .layout import MANIFEST_MEDIA_TYPE, valid_repository
from .retry import RetryableStatus, raise_if_retryable, retrying

USER_ENV = "CONDAINFRA_OCI_USERNAME"
TOKEN_ENV = "CONDAINFRA_OCI_TOKEN"
LANE_SIZE = 2
ACCEPT_MANIFEST = f"{MANIFEST_MEDIA_TYPE}, application/vnd.docker.distribution.manifest.v2+json"


class RegistryError(CondainfraError):
    pass


_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class OciTarget:
    """``oci://[USER:TOKEN@]HOST[:PORT]/PREFIX``; a user and token in the URL are the push credentials."""

    host: str  # HOST[:PORT], never with credentials
    prefix: str
    insecure: bool = False
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, insecure: bool = False) -> OciTarget:
        shown = repr(public_url(url))
        try:
            parts = urlsplit(url)
            hostname, port = parts.hostname, parts.port
        except ValueError as exc:
            if "port" in str(exc).lower():
                raise CondainfraError(f"{shown}: the port must be a number from 1 to 65535") from None
            raise CondainfraError(f"{shown}: not a valid host") from None
        if parts.scheme != "oci" or not parts.netloc:
            raise CondainfraError(f"{shown}: expected oci://HOST[:PORT]/PREFIX")
        if not hostname:
            raise CondainfraError(f"{shown}: expected oci://HOST[:PORT]/PREFIX, the host is missing")
        if port == 0:
            raise CondainfraError(f"{shown}: the port must be a number from 1 to 65535")
        if ":" in hostname:
            host = f"[{hostname}]"
        elif _HOSTNAME.fullmatch(hostname):
            host = hostname
        else:
            raise CondainfraError(f"{shown}: not a valid host")
        host += f":{port}" if port else ""
        prefix = parts.path.strip("/")
        if not prefix:
            # the registry's root would mix the mirror's repositories with everything else there
            raise CondainfraError(f"{shown}: expected oci://HOST[:PORT]/PREFIX, the prefix is missing")
        if not valid_repository(prefix):
            raise CondainfraError(f"{shown}: the prefix must be lower-case OCI path components")
        if (parts.username is None) != (parts.password is None) or parts.username == "" or parts.password == "":
            raise CondainfraError(f"{shown}: give both a user and a token in the URL (USER:TOKEN@HOST), or neither")
        if insecure and not is_loopback(hostname):
            raise CondainfraError(f"{shown}: --insecure (plain http) is only allowed for loopback registries")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(host, prefix, insecure, username, password)

    @property
    def base_url(self) -> str:
        return f"{'http' if self.insecure else 'https'}://{self.host}"

    def __str__(self) -> str:
        return f"oci://{self.host}/{self.prefix}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


@dataclass
class Registry:
    target: OciTarget
    concurrency: int = 16
    attempts: int = 6
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
        self._lanes = [
            httpx.AsyncClient(
                base_url=self.target.base_url,
                http2=not self.target.insecure,
                limits=httpx.Limits(max_connections=LANE_SIZE, max_keepalive_connections=LANE_SIZE),
                timeout=httpx.Timeout(60.0, connect=10.0),
                follow_redirects=False,
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

    async def request(self, method: str, url: str, *, scope: str | None = None, stream: bool = False, **kwargs) -> httpx.Response:
        """One request with auth, retries and clear errors; the caller reads or closes a streamed response."""
        assert self._client is not None, "use `async with Registry(...)`"
        try:
            async for attempt in retrying(self.attempts):
                with attempt:
                    return await self._send(method, url, scope, stream, kwargs)
        except RetryableStatus as exc:
            raise RegistryError(f"registry {self.target.host}: {exc} after {self.attempts} attempts") from None
        except httpx.TransportError as exc:
            raise RegistryError(f"registry {self.target.host} is not reachable: {exc.__class__.__name__}: {exc or 'no answer'}") from None
        raise AssertionError("unreachable")

    async def _send(self, method, url, scope, stream, kwargs) -> httpx.Response:
        call = dict(kwargs)
        content = call.pop("content_factory", None)
        follow = call.pop("follow_redirects", False)
        for _ in range(2):
            call["headers"] = {**kwargs.get("headers", {}), **self._auth_header(scope)}
            if content is not None:
                call["content"] = content()
            client = self._lane
            request = client.build_request(method, url, **call)
            self.requests += 1
            response = await client.send(request, stream=stream, follow_redirects=follow)
            if response.status_code == 401 and "www-authenticate" in response.headers:
                await response.aclose()
                await self._authenticate(response.headers["www-authenticate"], scope)
                continue
            await raise_if_retryable(response)
            return response
        raise RegistryError(f"registry {self.target.host}: access denied for {scope or url} (set {USER_ENV} and {TOKEN_ENV} to push)")

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
        auth = httpx.BasicAuth(*self.credentials) if self.credentials else None
        async with self._lock:
            self.requests += 1
            response = await self._client.get(params["realm"], params=query, auth=auth)
        if response.status_code != 200:
            raise RegistryError(f"registry {self.target.host}: token service {public_url(params['realm'])} answered HTTP {response.status_code}")
        body = response.json()
        token = body.get("token") or body.get("access_token")
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
        if response.status_code not in (200, 401):
            raise RegistryError(f"{self.target.base_url}/v2/ answered HTTP {response.status_code}: not an OCI registry")

    async def blob_exists(self, repo: str, digest: str, scope: str | None = None) -> bool:
        response = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope or self.pull(repo))
        return response.status_code == 200

    async def blob_size(self, repo: str, digest: str) -> int | None:
        response = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=self.pull(repo))
        if response.status_code != 200:
            return None
        return int(response.headers.get("content-length", -1))

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
        started = await self.request("POST", f"/v2/{repo}/blobs/uploads/{query}", scope=mount_scope, headers={"Content-Length": "0"})
        if started.status_code == 201:
            return False  # mounted

        if started.status_code != 202 or "location" not in started.headers:
            raise RegistryError(f"{repo}: starting a blob upload answered HTTP {started.status_code}: {_reason(started)}")
        location = started.headers["location"]
        separator = "&" if "?" in location else "?"

        def body():
            if data is not None:
                return data
            return _file_chunks(path)

        done = await self.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            scope=scope,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            content_factory=body,
        )
        if done.status_code != 201:
            raise RegistryError(f"{repo}: uploading {digest} answered HTTP {done.status_code}: {_reason(done)}")
        return True

    async def put_manifest(self, repo: str, reference: str, body: bytes) -> str:
        response = await self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            scope=self.push(repo),
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
            content=body,
        )
        if response.status_code != 201:
            raise RegistryError(f"{repo}:{reference}: pushing the manifest answered HTTP {response.status_code}: {_reason(response)}")
        return response.headers.get("docker-content-digest", "")

    async def find_manifest(self, repo: str, reference: str) -> tuple[bytes | None, bool]:
        """(the tag's manifest or None, whether the repository exists at all). Asked through the
        tag list, because only that answers NAME_UNKNOWN for a repository the registry has never
        seen, in which no blob needs looking for."""
        response = await self.request("GET", f"/v2/{repo}/tags/list", scope=self.pull(repo))
        if response.status_code == 404:
            return None, False
        if response.status_code != 200:
            raise RegistryError(f"{repo}: listing tags answered HTTP {response.status_code}: {_reason(response)}")
        if reference not in (response.json().get("tags") or []):
            return None, True
        return await self.get_manifest(repo, reference), True

    async def get_manifest(self, repo: str, reference: str) -> bytes | None:
        response = await self.request("GET", f"/v2/{repo}/manifests/{reference}", scope=self.pull(repo), headers={"Accept": ACCEPT_MANIFEST})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryError(f"{repo}:{reference}: reading the manifest answered HTTP {response.status_code}: {_reason(response)}")
        return response.content

    async def get_blob(self, repo: str, digest: str) -> bytes | None:
        response = await self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=self.pull(repo), follow_redirects=True)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryError(f"{repo}@{digest}: reading the blob answered HTTP {response.status_code}")
        return response.content

    async def stream_blob(self, repo: str, digest: str) -> tuple[httpx.Response, AsyncIterator[bytes]] | None:
        response = await self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=self.pull(repo), stream=True, follow_redirects=True)
        if response.status_code != 200:
            await response.aclose()
            return None
        return response, response.aiter_raw()

    async def tags(self, repo: str) -> list[str]:
        response = await self.request("GET", f"/v2/{repo}/tags/list", scope=self.pull(repo))
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise RegistryError(f"{repo}: listing tags answered HTTP {response.status_code}")
        return response.json().get("tags") or []

    async def catalog(self) -> list[str]:
        names: list[str] = []
        url = "/v2/_catalog?n=1000"
        while url:
            response = await self.request("GET", url, scope="registry:catalog:*")
            if response.status_code != 200:
                raise RegistryError(f"registry {self.target.host} does not list its repositories (HTTP {response.status_code}); name the channels")
            names += response.json().get("repositories") or []
            link = response.headers.get("link", "")
            match = re.match(r"<([^>]+)>", link)
            url = match.group(1) if match else ""
        return names


def _reason(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.text[:200]
    except ValueError:
        return response.text[:200]


async def _file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk
