"""A progress display over stacks and their resources, on a terminal only (rich, on standard error).

A CI log or a redirected report gets nothing from it: the report itself is the output.
"""

from __future__ import annotations

import sys
import threading

from .automation import StackRun
from .runs import NoProgress, Progress


class StackBars:
    """One overall bar over the stacks, one bar per running stack over its resources."""

    def __init__(self, kind: str, stacks: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn, TimeElapsedColumn

        self.bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.overall = self.bars.add_task(f"{kind}: stacks", total=stacks)
        self.tasks: dict[str, int] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> StackBars:
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def start(self, stack: str, total: int) -> None:
        with self.lock:
            # resources plus the root stack; the engine may report a few more (providers)
            self.tasks[stack] = self.bars.add_task(stack, total=(total + 1) if total else None)

    def step(self, stack: str) -> None:
        with self.lock:
            self.bars.advance(self.tasks[stack])

    def done(self, stack: str, run: StackRun) -> None:
        with self.lock:
            self.bars.remove_task(self.tasks.pop(stack))
            self.bars.advance(self.overall)
            if run.failed:
                self.bars.console.print(f"[red]failed[/red] {stack}")


class _Quiet(NoProgress):
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_for(kind: str, stacks: int, fmt: str) -> Progress:
    """Bars for the text report on a terminal; nothing otherwise."""
    if fmt == "text" and sys.stderr.isatty() and sys.stdout.isatty():
        return StackBars(kind, stacks)
    return _Quiet()
