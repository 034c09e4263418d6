"""The options and helpers every command module of the CLI shares (main, engine, adopt, import).

They live below those modules so that each can import them at load time: when main.py held them,
the command modules imported them back from main, a cycle."""

from __future__ import annotations

import inspect
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, get_type_hints

import typer

from ..errors import CondainfraError
from ..output import write_atomic

if TYPE_CHECKING:  # the project (config, compiler) loads when a command needs it: `mirror ...` jobs never do
    from ..project import Project

# The safety rails' allowances, in Allowances' field order: declared once, for plan, preview and up.
ALLOWANCE_OPTIONS = {
    "allow_member_removal": Annotated[bool, typer.Option("--allow-member-removal", help="Allow removing more than 25% of an org's members.")],
    "allow_team_removal": Annotated[bool, typer.Option("--allow-team-removal", help="Allow removing more than 25% of an org's teams.")],
    "allow_few_owners": Annotated[bool, typer.Option("--allow-few-owners", help="Allow leaving fewer than 2 owners.")],
    "allow_repo_delete": Annotated[bool, typer.Option("--allow-repo-delete", help="Allow deleting repositories.")],
}


def with_allowances(command):
    """Give ``command`` the --allow-... options; it receives them as one ``allow`` (Allowances)."""
    hints = {k: v for k, v in get_type_hints(command, include_extras=True).items() if k not in ("allow", "return")}
    params = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values() if p.name != "allow"]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=hint) for name, hint in ALLOWANCE_OPTIONS.items()]

    def wrapper(**kwargs):
        from ..plan.safety import Allowances

        return command(allow=Allowances(*(kwargs.pop(name) for name in ALLOWANCE_OPTIONS)), **kwargs)

    wrapper.__name__, wrapper.__doc__ = command.__name__, command.__doc__
    wrapper.__signature__ = inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params])
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


StackOption = Annotated[Optional[list[str]], typer.Option("--stack", metavar="NAME", help="Stack (repeatable).")]
AllOption = Annotated[bool, typer.Option("--all", help="Every stack.")]
RootOption = Annotated[Optional[Path], typer.Option("--root", metavar="DIR", help="Project root (default: nearest folder with Pulumi.yaml and stacks/).", envvar="CONDAINFRA_ROOT")]


class Format(str, Enum):
    markdown = "markdown"
    json = "json"
    text = "text"


class ListFormat(str, Enum):
    table = "table"
    json = "json"


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_project(root: Path | None) -> Project:
    from ..project import Project, find_root

    return Project.load(find_root() if root is None else _checked_root(root))


def _checked_root(root: Path) -> Path:
    if not (root / "Pulumi.yaml").is_file():
        raise CondainfraError(f"--root {root}: no Pulumi.yaml there")
    return root.resolve()


def emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)


def select_stacks(project: Project, stacks: list[str] | None, every: bool):
    if every and stacks:
        raise CondainfraError("give --stack NAME or --all, not both")
    if every:
        return project.stacks()
    if not stacks:
        raise CondainfraError("name a stack with --stack NAME, or pass --all")
    return [project.stack(name) for name in stacks]
