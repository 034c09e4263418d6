"""Parsing JSON from outside (repodata, bot status, GitHub answers, ``--against`` files): one place
that bounds nesting depth, so a hostile document is one clear error, never a ``RecursionError``.

orjson is used for speed and memory; it refuses nesting deeper than 1024 by itself, which is far
beyond any real document here, so the project's own limit is checked on top of it.

A caller that must see every key as written (a key given twice, which every parser silently
resolves to the last value) passes ``pairs_hook``: the document, already known to be well-formed
and shallow, is then read once more by the standard library with that hook, whose recursion the
depth limit keeps far from Python's own.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import orjson

from .errors import CondainfraError

MAX_DEPTH = 64  # real documents nest < 10 levels; GitHub's deepest answers stay under 20


class JsonDocumentError(CondainfraError):
    """A JSON document that is not well-formed, or nests too deep; the message names its source.
    ``line`` (1-based, None for the depth limit) and ``reason`` let a caller say it its own way."""

    def __init__(self, message: str, reason: str, line: int | None = None):
        super().__init__(message)
        self.reason, self.line = reason, line


def _depth_ok(value: object, limit: int) -> bool:
    # level by level, iterative (the check itself cannot exhaust the stack), and only containers are
    # carried to the next level: a 500,000-entry repodata is walked at C speed for its scalars
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        below: list[object] = []
        for node in level:
            children = node.values() if type(node) is dict else node
            below.extend(filter(_is_container, children))
        level = below
    return True


_CONTAINERS = (dict, list)


def _is_container(value: object) -> bool:
    return type(value) in _CONTAINERS


def loads(data: bytes | str, source: str, *, max_depth: int = MAX_DEPTH, pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> object:
    """``data`` parsed; :class:`JsonDocumentError` naming ``source`` if it is malformed or too deep."""
    too_deep = f"JSON nested deeper than {max_depth} levels"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "recursion" in reason.lower() or "depth limit" in reason.lower():
            raise JsonDocumentError(f"{source}: {too_deep}", too_deep) from None
        short = f"{exc.msg} (column {exc.colno})"[:120]
        raise JsonDocumentError(f"{source}: not valid JSON ({reason.splitlines()[0][:120]})", short, exc.lineno) from None
    if not _depth_ok(value, max_depth):
        raise JsonDocumentError(f"{source}: {too_deep}", too_deep)
    if pairs_hook is not None:
        del value
        return json.loads(data, object_pairs_hook=pairs_hook)
    return value
