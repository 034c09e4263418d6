"""How every command group of the CLI is made, and run."""

from __future__ import annotations

import gc
import os
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperArgument, TyperCommand

from ..errors import ConfigError, CondainfraError

# the fetch policy's limits (condainfra.fetch), the same option on every command that reads from the network
LimitOption = Annotated[Optional[list[str]], typer.Option(
    "--limit", metavar="NAME=VALUE",
    help="A fetch limit (repeatable): KIND=SIZE (repodata, channeldata, artifact, status, api, registry), "
         "KIND.deadline=TIME, run=TIME, attempts=N, backoff=TIME, redirects=N, pages=N; e.g. repodata=1GiB run=2h (docs/operations.md).",
)]


def placeholder(param: Any) -> str:
    """The word shown for a value in help and usage: the choices, else the option's own name in capitals
    (argparse's habit). Typer's default is the Python type (``<list[str]>``, ``<int range>``), which tells a
    user nothing; an option can still name a better word with ``metavar=``."""
    choices = getattr(param.type_descriptor, "choices", None) if param.type_descriptor.is_choice else None
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    longest = max(getattr(param, "opts", None) or [param.name], key=len)
    return longest.lstrip("-").replace("-", "_").upper()


class _Argument(TyperArgument):
    """An argument listed by its word alone (Typer adds the Python type after it: ``NAME <str>``)."""

    def display_type_rich(self, ctx: Any) -> None:
        return None


class Command(TyperCommand):
    """A command whose placeholders are words, and whose usage line leaves out hidden arguments
    (``secrets set`` takes a hidden one only to refuse a value typed on the command line)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None and not getattr(param, "is_flag", False) and not getattr(param, "count", False):
                param.metavar = placeholder(param)
            if type(param) is TyperArgument:
                param.__class__ = _Argument

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and not param.hidden:
                word = param.metavar if param.required else f"[{param.metavar}]"
                pieces.append(word + ("..." if param.nargs != 1 else ""))
        return pieces


class App(typer.Typer):
    """Every command of the CLI is a ``Command`` (above)."""

    def command(self, *args: Any, **kwargs: Any):
        kwargs["cls"] = kwargs.get("cls") or Command
        return super().command(*args, **kwargs)


def new_app(**settings: Any) -> typer.Typer:
    """A Typer app whose help is printed as written: with Rich markup on, text such as
    ``{output: [feedstocks]}`` or ``[secret]`` would be read as style tags and vanish."""
    # no shell-completion options: the root app has none, and `condainfra mirror` runs its group as the root
    return App(rich_markup_mode=None, **{"add_completion": False, **settings})


def run(app: typer.Typer, argv: list[str] | None, prog_name: str) -> int:
    """Run a command; every error becomes one message and exit code 1 (validate: 2), never a traceback."""
    # A plan holds a few hundred thousand small dicts that all live to the end; CPython's default
    # thresholds rescan them over and over (half of a 30,000-feedstock plan's time). Cycles are rare here.
    gc.set_threshold(200_000, 50, 1000)
    try:
        result = app(args=argv, prog_name=prog_name, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except typer.TyperException as exc:  # usage errors: exit 1, never 2, which `plan` reserves for "changes"
        typer.echo(f"error: {exc.format_message()}", err=True)
        return 1
    except ConfigError as exc:
        typer.echo(f"error: invalid configuration ({len(exc.issues)} problem(s)):\n{exc}", err=True)
        return 1
    except CondainfraError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: say so plainly; the traceback only on request
        if os.environ.get("CONDAINFRA_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set CONDAINFRA_DEBUG=1 for a traceback)", err=True)
        return 1
    return result if isinstance(result, int) else 0
