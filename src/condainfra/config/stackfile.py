"""Opening the config file of a stack that has one file of its own (mirror, dashboard, runners)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ..errors import ConfigError, ConfigIssue, display_path
from .loader import validate_model
from .yamlfile import YamlDocument, declared, load_yaml, not_a_file


def open_stack_file(root: Path, relative: Path) -> tuple[YamlDocument, list[ConfigIssue]] | None:
    """The parsed document and its issues so far; None when the stack is not declared (no file).
    A file that is not YAML at all raises ConfigError at once: there is nothing to check further."""
    path = root / relative
    if not path.is_file():
        if declared(path):
            raise ConfigError([not_a_file(path, root)])
        return None
    doc, issues = load_yaml(path, display_path(path, root))
    if doc is None:
        raise ConfigError(issues)
    return doc, issues


def load_stack_model(root: Path, relative: Path, model: type[BaseModel]) -> tuple[BaseModel | None, YamlDocument, list[ConfigIssue]] | None:
    """The file validated against ``model``: (config or None, the document, every issue so far)."""
    opened = open_stack_file(root, relative)
    if opened is None:
        return None
    doc, issues = opened
    config, more = validate_model(model, doc, doc.data if doc.data is not None else {})
    return config, doc, issues + more
