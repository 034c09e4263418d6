"""The channel being mirrored: an http(s) channel URL or a local channel folder.

Everything a channel says is data: subdirs and file names are checked (``layout``) before they become
part of a URL or a path, and a folder source never opens a file outside its channel folder.

Every read goes through the project's fetch policy (``condainfra.fetch``): a size cap on the
decompressed bytes per kind of document, a deadline per request and per run, bounded attempts. A
repodata document is decompressed into a temporary file on the way (never whole in memory before its
cap is checked); ``repodata(subdir, keep_file=True)`` leaves it there (``Fetched.path``) for a caller
that parses it from disk.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import jsondoc
from ..errors import CondainfraError
from ..fetch import FetchError, FetchPolicy, LimitExceeded, Sink, Unreachable, fetch, file_format, new_client, parse_etag, read_file, size_text
from ..urls import public_url
from .layout import KNOWN_SUBDIRS, valid_subdir

REPODATA_FILES = ("repodata.json.zst", "repodata.json")


class SourceError(CondainfraError):
    pass


class ChecksumError(Exception):
    """An artifact that could not be fetched, or whose size or sha256 differs from repodata: never pushed."""


@dataclass
class Fetched:
    """One subdir's repodata as the channel answered: ``raw`` (decompressed) is None when it is
    unchanged since ``known``; with ``keep_file``, the document is in ``path`` instead of ``raw``."""

    raw: bytes | None
    file: str  # which of REPODATA_FILES
    etag: str = ""
    last_modified: str = ""
    path: Path | None = None

    @property
    def unchanged(self) -> bool:
        return self.raw is None and self.path is None


@dataclass
class Source:
    location: str
    _client: httpx.AsyncClient | None = None
    _probed: dict[str, Fetched] = field(default_factory=dict)
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    _tmp: Path | None = None
    _names: Any = field(default_factory=itertools.count)

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
            self._client = new_client(self.policy, timeout=120.0, http2=True)
        elif not Path(self.location).is_dir():
            raise SourceError(f"--from {self.location}: no such channel folder")
        self._tmp = Path(tempfile.mkdtemp(prefix="condainfra-source-"))
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _url(self, *parts: str) -> str:
        return "/".join([self.location.rstrip("/"), *parts])

    def _local(self, *parts: str) -> Path | None:
        """The path of a file of a folder source; None when it is not inside the channel folder (links included)."""
        root = Path(self.location).resolve()
        path = Path(root, *parts).resolve()
        return path if path.is_relative_to(root) and path != root else None

    def _scratch(self, name: str) -> Path:
        assert self._tmp is not None, "use `async with Source(...)`"
        return self._tmp / f"{next(self._names)}-{name}"

    async def _get(self, url: str, kind: str, headers: dict[str, str] | None = None, **kwargs: Any):
        """The answer (200 or 304), None on 404; every other outcome one :class:`SourceError`."""
        try:
            answer = await fetch(self._client, "GET", url, policy=self.policy, kind=kind, headers=headers,
                                 follow_redirects=True, **kwargs)
        except Unreachable as exc:
            raise SourceError(f"source {self.shown} is not reachable: {exc.cause}") from None
        except FetchError as exc:
            raise SourceError(str(exc)) from None
        if answer.status == 404:
            return None
        if answer.status not in (200, 304):
            raise SourceError(f"{public_url(url)}: HTTP {answer.status}")
        return answer

    async def read(self, *parts: str, kind: str = "status") -> bytes | None:
        """The bytes of a file of the source (fixed names, never upstream data), at most the ``kind``'s
        size; None when it is absent."""
        if self.is_remote:
            answer = await self._get(self._url(*parts), kind)
            return None if answer is None else answer.body
        path = self._local(*parts)
        if path is None or not path.is_file():
            return None
        sink = Sink(str(path), kind, self.policy.limit(kind).max_bytes)
        try:
            read_file(path, sink, None, str(path))
        except FetchError as exc:
            raise SourceError(str(exc)) from None
        return sink.body

    async def channeldata_subdirs(self) -> list[str] | None:
        """The subdirs channeldata.json lists (those that are subdir names), None without one."""
        channeldata = await self.read("channeldata.json", kind="channeldata")
        if not channeldata:
            return None
        try:
            listed = jsondoc.loads(channeldata, self.where("", "channeldata.json"))
        except jsondoc.JsonDocumentError:
            return None
        listed = listed.get("subdirs") if isinstance(listed, dict) else None
        return sorted(s for s in listed if isinstance(s, str) and valid_subdir(s)) if isinstance(listed, list) else None

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

    async def repodata(self, subdir: str, known: Fetched | None = None, keep_file: bool = False) -> Fetched | None:
        """The subdir's repodata document (decompressed), None when the subdir does not exist.

        With ``known`` (what the mirror recorded last time), one conditional request for the same file:
        an unchanged document is not downloaded at all. With ``keep_file``, the document is left in a
        temporary file (``Fetched.path``, removed when the source is closed) instead of ``raw``."""
        if subdir in self._probed:
            return self._probed.pop(subdir)
        if not self.is_remote:
            for file in REPODATA_FILES:
                path = self._local(subdir, file)
                if path is not None and path.is_file():
                    return self._finish(Fetched(None, file), self._decompress_local(path, subdir, file), keep_file)
            return None
        etag = parse_etag(known.etag) if known is not None else None
        modified = _date(known.last_modified) if known is not None else None
        if known is not None and (etag or modified):
            # what an older version recorded unchecked is only sent back when it is a valid header value
            headers = {"If-None-Match": etag} if etag else {"If-Modified-Since": modified}
            found = await self._fetch_repodata(subdir, known.file, headers, keep_file)
            if found is not None:
                return found
        for file in REPODATA_FILES:
            found = await self._fetch_repodata(subdir, file, None, keep_file)
            if found is not None:
                return found
        return None

    async def _fetch_repodata(self, subdir: str, file: str, headers: dict[str, str] | None, keep_file: bool) -> Fetched | None:
        dest = self._scratch(f"{subdir}-{file}.json")
        answer = await self._get(self._url(subdir, file), "repodata", headers, dest=dest, file_format=file_format(file))
        if answer is None:
            dest.unlink(missing_ok=True)
            return None
        fetched = Fetched(None, file, parse_etag(answer.headers.get("etag")) or "", _date(answer.headers.get("last-modified")) or "")
        if answer.status == 304:
            dest.unlink(missing_ok=True)
            return fetched
        return self._finish(fetched, dest, keep_file)

    def _decompress_local(self, path: Path, subdir: str, file: str) -> Path:
        dest = self._scratch(f"{subdir}-{file}.json")
        limit = self.policy.limit("repodata").max_bytes
        try:
            read_file(path, Sink(self.where(subdir, file), "repodata", limit, path=dest), file_format(file), self.where(subdir, file))
        except FetchError as exc:
            dest.unlink(missing_ok=True)
            raise SourceError(str(exc)) from None
        return dest

    @staticmethod
    def _finish(fetched: Fetched, path: Path, keep_file: bool) -> Fetched:
        if keep_file:
            fetched.path = path
        else:
            fetched.raw = path.read_bytes()
            path.unlink()
        return fetched

    def where(self, subdir: str, file: str) -> str:
        return "/".join(p for p in (self.shown.rstrip("/"), subdir, file) if p)

    async def download(self, subdir: str, filename: str, dest: Path, sha256: str | None, size: int | None) -> None:
        """Stream one artifact to ``dest``, checking size and sha256 against repodata on the way; errors
        say what went wrong, the caller says which file. ``subdir`` and ``filename`` have been checked
        against conda's grammar (layout.filename_problem)."""
        limit = self.policy.limit("artifact").max_bytes
        cap = min(size, limit) if isinstance(size, int) and size >= 0 else limit

        def tripped() -> Exception:
            return ChecksumError(f"larger than repodata's size {size}" if cap == size else f"larger than the artifact limit of {size_text(limit)} (limit artifact)")

        if self.is_remote:
            url = self._url(subdir, filename)
            try:
                answer = await fetch(self._client, "GET", url, policy=self.policy, kind="artifact", follow_redirects=True,
                                     dest=dest, max_bytes=cap, tripped=tripped, digest=True)
            except LimitExceeded as exc:
                raise ChecksumError(str(exc)) from None
            except Unreachable as exc:
                raise ChecksumError(f"{public_url(url)}: download failed after {self.policy.attempts} attempts: {exc.cause.split(':')[0]}") from None
            except FetchError as exc:
                raise ChecksumError(str(exc)) from None
            if answer.status != 200:
                raise ChecksumError(f"{public_url(url)}: HTTP {answer.status}")
            digest, written = answer.sha256, answer.size
        else:
            path = self._local(subdir, filename)
            if path is None:
                raise ChecksumError("outside the channel")
            if not path.is_file():
                raise ChecksumError("listed in repodata but missing")
            sha, written = hashlib.sha256(), 0
            with open(path, "rb") as src, open(dest, "xb") as out:
                while chunk := src.read(1 << 20):
                    sha.update(chunk)
                    written += len(chunk)
                    if written > cap:
                        raise tripped()
                    out.write(chunk)
            digest = sha.hexdigest()
        if size is not None and written != size:
            raise ChecksumError(f"size {written} differs from repodata's {size}")
        if sha256 and digest != sha256:
            raise ChecksumError(f"sha256 {digest} differs from repodata's {sha256}")


def _date(value: str | None) -> str | None:
    """A Last-Modified value fit to be recorded and sent back: visible ASCII, of a date's length."""
    return value if value and len(value) <= 40 and value.isascii() and value.isprintable() else None


def parse_repodata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = jsondoc.loads(raw, where)
    except jsondoc.JsonDocumentError as exc:
        raise SourceError(f"{exc}: not valid repodata") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages", {}), dict) or not isinstance(data.get("packages.conda", {}), dict):
        raise SourceError(f"{where}: not valid repodata: 'packages' must be a mapping")
    return data
