"""What the `condainfra dashboard` commands do; the CLI only parses arguments and calls these."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import httpx

from ..errors import CondainfraError
from ..urls import public_url
from . import quetz_adapter as quetz
from .deployment import Deployment, QuetzServer
from .identity import SyncReport
from .identity import sync_users as run_sync_users
from .refresh import RefreshReport, refresh_all

DEMO_MARK = ".demo-filled"
REFRESH_JOB, SYNC_JOB = "refresh", "sync_users"


def prepare(path: Path, demo: bool, project_root: Path | None, database_url: str | None = None) -> Deployment:
    """Create the deployment on first use (reuse it after), and migrate it. ``database_url``: Quetz's
    database (default SQLite in the folder); an existing deployment keeps the one it was created with."""
    deployment = Deployment(path)
    if deployment.exists() and database_url and database_url != deployment.database_url():
        raise CondainfraError(f"--dir {path} uses {public_url(deployment.database_url())}, not {public_url(database_url)}; "
                              f"change sqlalchemy.database_url in {deployment.config_file} or choose another --dir")
    if not deployment.exists():
        deployment.check_new()
        if demo:
            from .demo import write_sources

            settings: dict[str, object] = write_sources(path / "demo")
        else:
            settings = {"project_root": str(project_root) if project_root else ""}
        deployment.create(settings, database_url)
    deployment.migrate()
    return deployment


def refresh(deployment: Deployment, limits: Sequence[str] = ()) -> RefreshReport:
    """One refresh now; ``limits`` (``--limit NAME=VALUE``) on top of the deployment's own. Each source
    fails alone, its problem recorded for the overview and in the report."""
    with quetz.session_for(deployment.path) as db:
        return refresh_all(db, quetz.settings(), limits)


def sync_users(deployment: Deployment) -> SyncReport:
    with quetz.session_for(deployment.path) as db:
        return run_sync_users(db, quetz.settings())


def schedule_jobs(deployment: Deployment) -> None:
    with quetz.session_for(deployment.path) as db:
        every = quetz.settings().refresh_seconds
        quetz.ensure_periodic_job(db, REFRESH_JOB, every)
        quetz.ensure_periodic_job(db, SYNC_JOB, every)


def fill_demo(deployment: Deployment, server: QuetzServer, say: Callable[[str], None]) -> None:
    from . import demo

    if (deployment.path / DEMO_MARK).exists():
        return
    with quetz.session_for(deployment.path) as db:
        quetz.create_channel(db, demo.CHANNEL, description="demo channel of the maintainers dashboard")
        quetz.create_user(db, demo.ADMIN, None)
        quetz.set_server_role(db, demo.ADMIN, "owner")
        db.commit()
        key = quetz.create_api_key(db, demo.ADMIN, "dashboard demo uploads")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        built = demo.build_packages(Path(tmp))
        say(f"built {len(built)} packages with py-rattler-build in {time.monotonic() - started:.1f} s")
        with httpx.Client(timeout=60) as client:
            demo.upload(server.url, key, demo.CHANNEL, [p for _, p in built], client)
            for (name, subdir), times in demo.DOWNLOADS.items():
                newest = [p for s, p in built if s == subdir and p.name.startswith(f"{name}-")][-1]
                demo.download(server.url, demo.CHANNEL, subdir, newest.name, times, client)
        newest_numpy = [p.name for s, p in built if s == "linux-64" and p.name.startswith("numpy-")][-1]
        demo.write_mirror(deployment.path / "demo" / "mirror" / demo.CHANNEL, built, {("linux-64", newest_numpy)})
    (deployment.path / DEMO_MARK).write_text("")
    say(f"uploaded them to channel {demo.CHANNEL!r} and downloaded some (download counts appear within ~10 s)")


def serve(path: Path, port: int | None, demo: bool, project_root: Path | None, say: Callable[[str], None], wait: Callable[[], None],
          database_url: str | None = None) -> None:
    deployment = prepare(path, demo, project_root, database_url)
    say(f"database: {public_url(deployment.database_url())}")
    server = QuetzServer(deployment, port=port)
    try:
        server.start()
        if demo:
            fill_demo(deployment, server, say)
        report = refresh(deployment)
        say(report.summary())
        synced = sync_users(deployment)
        for problem in synced.problems:  # what `dashboard sync-users` would print as a problem, not just its count
            say(f"warning: sync-users: {problem}")
        for line in synced.lines()[-1:]:
            say(line)
        schedule_jobs(deployment)
        say(f"dashboard: {server.url}/dashboard/   (deployment in {deployment.path}; Ctrl-C stops it)")
        wait()
    finally:
        server.stop()


def existing(path: Path) -> Deployment:
    deployment = Deployment(path)
    if not deployment.exists():
        raise CondainfraError(f"--dir {path}: no dashboard deployment there (run `condainfra dashboard serve --dir {path}` first)")
    return deployment
