"""`condainfra dashboard ...`: serve, refresh and sync-users."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from .apps import LimitOption, new_app

app = new_app(help="The maintainers dashboard (a Quetz plugin).", no_args_is_help=True)

DEFAULT_DIR = Path(".condainfra/dashboard")
DirOption = Annotated[Path, typer.Option("--dir", help="The local Quetz deployment (created on first use).")]
ExistingDirOption = Annotated[Path, typer.Option("--dir", help="The local Quetz deployment `dashboard serve` made.")]


def _actions():
    from ..dashboard.extra import require_quetz

    require_quetz()
    from ..dashboard import actions

    return actions


def _stop_on_signals() -> threading.Event:
    """SIGTERM, SIGHUP and SIGINT end `serve` like Ctrl-C, from the first moment: Quetz runs in its own
    session and would be orphaned by a signal that killed only this process. SIGINT is set too because
    a script's background job or `nohup` starts us with it ignored, and Ctrl-C would then do nothing."""
    stop = threading.Event()

    def handler(*_):
        stop.set()
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, handler)
    return stop


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@app.command()
def serve(
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Port on 127.0.0.1 (default: a free one).")] = None,
    directory: DirOption = DEFAULT_DIR,
    demo: Annotated[bool, typer.Option("--demo", help="Fill a new deployment with generated demo data.")] = False,
    root: Annotated[Optional[Path], typer.Option("--root", help="The condainfra checkout whose stacks/ name the maintainers.", envvar="CONDAINFRA_ROOT")] = None,
    database_url: Annotated[Optional[str], typer.Option(
        "--database-url", metavar="URL", envvar="CONDAINFRA_DATABASE_URL", show_envvar=True,
        help="Quetz's database for a new deployment, e.g. postgresql://user:password@127.0.0.1:5432/quetz (default: SQLite in --dir). "
             "The environment variable keeps a password out of the process list.")] = None,
) -> None:
    """Create (first run) or reuse a local Quetz with the dashboard, migrate it, start it on 127.0.0.1."""
    _stop_on_signals()
    actions = _actions()
    project_root = None
    if not demo:
        from ..errors import CondainfraError
        from ..project import find_root

        try:
            project_root = (root or find_root()).resolve()
        except CondainfraError:
            project_root = None  # no checkout here: the dashboard shows Quetz's own roles only
    if database_url is not None and not database_url.startswith(("postgresql://", "sqlite:///")):
        from ..urls import public_url

        raise typer.BadParameter(f"{public_url(database_url)!r}: expected a postgresql:// or sqlite:/// URL", param_hint="--database-url")
    actions.serve(directory.resolve(), port, demo, project_root, say=lambda line: typer.echo(line, err=True), wait=_wait_for_interrupt,
                  database_url=database_url)


@app.command()
def refresh(directory: ExistingDirOption = DEFAULT_DIR, limit: LimitOption = None) -> None:
    """Read the outside signals (config, bot status, mirror, drift) into the dashboard's tables now."""
    actions = _actions()
    report = actions.refresh(actions.existing(directory.resolve()), limit or [])
    for source, problems in report.problems.items():
        for problem in problems:
            typer.echo(f"warning: {source}: {problem}", err=True)
    typer.echo(report.summary())


@app.command("sync-users")
def sync_users(directory: ExistingDirOption = DEFAULT_DIR) -> None:
    """Quetz users and package/channel roles from the org-as-code config; every change is reported."""
    actions = _actions()
    report = actions.sync_users(actions.existing(directory.resolve()))
    for line in report.lines():
        typer.echo(line)
    if report.failed:
        raise typer.Exit(1)
