"""`mirror serve`: the OCI mirror presented as ordinary conda channels over HTTP.

``/<channel>/<subdir>/repodata.json`` (and ``.zst``) come from the subdir's
``repodata.json:latest`` artifact; package files are streamed from the blob of
their package repository, found by the sha256 the repodata lists. So conda,
mamba 1, or curl can install from the mirror without speaking OCI. CEP-16 clients
(rattler, pixi) get ``repodata_shards.msgpack.zst`` from the same manifest and each
``shards/<sha256>.msgpack.zst`` from the subdir's shards repository.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import CondainfraError
from ..fetch import FetchPolicy
from . import layout, shards
from .published import mirror_entries
from .records import SHA256, Lean
from .registry import OciTarget, Registry, RegistryError

CACHE_SECONDS = 30.0
log = logging.getLogger("condainfra.mirror.serve")


@dataclass
class _Subdir:
    fetched: float
    manifest_digest: str
    layers: dict[str, dict]  # media type -> descriptor
    files: dict[str, Lean | None]  # filename -> repodata record


class MirrorServer:
    def __init__(self, target: OciTarget, channels: list[str], policy: FetchPolicy | None = None):
        self.target = target
        self.channels = set(channels)
        # a server has no run to time: each read from the registry is held to its kind's deadline and cap
        self.policy = policy or FetchPolicy(run_deadline=math.inf)
        self.registry: Registry | None = None
        self._cache: dict[tuple[str, str], _Subdir] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @asynccontextmanager
    async def lifespan(self, app):
        async with Registry(self.target, concurrency=32, policy=self.policy) as registry:
            self.registry = registry
            yield

    async def subdir(self, channel: str, subdir: str) -> _Subdir | None:
        key = (channel, subdir)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached.fetched < CACHE_SECONDS:
            return cached
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._cache.get(key)
            if cached and time.monotonic() - cached.fetched < CACHE_SECONDS:
                return cached
            repo = layout.repodata_repository(self.target.prefix, channel, subdir)
            raw = await self.registry.get_manifest(repo, "latest")
            if raw is None:
                return None
            digest = layout.sha256_digest(raw)
            if cached and cached.manifest_digest == digest:
                cached.fetched = time.monotonic()
                return cached
            manifest = json.loads(raw)
            layers = {l["mediaType"]: l for l in manifest.get("layers", [])}
            files = await mirror_entries(self.registry, self.target.prefix, channel, subdir, manifest)
            entry = _Subdir(time.monotonic(), digest, layers, files or {})
            self._cache[key] = entry
            return entry

    def allowed(self, channel: str) -> bool:
        return not self.channels or channel in self.channels

    async def index(self, request: Request) -> Response:
        """The channels served: the configured ones, or those the registry lists under the prefix."""
        channels = sorted(self.channels)
        if not channels:
            try:
                channels = sorted(discover_channels(await self.registry.catalog(), self.target.prefix))
            except RegistryError:
                channels = []  # a registry that does not list repositories (ghcr.io): any channel is tried
        return JSONResponse({"mirror": str(self.target), "channels": channels})

    async def repodata(self, request: Request) -> Response:
        channel, subdir, name = request.path_params["channel"], request.path_params["subdir"], request.path_params["name"]
        media = {"repodata.json": layout.REPODATA_JSON, "repodata.json.zst": layout.REPODATA_ZST, shards.INDEX_FILE: shards.INDEX_MEDIA_TYPE}.get(name)
        if media is None:
            return _not_found()
        entry = await self.subdir(channel, subdir)
        if entry is None or media not in entry.layers:
            return _not_found()
        layer = entry.layers[media]
        etag = f'"{layer["digest"]}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        repo = layout.repodata_repository(self.target.prefix, channel, subdir)
        content_type = "application/json" if media == layout.REPODATA_JSON else "application/zstd"
        if media == shards.INDEX_MEDIA_TYPE:
            content_type = "application/octet-stream"
        return await self._stream(request, repo, layer["digest"], layer["size"], content_type, {"ETag": etag, "Cache-Control": f"max-age={int(CACHE_SECONDS)}"})

    async def package(self, request: Request) -> Response:
        channel, subdir, filename = request.path_params["channel"], request.path_params["subdir"], request.path_params["name"]
        entry = await self.subdir(channel, subdir)
        record = entry.files.get(filename) if entry else None
        if record is None or not record.sha256 or not layout.names_one_repository(record.name):
            return _not_found()
        repo = layout.repository(self.target.prefix, channel, subdir, record.name)
        return await self._stream(request, repo, f"sha256:{record.sha256}", record.size, "application/octet-stream", IMMUTABLE)

    async def shard(self, request: Request) -> Response:
        channel, subdir, filename = request.path_params["channel"], request.path_params["subdir"], request.path_params["name"]
        sha = filename.removesuffix(".msgpack.zst")
        if not filename.endswith(".msgpack.zst") or not SHA256.fullmatch(sha):
            return _not_found()
        entry = await self.subdir(channel, subdir)
        if entry is None or shards.INDEX_MEDIA_TYPE not in entry.layers:
            return _not_found()
        repo = layout.shards_repository(self.target.prefix, channel, subdir)
        return await self._stream(request, repo, f"sha256:{sha}", None, "application/octet-stream", IMMUTABLE)

    async def _stream(self, request: Request, repo: str, digest: str, size: int | None, content_type: str, headers: dict) -> Response:
        headers = dict(headers)
        if size is not None:
            headers["Content-Length"] = str(size)
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers, media_type=content_type)
        opened = await self.registry.stream_blob(repo, digest)
        if opened is None:
            log.warning("blob %s missing in %s", digest, repo)
            return Response("package file missing in the mirror\n", status_code=502, media_type="text/plain")
        response, chunks = opened

        async def body():
            try:
                async for chunk in chunks:
                    yield chunk
            except RegistryError as exc:
                # the status line is sent: breaking the connection off is the one way left to say it failed
                log.warning("mirror unavailable: %s", exc)
                raise
            finally:
                await response.aclose()

        return StreamingResponse(body(), headers=headers, media_type=content_type)

    def app(self) -> Starlette:
        async def shard_route(request: Request) -> Response:
            channel, subdir = request.path_params["channel"], request.path_params["subdir"]
            if not self.allowed(channel) or not layout.valid_channel(channel) or not layout.valid_subdir(subdir):
                return _not_found()
            try:
                return await self.shard(request)
            except RegistryError as exc:
                log.warning("mirror unavailable: %s", exc)
                return Response("mirror unavailable\n", status_code=502, media_type="text/plain")

        async def route(request: Request) -> Response:
            channel, subdir, name = (request.path_params[k] for k in ("channel", "subdir", "name"))
            # names in the request are checked before they reach the registry, and never echoed back
            if not self.allowed(channel) or not layout.valid_channel(channel) or not layout.valid_subdir(subdir):
                return _not_found()
            try:
                if name.startswith("repodata.json") or name == shards.INDEX_FILE:
                    return await self.repodata(request)
                if name.endswith((".conda", ".tar.bz2")):
                    return await self.package(request)
                return _not_found()
            except RegistryError as exc:
                log.warning("mirror unavailable: %s", exc)  # for the operator; the client learns only that it failed
                return Response("mirror unavailable\n", status_code=502, media_type="text/plain")

        async def trailing_slash(request: Request) -> Response:
            # relative, and never from the Host header; leading slashes collapsed so that it stays on this host
            return RedirectResponse("/" + request.url.path.strip("/"), status_code=307)

        app = Starlette(
            routes=[
                Route("/", self.index, methods=["GET"]),
                Route("/{channel}/{subdir}/shards/{name}", shard_route, methods=["GET", "HEAD"]),
                Route("/{channel}/{subdir}/{name}", route, methods=["GET", "HEAD"]),
                Route("/{path:path}/", trailing_slash, methods=["GET", "HEAD"]),
            ],
            lifespan=self.lifespan,
        )
        app.router.redirect_slashes = False
        return app


def discover_channels(repositories: list[str], prefix: str) -> set[str]:
    """Channels are the folders holding ``<subdir>/repodata.json`` repositories under the prefix."""
    start = f"{prefix}/" if prefix else ""
    found = set()
    for name in repositories:
        if name.startswith(start) and name.endswith("/repodata.json"):
            parts = name[len(start):].split("/")
            if len(parts) == 3:
                found.add(parts[0])
    return found


IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


def _not_found() -> Response:
    return Response("not in the mirror\n", status_code=404, media_type="text/plain")


def run_server(target: OciTarget, host: str, port: int, channels: list[str]) -> None:
    import uvicorn

    async def reachable():
        async with Registry(target) as registry:
            await registry.check()

    asyncio.run(reachable())  # a registry that is down is one clear error, before listening
    server = MirrorServer(target, channels)
    try:
        uvicorn.run(server.app(), host=host, port=port, log_level="warning", access_log=False)
    except OSError as exc:
        raise CondainfraError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
