"""The whole `condainfra` command line: every command group, and the commands of its own (plan, validate, ...)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config.schema import SCHEMAS
from ..errors import ConfigError, CondainfraError
from ..output import write_atomic
from .adopt import register as _register_adopt_command
from .apps import new_app, run
from .dashboard import app as dashboard_app
from .engine import register as _register_engine_commands
from .imports import app as imports_app
from .mirror import app as mirror_app
from .options import (
    AllOption,
    Format,
    ListFormat,
    RootOption,
    StackOption,
    emit,
    fail,
    load_project,
    select_stacks,
    with_allowances,
)

app = new_app(
    name="condainfra",
    help="Infrastructure as code for conda-forge and bioconda.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"condainfra {version('condainfra')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Infrastructure as code for conda-forge and bioconda."""


app.add_typer(mirror_app, name="mirror")
app.add_typer(dashboard_app, name="dashboard")
app.add_typer(imports_app, name="import")


@app.command()
def validate(root: RootOption = None) -> None:
    """Check every config file; print each problem as path:line: message. Exit 2 on bad input."""
    try:
        project = load_project(root)
    except ConfigError as exc:
        fail(f"invalid configuration ({len(exc.issues)} problem(s)):\n{exc}", 2)
    from ..config.loader import validation_notes

    for note in validation_notes(project.orgs):  # config that loads but will not converge, and unknown maintainers
        typer.echo(note, err=note.startswith("warning:"))
    feedstocks = sum(len(o.feedstocks) for o in project.orgs.values())
    typer.echo(f"ok: {len(project.orgs)} org(s), {feedstocks} feedstock(s), {len(project.stacks())} stack(s)")


@app.command()
@with_allowances
def plan(
    stack: StackOption = None,
    every: AllOption = False,
    against: Annotated[Optional[str], typer.Option(metavar="REF|FILE", help="Git ref, or a saved render (JSON file). Default: merge base with the default branch.")] = None,
    from_scratch: Annotated[bool, typer.Option("--from-scratch", help="Plan against empty orgs: everything is created.")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.markdown,
    out: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write the report to this file instead of standard output.")] = None,
    also: Annotated[Optional[list[str]], typer.Option("--also", metavar="FORMAT=FILE", help="Also write the same plan as FORMAT (text, markdown or json) to FILE; repeatable. The plan is computed once.")] = None,
    root: RootOption = None,
    allow: Any = None,
) -> None:
    """Offline plan: what would be created, updated and deleted. Exit 0 no changes, 2 changes, 1 error."""
    from ..plan import make_plan
    from ..plan.report import render

    if from_scratch and against:
        raise CondainfraError("give --against or --from-scratch, not both")
    extra = [_format_file(value) for value in also or []]  # checked before the plan's seconds are spent
    project = load_project(root)
    specs = select_stacks(project, stack, every)
    result = make_plan(project, specs, against=against, from_scratch=from_scratch, every_stack=every, allow=allow)
    result.warnings = [str(w) for decl in project.orgs.values() for w in sorted(set(decl.warnings))]  # validate's, for the comment
    for extra_fmt, path in extra:
        write_atomic(path, render(result, extra_fmt))
    text = render(result, fmt.value)
    emit(text, out)
    if out is not None:
        typer.echo(result.summary())
    for refusal in result.refusals:
        typer.echo(f"error: {refusal}", err=True)
    if result.refusals:
        raise typer.Exit(1)
    raise typer.Exit(2 if result.changed else 0)


def _format_file(value: str) -> tuple[str, Path]:
    fmt, sep, path = value.partition("=")
    if not sep or fmt not in {f.value for f in Format} or not path:
        raise CondainfraError(f"--also {value!r}: expected FORMAT=FILE with FORMAT one of {', '.join(f.value for f in Format)}")
    return fmt, Path(path)


@app.command()
def render(
    stack: StackOption = None,
    every: AllOption = False,
    out: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write to this file instead of standard output.")] = None,
    root: RootOption = None,
) -> None:
    """Write the compiled resources as JSON (usable later as `plan --against FILE`)."""
    from ..plan.render import render as compile_stacks
    from ..plan.render import to_document

    project = load_project(root)
    specs = select_stacks(project, stack, every)
    rendered = compile_stacks(project, specs)
    emit(json.dumps(to_document(project, specs, rendered), indent=1) + "\n", out)
    if out is not None:
        typer.echo(f"wrote {out}: {len(specs)} stack(s), {sum(map(len, rendered.values()))} resource(s)")


@app.command()
def stacks(
    fmt: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
    root: RootOption = None,
) -> None:
    """List every stack, shards included, with its mission and resource count."""
    project = load_project(root)
    rows = [
        {"stack": s.name, "mission": s.mission, "kind": s.kind, "org": s.org, "resources": len(project.compile(s))}
        for s in project.stacks()
    ]
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["stack"]) for r in rows) if rows else 5
    typer.echo(f"{'STACK':<{width}}  MISSION    KIND        RESOURCES")
    for r in rows:
        typer.echo(f"{r['stack']:<{width}}  {r['mission']:<9}  {r['kind']:<10}  {r['resources']:>9}")


# the kinds come from SCHEMAS itself, so help, README and the usage error list the same ones
SchemaKind = Enum("SchemaKind", {name: name for name in SCHEMAS}, type=str)


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Option(help="Which config file's schema to print.")] = SchemaKind.org,
    out_dir: Annotated[Optional[Path], typer.Option("--out-dir", metavar="DIR", help="Write every schema as <kind>.schema.json into this folder.")] = None,
) -> None:
    """Print (or write) the JSON Schema of the config files, for editors."""
    if out_dir is not None:
        if not out_dir.is_dir():
            raise CondainfraError(f"--out-dir {out_dir}: not a folder")
        for name, make in SCHEMAS.items():
            write_atomic(out_dir / f"{name}.schema.json", json.dumps(make(), indent=2) + "\n")
        typer.echo(f"wrote {', '.join(f'{n}.schema.json' for n in SCHEMAS)} to {out_dir}")
        return
    typer.echo(json.dumps(SCHEMAS[kind.value](), indent=2))


_register_engine_commands(app)
_register_adopt_command(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI (all of it): one message and exit code 1 for any error, never a traceback."""
    return run(app, argv, "condainfra")
