"""Opening the config file of a stack that has one file of its own (mirror, dashboard, runners)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, ConfigIssue, display_path
from .yamlfile import YamlDocument, load_yaml


def open_stack_file(root: Path, relative: Path) -> tuple[YamlDocument, list[ConfigIssue]] | None:
    """The parsed document and its issues so far; None when the stack is not declared (no file).
    A file that is not YAML at all raises ConfigError at once: there is nothing to check further."""
    path = root / relative
    if not path.exists():
        return None
    if not path.is_file():
        raise ConfigError([ConfigIssue(display_path(path, root), 1, "expected a file, found a folder")])
    doc, issues = load_yaml(path, display_path(path, root))
    if doc is None:
        raise ConfigError(issues)
    return doc, issues
