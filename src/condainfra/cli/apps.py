"""How every command group of the CLI is made."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

# the fetch policy's limits (condainfra.fetch), the same option on every command that reads from the network
LimitOption = Annotated[Optional[list[str]], typer.Option(
    "--limit", metavar="NAME=VALUE",
    help="A fetch limit (repeatable): KIND=SIZE (repodata, channeldata, artifact, status, api, registry), "
         "KIND.deadline=TIME, run=TIME, attempts=N, redirects=N, pages=N; e.g. repodata=1GiB run=2h (docs/operations.md).",
)]


def new_app(**settings: Any) -> typer.Typer:
    """A Typer app whose help is printed as written: with Rich markup on, text such as
    ``{output: [feedstocks]}`` or ``[secret]`` would be read as style tags and vanish."""
    return typer.Typer(rich_markup_mode=None, **settings)
