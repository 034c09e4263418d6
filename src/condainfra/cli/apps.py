"""How every command group of the CLI is made."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from typer.core import TyperArgument, TyperCommand

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
    return App(rich_markup_mode=None, **settings)
