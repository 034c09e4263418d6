"""`drift` from one bulk read of each org, and authoritative `up`'s removals (cli/engine.py calls these)."""

from __future__ import annotations

from pathlib import Path

import typer


def _say(message: str) -> None:
    typer.echo(message, err=True)


def drift_command(stack, mission, every, parallel, fmt, out: Path | None, backend, root, api: str | None) -> None:
    """The org stacks compared with GitHub's state (no Pulumi CLI needed); the other stacks of the
    selection (mirror, dashboard, runners: AWS's) refreshed through Pulumi as `drift --deep` does."""
    from ..engine.runs import run_stacks, select_stacks
    from ..orgstate.drift import github_drift
    from ..orgstate.session import Session, api_url
    from ..plan.report import Plan, render
    from ..plan.safety import Allowances
    from .options import emit, load_project

    project = load_project(root)
    specs = select_stacks(project, stack, mission, every)
    github = [s for s in specs if s.org]
    others = [s for s in specs if not s.org]
    session = Session(project.root, api_url(api), _say)
    diffs, notices = github_drift(project, github, session) if github else ([], [])
    runs = []
    if others:
        from ..engine.automation import Engine
        from ..engine.backend import select_backend

        engine = Engine(project, select_backend(project, backend))
        engine.unlock_secrets([s.name for s in others])
        _, runs = run_stacks(engine, "drift", others, Allowances(), parallel)
    by_stack = {d.stack: d for d in diffs} | {r.diff.stack: r.diff for r in runs}
    against = "GitHub's state (one read per org)" if not others else "GitHub's state and the recorded state"
    plan = Plan(against, [by_stack[s.name] for s in specs], [], [], kind="drift")
    emit(render(plan, fmt.value), out)
    if out is not None:
        typer.echo(plan.summary())
    for notice in notices + [n for r in runs for n in r.notices]:
        _say(notice)
    errors = [d for d in plan.diffs if d.error]
    for d in errors:
        _say(f"error: {d.stack}: {d.error}")
    raise typer.Exit(1 if errors else 2 if plan.changed else 0)


def authoritative_after_up(project, specs, plan, runs, allow) -> None:
    """After `up`: for each org whose org stack was applied and whose config is authoritative,
    remove what GitHub holds beyond it, within the rails; refusals go to the org stack's run."""
    from ..orgstate.enforce import enforce
    from ..orgstate.session import Session, api_url
    from ..plan.authoritative import switched_on

    applied = {r.diff.stack: r for r in runs if not r.failed}
    orgs = [s.org for s in specs if s.kind == "org" and s.org and s.name in applied and switched_on(project, s.org)]
    if not orgs:
        return
    session = Session(project.root, api_url(), _say)
    diffs = {org: applied[org].diff for org in orgs}
    refusals = enforce(project, orgs, diffs, allow, session)
    for refusal in refusals:
        applied[refusal.stack].refusals.append(refusal)
        plan.refusals.append(refusal)
    removed = sum(len(d.deletes) for d in diffs.values())
    _say(f"authoritative: {removed} removal(s) in {', '.join(orgs)}; {session.figures()}")


def import_checker(project):
    """For `up --adopt`: each org stack's import IDs checked against one read of its org (shared by
    every stack of the run, whatever --parallel)."""
    from ..orgstate.adoptcheck import check_import_file
    from ..orgstate.session import Session, api_url

    session = Session(project.root, api_url(), _say)
    return lambda spec, built: check_import_file(spec, built, session)
