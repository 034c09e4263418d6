"""Errors the CLI reports as one clear message and an exit code, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CondainfraError(Exception):
    """An error the user can act on; its message is printed as is."""


def printable(text: str) -> str:
    """``text`` with every character that is not printable (newlines, tabs, terminal escapes, other
    controls, Unicode line separators and invisible format characters) written as its escape, the way
    ``repr`` writes it: a value echoed in a message stays on its line and can neither forge a line
    such as ``path:1: all checks passed`` nor drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True, order=True)
class ConfigIssue:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        # the one place every config message is formatted: whatever the message quotes from a file, or the
        # file's own name, is escaped here
        return printable(f"{self.path}:{self.line}: {self.message}")


class ConfigError(CondainfraError):
    """Bad input in the configuration files: every problem found, each with its file and line."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))


def display_path(path: Path, root: Path | None = None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)
