"""Reading a signal source that is a local folder or an http(s) URL.

The mirror's :class:`~condainfra.mirror.source.Source` already reads "a folder or a URL" under the
project's fetch policy (size caps on decompressed bytes, deadlines, bounded attempts and redirects);
the dashboard uses it rather than a second copy. One refresh shares one policy, so its deadline is
the refresh's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ...errors import CondainfraError
from ...fetch import FetchPolicy
from ...mirror.source import Source

REFRESH_DEADLINE = 600.0  # a refresh runs every 15 minutes by default: one hostile source cannot hold it longer


class SourceUnavailable(Exception):
    """The source could not be read; the message names it, without credentials, and the limit that tripped."""


def refresh_policy(settings: list[str] | tuple[str, ...] = (), where: str = "[condainfra_dashboard] limits") -> FetchPolicy:
    """The limits of one refresh: the defaults, a 10-minute run, then the deployment's ``limits``."""
    return FetchPolicy(run_deadline=REFRESH_DEADLINE).with_settings(list(settings), where)


def is_local_folder(location: str) -> bool:
    return not Source(location).is_remote


def read_many(location: str, names: list[tuple[str, ...]], policy: FetchPolicy | None = None, kind: str = "status") -> dict[tuple[str, ...], bytes | None]:
    """Each of ``names`` (fixed paths chosen by the caller) under ``location``: bytes, or None when absent.
    A limit that trips, or any other failure, makes the whole source unavailable (one message)."""

    if is_local_folder(location) and not Path(location).is_dir():
        raise SourceUnavailable(f"{location}: no such folder")

    async def run():
        async with Source(location, policy=policy or refresh_policy()) as source:
            return {name: await source.read(*name, kind=kind) for name in names}

    try:
        return asyncio.run(run())
    except CondainfraError as exc:
        raise SourceUnavailable(str(exc)) from None
    except OSError as exc:
        raise SourceUnavailable(f"{location}: {exc.strerror or exc}") from None


def read(location: str, *parts: str, policy: FetchPolicy | None = None, kind: str = "status") -> bytes | None:
    """One file: ``location`` itself when no ``parts`` are given (a URL or a local file)."""
    if not parts and is_local_folder(location):
        path = Path(location)
        return read_many(str(path.parent), [(path.name,)], policy, kind)[(path.name,)]
    return read_many(location, [parts], policy, kind)[parts]
