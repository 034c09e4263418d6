"""The channel being mirrored: an http(s) channel URL or a local channel folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import zstandard
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ..urls import public_url
from ..errors import CondainfraError

from .layout import KNOWN_SUBDIRS


class SourceError(CondainfraError):
    pass


class ChecksumError(Exception):
    """A downloaded artifact whose size or sha256 differs from repodata: never pushed."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (429, 500, 502, 503, 504)


@dataclass
class Source:
    location: str
    _client: httpx.AsyncClient | None = None

    @property
    def is_remote(self) -> bool:
        return urlsplit(self.location).scheme in ("http", "https")

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

    async def _get(self, url: str) -> httpx.Response | None:
        retrying = AsyncRetrying(stop=stop_after_attempt(5), wait=wait_exponential_jitter(multiplier=0.2, max=10, jitter=0.5), retry=retry_if_exception(_retryable), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._client.get(url)
                    if response.status_code == 404:
                        return None
                    response.raise_for_status()
                    return response
        except httpx.HTTPStatusError as exc:
            raise SourceError(f"{public_url(url)}: HTTP {exc.response.status_code}") from None
        except httpx.TransportError as exc:
            raise SourceError(f"source {public_url(self.location)} is not reachable: {exc.__class__.__name__}: {exc or 'no answer'}") from None
        raise AssertionError("unreachable")

    async def read(self, *parts: str) -> bytes | None:
        """The bytes of a file of the source (fixed names, never upstream data); None when it is absent."""
        if self.is_remote:
            response = await self._get(self._url(*parts))
            return None if response is None else response.content
        path = Path(self.location, *parts)
        return path.read_bytes() if path.is_file() else None

    async def subdirs(self) -> list[str]:
        if not self.is_remote:
            return sorted(p.name for p in Path(self.location).iterdir() if (p / "repodata.json").is_file() or (p / "repodata.json.zst").is_file())
        channeldata = await self.read("channeldata.json")
        if channeldata:
            try:
                return sorted(json.loads(channeldata).get("subdirs", []))
            except ValueError:
                pass
        found = []
        for subdir in KNOWN_SUBDIRS:
            if await self.read(subdir, "repodata.json.zst") is not None or await self.read(subdir, "repodata.json") is not None:
                found.append(subdir)
        return found

    async def repodata_bytes(self, subdir: str) -> tuple[bytes, str] | None:
        """(the repodata document as bytes, where it came from), None when the subdir does not exist."""
        compressed = await self.read(subdir, "repodata.json.zst")
        where = f"{self.location}/{subdir}/repodata.json"
        if compressed is None:
            raw = await self.read(subdir, "repodata.json")
            return None if raw is None else (raw, where)
        try:
            return zstandard.ZstdDecompressor().stream_reader(compressed).read(), where + ".zst"
        except zstandard.ZstdError as exc:
            raise SourceError(f"{where}.zst: not valid zstd: {exc}") from None


    async def download(self, subdir: str, filename: str, dest: Path, sha256: str | None, size: int | None) -> None:
        """Stream one artifact to ``dest``, checking size and sha256 against repodata on the way."""
        digest = hashlib.sha256()
        written = 0
        if self.is_remote:
            url = self._url(subdir, filename)
            retrying = AsyncRetrying(
                stop=stop_after_attempt(5), wait=wait_exponential_jitter(multiplier=0.2, max=10, jitter=0.5),
                retry=retry_if_exception(_retryable), reraise=True,
            )
            try:
                async for attempt in retrying:
                    with attempt:
                        digest, written = hashlib.sha256(), 0
                        async with self._client.stream("GET", url) as response:
                            if response.status_code in (429, 500, 502, 503, 504):
                                response.raise_for_status()  # retried
                            if response.status_code != 200:
                                raise ChecksumError(f"{url}: HTTP {response.status_code}")
                            with open(dest, "wb") as out:
                                async for chunk in response.aiter_bytes(1 << 20):
                                    digest.update(chunk)
                                    written += len(chunk)
                                    out.write(chunk)
            except httpx.HTTPStatusError as exc:
                raise ChecksumError(f"{url}: HTTP {exc.response.status_code} after 5 attempts") from None
            except httpx.TransportError as exc:
                raise ChecksumError(f"{url}: download failed after 5 attempts: {exc.__class__.__name__}") from None
        else:
            path = Path(self.location, subdir, filename)
            if not path.is_file():
                raise ChecksumError(f"{path}: listed in repodata but missing")
            with open(path, "rb") as src, open(dest, "wb") as out:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    written += len(chunk)
                    out.write(chunk)
        if size is not None and written != size:
            raise ChecksumError(f"{subdir}/{filename}: size {written} differs from repodata's {size}")
        if sha256 and digest.hexdigest() != sha256:
            raise ChecksumError(f"{subdir}/{filename}: sha256 {digest.hexdigest()} differs from repodata's {sha256}")


def parse_repodata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except ValueError as exc:
        raise SourceError(f"{where}: not valid repodata: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages", {}), dict) or not isinstance(data.get("packages.conda", {}), dict):
        raise SourceError(f"{where}: not valid repodata: 'packages' must be a mapping")
    return data
