"""What one `mirror sync` or `mirror publish` shares between its subdirs: options, report, reporter."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .registry import Registry
from .source import Source


@dataclass
class SyncOptions:
    channel: str
    subdirs: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    jobs: int = 8
    dry_run: bool = False
    shard: tuple[int, int] | None = None  # (K, N): only names that hash to shard K of N; nothing published
    run_id: str = ""  # names a sharded run, so that publish takes only this run's shard records


@dataclass
class SyncReport:
    pushed: int = 0  # artifacts newly in the mirror
    skipped: int = 0  # artifacts the mirror already had
    resumed: int = 0  # artifacts whose tag an interrupted run had already pushed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (subdir/filename, why)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # not representable as an OCI tag
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (subdir/'name' as shown, why): not a record to push
    planned: list[str] = field(default_factory=list)  # --dry-run: what would be pushed
    bytes: int = 0
    seconds: float = 0.0
    requests: int = 0
    repodata_pushed: list[str] = field(default_factory=list)
    shards_written: int = 0  # CEP-16 shards (package names) written again
    refused: list[tuple[str, str]] = field(default_factory=list)  # publish: (subdir, why nothing was published)

    def summary(self) -> str:
        resumed = f"resumed {self.resumed}, " if self.resumed else ""
        text = (
            f"pushed {self.pushed}, skipped {self.skipped}, failed {len(self.failed)}, {resumed}"
            f"{f'rejected {len(self.rejected)}, ' if self.rejected else ''}"
            f"not representable {len(self.invalid)}; {self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s, "
            f"{self.requests} registry requests"
        )
        if self.planned:
            text = f"dry run: would push {len(self.planned)} artifact(s); " + text
        return text


class Reporter:
    """Plain log lines; the CLI swaps in a progress bar on a terminal."""

    def __init__(self, log: Callable[[str], None] | None = None):
        self.log = log or (lambda message: None)

    def start(self, subdir: str, total: int) -> None:
        self.log(f"{subdir}: {total} build(s) to push")

    def advance(self, subdir: str, label: str, ok: bool) -> None:
        self.log(f"{subdir}: {'pushed' if ok else 'FAILED'} {label}")

    def finish(self) -> None:
        pass


@dataclass
class Run:
    """One run over a channel."""

    source: Source
    registry: Registry
    options: SyncOptions
    report: SyncReport
    reporter: Reporter
    workdir: Path  # the run's own temporary folder: every downloaded file, under a name chosen here
    manifests: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    checked: bool = False
    counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def prefix(self) -> str:
        return self.registry.target.prefix

    @property
    def channel(self) -> str:
        return self.options.channel
