"""The channel being mirrored: an http(s) channel URL or a local channel folder.

Everything a channel says is data: subdirs and file names are checked (``layout``) before they become
part of a URL or a path, and a folder source never opens a file outside its channel folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import zstandard

from ..errors import CondainfraError
from ..urls import public_url
from .layout import KNOWN_SUBDIRS, valid_subdir
from .retry import RetryableStatus, raise_if_retryable, retrying

ATTEMPTS = 5
REPODATA_FILES = ("repodata.json.zst", "repodata.json")


class SourceError(CondainfraError):
    pass


class ChecksumError(Exception):
    """An artifact that could not be fetched, or whose size or sha256 differs from repodata: never pushed."""


@dataclass
class Fetched:
    """One subdir's repodata as the channel answered: ``raw`` is None when it is unchanged since ``known``."""

    raw: bytes | None
    file: str  # which of REPODATA_FILES
    etag: str = ""
    last_modified: str = ""

    @property
    def unchanged(self) -> bool:
        return self.raw is None


@dataclass
class Source:
    location: str
    _client: httpx.AsyncClient | None = None
    _probed: dict[str, Fetched] = field(default_factory=dict)

    @property
    def is_remote(self) -> bool:
        return urlsplit(self.location).scheme in ("http", "https")

    @property
    def shown(self) -> str:
        return public_url(self.location)

    @property
    def default_channel(self) -> str:
        path = urlsplit(self.location).path if self.is_remote else str(Path(self.location).resolve())
        return path.rstrip("/").rsplit("/", 1)[-1]

    async def __aenter__(self) -> Source:
        if self.is_remote:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=10.0), follow_redirects=True, http2=True)
        elif not Path(self.location).is_dir():
            raise SourceError(f"--from {self.location}: no such channel folder")
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _url(self, *parts: str) -> str:
        return "/".join([self.location.rstrip("/"), *parts])

    def _local(self, *parts: str) -> Path | None:
        """The path of a file of a folder source; None when it is not inside the channel folder (links included)."""
        root = Path(self.location).resolve()
        path = Path(root, *parts).resolve()
        return path if path.is_relative_to(root) and path != root else None

    async def _get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response | None:
        try:
            async for attempt in retrying(ATTEMPTS):
                with attempt:
                    response = await self._client.get(url, headers=headers or {})
                    await raise_if_retryable(response)
                    if response.status_code == 404:
                        return None
                    if response.status_code not in (200, 304):
                        raise SourceError(f"{public_url(url)}: HTTP {response.status_code}")
                    return response
        except RetryableStatus as exc:
            raise SourceError(f"{public_url(url)}: HTTP {exc.response.status_code} after {ATTEMPTS} attempts") from None
        except httpx.TransportError as exc:
            raise SourceError(f"source {self.shown} is not reachable: {exc.__class__.__name__}: {exc or 'no answer'}") from None
        raise AssertionError("unreachable")

    async def read(self, *parts: str) -> bytes | None:
        """The bytes of a file of the source (fixed names, never upstream data); None when it is absent."""
        if self.is_remote:
            response = await self._get(self._url(*parts))
            return None if response is None else response.content
        path = self._local(*parts)
        return path.read_bytes() if path is not None and path.is_file() else None

    async def channeldata_subdirs(self) -> list[str] | None:
        """The subdirs channeldata.json lists (those that are subdir names), None without one."""
        channeldata = await self.read("channeldata.json")
        if not channeldata:
            return None
        try:
            listed = json.loads(channeldata).get("subdirs")
        except (ValueError, AttributeError):
            return None
        return sorted(s for s in listed if valid_subdir(s)) if isinstance(listed, list) else None

    async def subdirs(self) -> list[str]:
        """Every subdir of a folder; over http(s) the subdirs channeldata.json lists, else those of
        KNOWN_SUBDIRS that answer (each found document is kept, so it is not downloaded again)."""
        if not self.is_remote:
            root = Path(self.location)
            return sorted(p.name for p in root.iterdir() if valid_subdir(p.name) and any((p / f).is_file() for f in REPODATA_FILES))
        listed = await self.channeldata_subdirs()
        if listed is not None:
            return listed
        for subdir in KNOWN_SUBDIRS:
            found = await self.repodata(subdir)
            if found is not None:
                self._probed[subdir] = found
        return sorted(self._probed)

    async def repodata(self, subdir: str, known: Fetched | None = None) -> Fetched | None:
        """The subdir's repodata document (decompressed), None when the subdir does not exist.

        With ``known`` (what the mirror recorded last time), one conditional request for the same file:
        an unchanged document is not downloaded at all."""
        if subdir in self._probed:
            return self._probed.pop(subdir)
        if not self.is_remote:
            for file in REPODATA_FILES:
                path = self._local(subdir, file)
                if path is not None and path.is_file():
                    return Fetched(self._decoded(path.read_bytes(), subdir, file), file)
            return None
        if known is not None and (known.etag or known.last_modified):
            headers = {"If-None-Match": known.etag} if known.etag else {"If-Modified-Since": known.last_modified}
            response = await self._get(self._url(subdir, known.file), headers)
            if response is not None:
                return self._fetched(response, subdir, known.file)
        for file in REPODATA_FILES:
            response = await self._get(self._url(subdir, file))
            if response is not None:
                return self._fetched(response, subdir, file)
        return None

    def _fetched(self, response: httpx.Response, subdir: str, file: str) -> Fetched:
        raw = None if response.status_code == 304 else self._decoded(response.content, subdir, file)
        return Fetched(raw, file, response.headers.get("etag", ""), response.headers.get("last-modified", ""))

    def _decoded(self, content: bytes, subdir: str, file: str) -> bytes:
        if not file.endswith(".zst"):
            return content
        try:
            return zstandard.ZstdDecompressor().stream_reader(content).read()
        except zstandard.ZstdError as exc:
            raise SourceError(f"{self.where(subdir, file)}: not valid zstd: {exc}") from None

    def where(self, subdir: str, file: str) -> str:
        return f"{self.shown.rstrip('/')}/{subdir}/{file}"

    async def download(self, subdir: str, filename: str, dest: Path, sha256: str | None, size: int | None) -> None:
        """Stream one artifact to ``dest``, checking size and sha256 against repodata on the way; errors
        say what went wrong, the caller says which file. ``subdir`` and ``filename`` have been checked
        against conda's grammar (layout.filename_problem)."""
        if self.is_remote:
            digest, written = await self._download_remote(self._url(subdir, filename), dest)
        else:
            path = self._local(subdir, filename)
            if path is None:
                raise ChecksumError("outside the channel")
            if not path.is_file():
                raise ChecksumError("listed in repodata but missing")
            digest, written = hashlib.sha256(), 0
            with open(path, "rb") as src, open(dest, "xb") as out:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    written += len(chunk)
                    out.write(chunk)
        if size is not None and written != size:
            raise ChecksumError(f"size {written} differs from repodata's {size}")
        if sha256 and digest.hexdigest() != sha256:
            raise ChecksumError(f"sha256 {digest.hexdigest()} differs from repodata's {sha256}")

    async def _download_remote(self, url: str, dest: Path) -> tuple[Any, int]:
        try:
            async for attempt in retrying(ATTEMPTS):
                with attempt:
                    digest, written = hashlib.sha256(), 0
                    async with self._client.stream("GET", url) as response:
                        await raise_if_retryable(response)
                        if response.status_code != 200:
                            raise ChecksumError(f"{public_url(url)}: HTTP {response.status_code}")
                        with open(dest, "wb") as out:
                            async for chunk in response.aiter_bytes(1 << 20):
                                digest.update(chunk)
                                written += len(chunk)
                                out.write(chunk)
                    return digest, written
        except RetryableStatus as exc:
            raise ChecksumError(f"{public_url(url)}: HTTP {exc.response.status_code} after {ATTEMPTS} attempts") from None
        except httpx.TransportError as exc:
            raise ChecksumError(f"{public_url(url)}: download failed after {ATTEMPTS} attempts: {exc.__class__.__name__}") from None
        raise AssertionError("unreachable")


def parse_repodata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except ValueError as exc:
        raise SourceError(f"{where}: not valid repodata: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages", {}), dict) or not isinstance(data.get("packages.conda", {}), dict):
        raise SourceError(f"{where}: not valid repodata: 'packages' must be a mapping")
    return data
