"""A secret's name and value as `condainfra secrets set` takes them: the value from standard input only."""

from __future__ import annotations

import sys
from getpass import getpass

from ..config.models import SECRET_SOURCE
from ..errors import CondainfraError


def check_name(name: str) -> None:
    """A name the config's `config:` secret sources can use; never one the CLI would read as a flag."""
    if not SECRET_SOURCE.fullmatch(f"config:{name}") or not name[:1].isalnum():  # fullmatch: `$` also matches before a final newline
        raise CondainfraError(f"secret name {name!r}: use letters, digits, '_', '.', '-' or ':' and start with a letter or digit")


def read_value(name: str) -> str:
    """The value: asked without echo on a terminal, else all of standard input (one final newline dropped)."""
    if sys.stdin.isatty():
        value = getpass(f"value of {name}: ")
    else:
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise CondainfraError(f"secret {name}: no value on standard input (pipe it in, e.g. `condainfra secrets set ... {name} < file`)")
    return value
