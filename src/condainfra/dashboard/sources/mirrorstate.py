"""What the mirror holds: the newest version of each package in each subdir, from its repodata."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...errors import CondainfraError
from ...mirror.source import Source, parse_repodata
from ...mirror.sync import entries


@dataclass
class MirrorState:
    # (subdir, package) -> newest version
    latest: dict[tuple[str, str], str] = field(default_factory=dict)
    subdirs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_mirror_state(location: str, newer: Callable[[str, str], bool]) -> MirrorState:
    """``newer(a, b)`` says whether version a sorts after b (conda's ordering, given by the caller)."""
    state = MirrorState()
    if not Source(location).is_remote and not Path(location).is_dir():
        state.problems.append(f"mirror {location}: no such channel folder")
        return state

    async def run():
        async with Source(location) as source:
            for subdir in await source.subdirs():
                found = await source.repodata(subdir)
                if found is None or found.raw is None:
                    continue
                state.subdirs.append(subdir)
                for record in entries(parse_repodata(found.raw, source.where(subdir, found.file))).values():
                    name, version = record.get("name"), record.get("version")
                    if not isinstance(name, str) or not isinstance(version, str):
                        continue
                    key = (subdir, name)
                    if key not in state.latest or newer(version, state.latest[key]):
                        state.latest[key] = version

    try:
        asyncio.run(run())
    except CondainfraError as exc:
        state.problems.append(f"mirror: {exc}")
    return state
