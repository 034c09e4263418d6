"""What the mirror holds: the newest version of each package in each subdir, from its repodata."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...errors import CondainfraError
from ...fetch import FetchPolicy
from ...mirror.source import Source, parse_repodata
from ...mirror.records import PACKAGE_KEYS


@dataclass
class MirrorState:
    # (subdir, package) -> newest (version, build number)
    latest: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    subdirs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_mirror_state(location: str, newer: Callable[[tuple[str, int], tuple[str, int]], bool], policy: FetchPolicy | None = None) -> MirrorState:
    """``newer(a, b)`` says whether build a, as (version, build number), sorts after b (conda's ordering,
    given by the caller)."""
    state = MirrorState()
    if not Source(location).is_remote and not Path(location).is_dir():
        state.problems.append(f"mirror {location}: no such channel folder")
        return state

    async def run():
        async with Source(location, policy=policy or FetchPolicy()) as source:
            for subdir in await source.subdirs():
                found = await source.repodata(subdir)
                if found is None or found.raw is None:
                    continue
                state.subdirs.append(subdir)
                repodata = parse_repodata(found.raw, source.where(subdir, found.file))
                for record in (r for part in PACKAGE_KEYS for r in (repodata.get(part) or {}).values()):
                    name, version, number = record.get("name"), record.get("version"), record.get("build_number", 0)
                    if not isinstance(name, str) or not isinstance(version, str) or not isinstance(number, int) or isinstance(number, bool):
                        continue
                    key, build = (subdir, name), (version, number)
                    if key not in state.latest or newer(build, state.latest[key]):
                        state.latest[key] = build

    try:
        asyncio.run(run())
    except CondainfraError as exc:
        state.problems.append(f"mirror: {exc}")
    return state
