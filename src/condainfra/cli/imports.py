"""`condainfra import ...`: configuration kept elsewhere today, read into stacks/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import CondainfraError

app = typer.Typer(help="Import configuration kept elsewhere into stacks/.", no_args_is_help=True)


@app.command()
def access(
    cirun: Annotated[Optional[Path], typer.Option("--cirun", help="cirun's .access.yml (as in conda-forge/.cirun, or its normalised JSON).")] = None,
    open_gpu_users: Annotated[Optional[Path], typer.Option("--open-gpu-users", help="open-gpu-server's conda-forge-users.json.")] = None,
    admin_requests: Annotated[Optional[Path], typer.Option("--admin-requests", help="admin-requests' .access_control.yml.")] = None,
    org: Annotated[str, typer.Option(help="The org whose runner groups these lists describe.")] = "conda-forge",
    out: Annotated[Optional[Path], typer.Option(help="Write here instead of stacks/runners/runners.yaml.")] = None,
    root: Annotated[Optional[Path], typer.Option("--root", help="Project root.", envvar="CONDAINFRA_ROOT")] = None,
) -> None:
    """Runner groups from the access lists: each listed feedstock the org declares becomes a selected
    repository of its group; one the org does not declare is reported and left out."""
    from ..importers.access import collect, write_runners_config
    from .main import load_project

    if not (cirun or admin_requests):
        raise CondainfraError("give --cirun and/or --admin-requests (with --open-gpu-users for cirun's users_from_json policies)")
    project = load_project(root)
    if org not in project.orgs:
        raise CondainfraError(f"--org {org}: not declared under stacks/")
    report = collect(project.orgs[org], cirun, open_gpu_users, admin_requests)
    for line in report.lines():
        typer.echo(line, err=line.startswith(("left out", "skipped")))
    written = write_runners_config(project.root, project.orgs, org, report, out)
    typer.echo(f"wrote {len(report.groups)} runner group(s) of {org} to {written}")
