"""How every command group of the CLI is made."""

from __future__ import annotations

from typing import Any

import typer


def new_app(**settings: Any) -> typer.Typer:
    """A Typer app whose help is printed as written: with Rich markup on, text such as
    ``{output: [feedstocks]}`` or ``[secret]`` would be read as style tags and vanish."""
    return typer.Typer(rich_markup_mode=None, **settings)
