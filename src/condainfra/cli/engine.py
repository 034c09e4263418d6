"""The engine commands: preview, up, drift, init, outputs and secrets (they need the Pulumi CLI)."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import CondainfraError
from .apps import new_app

MissionOption = Annotated[Optional[str], typer.Option("--mission", help="Every stack of one mission: infra, mirror or dashboard.")]
ParallelOption = Annotated[Optional[int], typer.Option("--parallel", min=1, metavar="N", help="Stacks run at once (default: the CPU count).")]
BackendOption = Annotated[
    Optional[str],
    typer.Option("--backend", metavar="URL", envvar="PULUMI_BACKEND_URL", show_envvar=True, help="State backend URL (default: file backend in .condainfra/state)."),
]
OneStackOption = Annotated[str, typer.Option("--stack", metavar="NAME", help="The stack.")]

secrets_app = new_app(help="Secret config values of a stack (stored encrypted in stacks/Pulumi.<stack>.yaml).", no_args_is_help=True)


def _engine(root, backend: str | None, project=None):
    from ..engine.automation import Engine
    from ..engine.backend import select_backend
    from .options import load_project

    project = project or load_project(root)
    return project, Engine(project, select_backend(project, backend))


def _run(kind: str, stack, mission, every, parallel, fmt, out: Path | None, backend, root, allow, adopt: bool = False, force: bool = False) -> None:
    from ..engine.progress import progress_for
    from ..engine.runs import exit_code, run_stacks, select_stacks
    from ..plan.report import render
    from .options import emit, load_project

    project = load_project(root)
    specs = select_stacks(project, stack, mission, every)  # the arguments first, before the Pulumi CLI is looked for
    _, engine = _engine(root, backend, project)
    engine.force = force
    if adopt:
        from .orgstate import import_checker

        engine.check_import = import_checker(project)
    engine.unlock_secrets([s.name for s in specs], existing_only=kind != "up")  # before a progress display takes the terminal
    with progress_for(kind, len(specs), fmt.value) as progress:
        plan, runs = run_stacks(engine, kind, specs, allow, parallel, progress, adopt=adopt)
    if kind == "up":
        from .orgstate import authoritative_after_up

        authoritative_after_up(project, specs, plan, runs, allow)
    emit(render(plan, fmt.value), out)
    if out is not None:
        typer.echo(plan.summary())
    for run in runs:
        for notice in run.notices:
            typer.echo(notice, err=True)
        for refusal in run.refusals:
            typer.echo(f"error: {run.diff.stack}: {refusal}", err=True)
        if run.diff.error:
            typer.echo(f"error: {run.diff.stack}: {run.diff.error}", err=True)
    raise typer.Exit(exit_code(kind, plan, runs))


def register(app: typer.Typer) -> None:
    """Add the engine commands to the main CLI (cli/main.py calls this once)."""
    from .options import AllOption, Format, RootOption, StackOption, with_allowances

    FormatOption = Annotated[Format, typer.Option("--format", help="Report format.")]
    OutOption = Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write the report to this file instead of standard output.")]

    @with_allowances
    def preview(
        stack: StackOption = None, mission: MissionOption = None, every: AllOption = False, parallel: ParallelOption = None,
        fmt: FormatOption = Format.text, out: OutOption = None, backend: BackendOption = None, root: RootOption = None, allow: Any = None,
    ) -> None:
        _run("preview", stack, mission, every, parallel, fmt, out, backend, root, allow)

    @with_allowances
    def up(
        stack: StackOption = None, mission: MissionOption = None, every: AllOption = False, parallel: ParallelOption = None,
        adopt: Annotated[bool, typer.Option("--adopt", help="Before a stack's first apply, import the resources that already exist (condainfra adopt).")] = False,
        force: Annotated[bool, typer.Option("--force", help="Apply every stack, also those whose compiled state is what they were last applied with.")] = False,
        fmt: FormatOption = Format.text, out: OutOption = None, backend: BackendOption = None, root: RootOption = None, allow: Any = None,
    ) -> None:
        _run("up", stack, mission, every, parallel, fmt, out, backend, root, allow, adopt, force)

    def drift(
        stack: StackOption = None, mission: MissionOption = None, every: AllOption = False, parallel: ParallelOption = None,
        fmt: FormatOption = Format.text, out: OutOption = None, backend: BackendOption = None, root: RootOption = None,
        deep: Annotated[bool, typer.Option("--deep", help="Refresh each stack through Pulumi (one API call per resource) instead of one bulk read of each org.")] = False,
        api_url: Annotated[Optional[str], typer.Option("--api-url", metavar="URL", envvar="GITHUB_API_URL", help="GitHub API root (default https://api.github.com).")] = None,
    ) -> None:
        """What changed outside condainfra: org stacks against one bulk read of GitHub (GITHUB_TOKEN), the others (and all
        with --deep) as a Pulumi refresh preview. Exit 0 none, 2 drift, 1 error."""
        from ..plan.safety import Allowances
        from .orgstate import drift_command

        if deep:
            _run("drift", stack, mission, every, parallel, fmt, out, backend, root, Allowances())
        drift_command(stack, mission, every, parallel, fmt, out, backend, root, api_url)

    app.command("preview", help="`pulumi preview` of each stack, after the safety rails checked its deployed state; stacks run "
                "concurrently. Exit 0 no changes, 2 changes, 1 error or refused. Never creates a stack.")(preview)
    app.command("up", help="Apply each stack with `pulumi up` (creating it if new); a stack refused by the safety rails is not "
                "touched. Exit 0 applied, 1 error or refused.")(up)
    app.command("drift")(drift)

    @app.command()
    def init(
        stack: StackOption = None, mission: MissionOption = None, every: AllOption = False,
        secrets_provider: Annotated[Optional[str], typer.Option("--secrets-provider", help="passphrase (default) or a KMS URL such as awskms://alias/condainfra.")] = None,
        backend: BackendOption = None, root: RootOption = None,
    ) -> None:
        """Create the stacks in the state backend (an existing stack is left as it is)."""
        from dataclasses import replace

        from ..engine.runs import select_stacks

        project, engine = _engine(root, backend)
        if secrets_provider:
            engine.backend = replace(engine.backend, secrets_provider=secrets_provider)
        specs = select_stacks(project, stack, mission, every)
        engine.unlock_secrets([s.name for s in specs])
        for spec in specs:
            created = engine.init(spec)
            typer.echo(f"{spec.name}: {'created' if created else 'exists already'} in {engine.backend.shown}")

    @app.command()
    def outputs(
        stack: OneStackOption,
        fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
        show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print secret outputs in plain text.")] = False,
        backend: BackendOption = None, root: RootOption = None,
    ) -> None:
        """The stack's outputs; secret ones masked unless --show-secrets."""
        if fmt not in ("text", "json"):
            raise CondainfraError(f"--format {fmt!r}: choose text or json")
        project, engine = _engine(root, backend)
        spec = project.stack(stack)
        engine.unlock_secrets([spec.name])
        values = engine.outputs(spec, show_secrets)
        if fmt == "json":
            typer.echo(json.dumps(values, indent=2, sort_keys=True))
            return
        for key, value in values.items():
            typer.echo(f"{key}: {value if isinstance(value, str) else json.dumps(value, sort_keys=True)}")

    @secrets_app.command("set")
    def secrets_set(
        stack: OneStackOption,
        name: Annotated[str, typer.Argument(help="Config key, e.g. STAGING_BINSTAR_TOKEN.")],
        extra: Annotated[Optional[list[str]], typer.Argument(hidden=True, show_default=False)] = None,
        backend: BackendOption = None, root: RootOption = None,
    ) -> None:
        """Set a secret config value; the value is read from standard input, never from the command line."""
        from ..engine.secrets import check_name, read_value

        if extra:  # never echo it: a value typed here is in the shell history and the CI log already
            raise CondainfraError("secrets set takes the value on standard input only; the extra argument was not used (and should be considered exposed)")
        check_name(name)
        project, engine = _engine(root, backend)
        spec = project.stack(stack)
        value = read_value(name)
        engine.unlock_secrets([spec.name])
        engine.set_secret(spec, name, value)
        typer.echo(f"{spec.name}: secret {name} set")

    @secrets_app.command("list")
    def secrets_list(stack: OneStackOption, root: RootOption = None) -> None:
        """The names of the stack's secret config values (never their values)."""
        from ..engine.backend import secret_names, stack_config_file
        from .options import load_project

        project = load_project(root)
        spec = project.stack(stack)
        config = stack_config_file(project, spec.name)
        if not config.is_file():
            raise CondainfraError(f"stack {spec.name} has no config file {config.relative_to(project.root)}: run `condainfra init --stack {spec.name}` first")
        for name in secret_names(project, spec.name):
            typer.echo(name)

    app.add_typer(secrets_app, name="secrets")
