"""Every selected stack at once: each in its own thread and workspace, bounded by ``parallel``, one report.

The work is the Pulumi CLI's (a subprocess per stack), so threads are enough; the compiled
desired state is computed once, before any thread starts, and shared read-only.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Protocol

from ..compiler.stacks import StackSpec
from ..errors import CondainfraError
from ..plan.diff import StackDiff
from ..plan.report import Plan
from ..plan.safety import Allowances
from ..project import Project
from .automation import KINDS, Engine, StackRun

MISSIONS = ("infra", "mirror", "dashboard")
# One token serves every GitHub stack of a run, whatever --parallel says. The provider sends a stack's
# requests one at a time and waits 1 s between writes (terraform-provider-github transport.go,
# write_delay_ms): one stack applying stays under GitHub's 80 content-creating requests a minute, two
# refreshing (5-10 reads a second each) under its 900 REST points a minute (docs/operations.md, "API budget").
# A preview reads no resource (no refresh), so it is not held back.
GITHUB_STACKS_AT_ONCE = {"up": 1, "drift": 2}


class Progress(Protocol):
    def start(self, stack: str, total: int) -> None: ...
    def step(self, stack: str) -> None: ...
    def done(self, stack: str, run: StackRun) -> None: ...


class NoProgress:
    def start(self, stack: str, total: int) -> None:
        pass

    def step(self, stack: str) -> None:
        pass

    def done(self, stack: str, run: StackRun) -> None:
        pass


def select_stacks(project: Project, stacks: list[str] | None, mission: str | None, every: bool) -> list[StackSpec]:
    """--stack S (repeatable), --mission M or --all: exactly one of them."""
    given = sum(bool(x) for x in (stacks, mission, every))
    if given != 1:
        raise CondainfraError("name the stacks with --stack NAME (repeatable), --mission infra|mirror|dashboard or --all" + (", only one of them" if given else ""))
    if every:
        return project.stacks()
    if mission:
        if mission not in MISSIONS:
            raise CondainfraError(f"--mission {mission!r}: choose one of {', '.join(MISSIONS)}")
        return [s for s in project.stacks() if s.mission == mission]
    return [project.stack(name) for name in dict.fromkeys(stacks)]


def default_parallel() -> int:
    return os.cpu_count() or 1


def run_stacks(
    engine: Engine,
    kind: str,
    specs: list[StackSpec],
    allow: Allowances,
    parallel: int | None = None,
    progress: Progress | None = None,
    adopt: bool = False,
) -> tuple[Plan, list[StackRun]]:
    """``kind`` (preview, up or drift) over ``specs``; a failing stack is reported, the others still run."""
    if kind not in KINDS:
        raise ValueError(f"unknown engine command {kind!r}")
    progress = progress or NoProgress()
    parallel = max(1, parallel or default_parallel())
    compiled = {spec.name: engine.project.compile(spec) for spec in specs} if kind != "drift" else {}
    # the rails may consult every stack of an org; compile those too, here, not in the threads
    if compiled:
        for spec in engine.project.stacks():
            if spec.org in {s.org for s in specs if s.org} and spec.name not in compiled:
                compiled[spec.name] = engine.project.compile(spec)
    engine.unlock_secrets([s.name for s in specs])

    github = threading.Semaphore(GITHUB_STACKS_AT_ONCE.get(kind, parallel))

    def one(spec: StackSpec) -> StackRun:
        with github if spec.org else nullcontext():
            return _one(spec)

    def _one(spec: StackSpec) -> StackRun:
        progress.start(spec.name, len(compiled.get(spec.name, ())) or 0)
        try:
            run = engine.run(kind, spec, allow, compiled, on_step=lambda urn: progress.step(spec.name), adopt=adopt)
        except Exception as exc:  # a bug in one stack's run must not lose the others' reports
            run = StackRun(StackDiff(spec.name, error=f"internal error: {type(exc).__name__}: {exc}", mission=spec.mission))
        progress.done(spec.name, run)
        return run

    with ThreadPoolExecutor(max_workers=min(parallel, len(specs) or 1), thread_name_prefix="stack") as pool:
        runs = list(pool.map(one, specs))
    if kind == "up":
        for run in runs:
            if run.refusals:  # not touched: its steps are what it would have done, never counted as applied
                run.diff.applied = False
    plan = Plan(
        "the recorded state" if kind == "drift" else "the deployed state",
        [r.diff for r in runs],
        refusals=[refusal for r in runs for refusal in r.refusals],
        kind=kind,
    )
    return plan, runs


def exit_code(kind: str, plan: Plan, runs: list[StackRun]) -> int:
    """1 any error or refusal; for preview and drift, 2 changes or drift; else 0."""
    if any(r.failed for r in runs):
        return 1
    return 2 if kind in ("preview", "drift") and plan.changed else 0
