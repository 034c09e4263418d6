"""`condainfra import ...`: configuration kept elsewhere today, read into stacks/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import CondainfraError
from .apps import LimitOption, new_app
from .options import RootOption, load_project

app = new_app(help="Import configuration kept elsewhere into stacks/.", no_args_is_help=True)


@app.command()
def access(
    cirun: Annotated[Optional[Path], typer.Option("--cirun", metavar="FILE", help="cirun's .access.yml (as in conda-forge/.cirun, or its normalised JSON).")] = None,
    open_gpu_users: Annotated[Optional[Path], typer.Option("--open-gpu-users", metavar="FILE", help="open-gpu-server's conda-forge-users.json.")] = None,
    admin_requests: Annotated[Optional[Path], typer.Option("--admin-requests", metavar="FILE", help="admin-requests' .access_control.yml.")] = None,
    org: Annotated[str, typer.Option(help="The org whose runner groups these lists describe.")] = "conda-forge",
    out: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write here instead of stacks/runners/runners.yaml.")] = None,
    root: RootOption = None,
) -> None:
    """Runner groups from the access lists: each listed feedstock the org declares becomes a selected
    repository of its group; one the org does not declare is reported and left out."""
    from ..importers.access import collect, write_runners_config

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


def _exit_2_on_bad_input(run) -> None:
    """Bad input (a source or a config file that cannot be read as it should): one message, exit 2."""
    from ..errors import ConfigError
    from ..importers.sources import BadSource

    try:
        run()
    except ConfigError as exc:
        typer.echo(f"error: invalid configuration ({len(exc.issues)} problem(s)):\n{exc}", err=True)
        raise typer.Exit(2) from None
    except BadSource as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _say_issues(report, issues, org: str) -> None:
    """What the staged org's check found: warnings, since `validate` in the pull request refuses
    what cannot be applied, and the import writes what the sources say."""
    for line in report.warnings:
        typer.echo(f"warning: {line}", err=True)
    if issues:
        shown = issues[:20]
        more = f"\n  ... and {len(issues) - len(shown)} more" if len(issues) > len(shown) else ""
        typer.echo(f"warning: the imported config of {org} does not validate yet ({len(issues)} problem(s)); `condainfra validate` lists them:\n  "
                   + "\n  ".join(str(i) for i in shown) + more, err=True)


def _root(root: Optional[Path]) -> Path:
    from ..project import PROJECT_FILE, find_root

    if root is None:
        return find_root()
    if not (root / PROJECT_FILE).is_file():
        raise CondainfraError(f"--root {root}: no {PROJECT_FILE} there")
    return root.resolve()


def _org_name(org: str) -> str:
    from ..config.models import GITHUB_LOGIN

    if not GITHUB_LOGIN.fullmatch(org):
        raise CondainfraError(f"--org {org!r}: not a GitHub org name")
    return org


@app.command()
def feedstocks(
    outputs: Annotated[Path, typer.Option("--outputs", metavar="DIR|FILE", help="feedstock-outputs' outputs/ folder, or a merged {output: [feedstocks]} JSON file.")],
    maintainers: Annotated[Optional[Path], typer.Option("--maintainers", metavar="FILE", help="{feedstock: [logins or org/team]} JSON (the recipes' extra.recipe-maintainers).")] = None,
    org: Annotated[str, typer.Option(help="The org whose feedstocks these are.")] = "conda-forge",
    root: RootOption = None,
) -> None:
    """Feedstock files of stacks/ORG/feedstocks/ from feedstock-outputs and the recipes' maintainers:
    sorted, one file per first letter, idempotent; hand-written files keep their comments."""
    from ..importers.feedstocks import import_feedstocks

    def run() -> None:
        source, report, issues = import_feedstocks(_root(root), _org_name(org), outputs, maintainers)
        for line in source.skipped:
            typer.echo(f"skipped: {line}", err=True)
        if report.kept:
            typer.echo(f"kept as written: {len(report.kept)} declared feedstock(s) the sources do not name", err=True)
        _say_issues(report, issues, org)
        typer.echo(
            f"{org}: {source.feedstocks} feedstock(s) in the sources ({source.feedstocks - source.with_maintainers} without maintainers in the sources); "
            f"{len(report.added)} added, {len(report.changed)} changed, {len(report.files)} file(s) written"
        )

    _exit_2_on_bad_input(run)


class _Progress:
    """A bar of GitHub requests on a terminal (rich), nothing elsewhere; what is said goes to stderr
    either way, above the bar when there is one."""

    def __init__(self, interactive: bool):
        self.bar = None
        if interactive:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("GitHub requests"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("requests", total=None)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            typer.echo(line, err=True)

    def total(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=n)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)


@app.command()
def github(
    org: Annotated[str, typer.Option("--org", help="The GitHub org to read.")],
    api_url: Annotated[str, typer.Option("--api-url", metavar="URL", help="The GitHub REST API (GitHub Enterprise, or a stand-in for tests).")] = "https://api.github.com",
    jobs: Annotated[int, typer.Option(min=1, max=16, metavar="N", help="Requests in flight at once.")] = 4,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask for every answer in full (no ETag cache under .condainfra/cache).")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Remove teams, repositories and secrets that org.yaml declares and the org does not have (kept by default: the next up would create them).")] = False,
    root: RootOption = None,
    limit: LimitOption = None,
) -> None:
    """org.yaml and feedstock files from a live org, through the GitHub REST API (token from
    GITHUB_TOKEN). Comments and keys it does not read are kept; secret values are never read."""
    import os
    import sys

    from ..importers.github import import_github

    def run() -> None:
        project_root = _root(root)
        token = os.environ.get("GITHUB_TOKEN") or None
        if token is None:
            typer.echo("warning: GITHUB_TOKEN is not set: reading without a token (60 requests an hour, public data only)", err=True)
        with _Progress(sys.stderr.isatty()) as progress:
            result = import_github(project_root, _org_name(org), api_url, token, not no_cache, jobs, progress.say, progress.advance, progress.total, prune, limit or [])
        imported, report = result.imported, result.report
        for what in imported.removed:
            typer.echo(f"removed: {what} (not in the org on GitHub; --prune)", err=True)
        for what in imported.kept:
            typer.echo(f"kept: {what} is declared but not in the org on GitHub (the next `up` creates it; --prune removes it from org.yaml)", err=True)
        if report.kept:
            typer.echo(f"kept as written: {len(report.kept)} declared feedstock(s) with no repository on GitHub (feedstocks are archived, never deleted)", err=True)
        _say_issues(report, result.issues, org)
        c = result.counters
        typer.echo(
            f"{org}: {len(imported.feedstocks)} feedstock(s) ({len(report.added)} added, {len(report.changed)} changed); "
            f"{result.written} file(s) written; {c.requests} request(s), {c.not_modified} unchanged (304), {c.waits} rate-limit wait(s)"
        )

    _exit_2_on_bad_input(run)
