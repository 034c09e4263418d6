"""`condainfra adopt`: the Pulumi bulk-import file of a stack whose resources already exist (docs/adoption.md)."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import RootOption, load_project


def register(app: typer.Typer) -> None:
    """Add `adopt` to the main CLI (cli/main.py calls this once)."""
    @app.command(help="Write the Pulumi bulk-import file of a stack (every compiled resource with its documented import ID), "
                 "for `pulumi import --file`; `condainfra up --adopt` does the import itself. Exit 0, 1 on error.")
    def adopt(
        stack: Annotated[str, typer.Option("--stack", metavar="NAME", help="The stack to adopt (adopt an org's stack before its feedstock shards).")],
        out: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write here (default: .condainfra/adopt/STACK.import.json in the project, git-ignored).")] = None,
        check: Annotated[bool, typer.Option("--check", help="Read the org on GitHub first (one bulk read, GITHUB_TOKEN; GITHUB_API_URL) and leave out "
                                            "every resource it does not have: `pulumi import` fails whole on one missing ID.")] = False,
        root: RootOption = None,
    ) -> None:
        from ..plan.adopt import adoption_file, build_import_file

        project = load_project(root)
        spec = project.stack(stack)
        if out is None:
            out = adoption_file(project, spec)
        built = build_import_file(project, spec)
        if check:
            from .orgstate import import_checker

            notice = import_checker(project)(spec, built)
            if notice:
                typer.echo(notice)
        built.write(out)
        for line in built.skipped_lines():
            typer.echo(line)
        counts = built.document["counts"]
        typer.echo(
            f"wrote {out}: {built.imported} existing resource(s) to import, {counts.get('component', 0)} component(s) and "
            f"{counts.get('provider', 0)} provider(s) to create with them, {len(built.skipped)} left out (created by the first up)"
        )
