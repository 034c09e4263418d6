"""Reading a signal source that is a local folder or an http(s) URL.

The mirror's :class:`~condainfra.mirror.source.Source` already reads "a folder or a URL" with the
project's retry policy; the dashboard uses it rather than a second copy.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ...errors import CondainfraError
from ...mirror.source import Source


class SourceUnavailable(Exception):
    """The source could not be read; the message names it, without credentials."""


def is_local_folder(location: str) -> bool:
    return not Source(location).is_remote


def read_many(location: str, names: list[tuple[str, ...]]) -> dict[tuple[str, ...], bytes | None]:
    """Each of ``names`` (fixed paths chosen by the caller) under ``location``: bytes, or None when absent."""

    if is_local_folder(location) and not Path(location).is_dir():
        raise SourceUnavailable(f"{location}: no such folder")

    async def run():
        async with Source(location) as source:
            return {name: await source.read(*name) for name in names}

    try:
        return asyncio.run(run())
    except CondainfraError as exc:
        raise SourceUnavailable(str(exc)) from None
    except OSError as exc:
        raise SourceUnavailable(f"{location}: {exc.strerror or exc}") from None


def read(location: str, *parts: str) -> bytes | None:
    return read_many(location, [parts])[parts]
