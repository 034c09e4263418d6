"""A progress bar on a terminal (rich), plain log lines everywhere else (CI logs stay readable)."""

from __future__ import annotations

from typing import Callable

from .run import Reporter


class BarReporter(Reporter):
    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        super().__init__()
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False)
        self.tasks: dict[str, int] = {}
        self.progress.start()

    def start(self, subdir: str, total: int) -> None:
        self.tasks[subdir] = self.progress.add_task(subdir, total=total)

    def advance(self, subdir: str, label: str, ok: bool) -> None:
        if not ok:
            self.progress.console.print(f"[red]failed[/red] {subdir} {label}")
        self.progress.advance(self.tasks[subdir])

    def finish(self) -> None:
        self.progress.stop()


def make_reporter(interactive: bool, log: Callable[[str], None]) -> Reporter:
    return BarReporter() if interactive else Reporter(log)
