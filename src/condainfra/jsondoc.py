"""Parsing JSON from outside (repodata, bot status, GitHub answers, ``--against`` files): one place
that bounds nesting depth, so a hostile document is one clear error, never a ``RecursionError``.

orjson is used for speed and memory; it refuses nesting deeper than 1024 by itself, which is far
beyond any real document here, so the project's own limit is checked on top of it.
"""

from __future__ import annotations

import orjson

from .errors import CondainfraError

MAX_DEPTH = 64  # real documents nest < 10 levels; GitHub's deepest answers stay under 20


class JsonDocumentError(CondainfraError):
    """A JSON document that is not well-formed, or nests too deep; the message names its source."""


def _depth_ok(value: object, limit: int) -> bool:
    # iterative, so the check itself cannot exhaust the stack
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in node)
    return True


def loads(data: bytes | str, source: str, *, max_depth: int = MAX_DEPTH) -> object:
    """``data`` parsed; :class:`JsonDocumentError` naming ``source`` if it is malformed or too deep."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "recursion" in reason.lower() or "depth limit" in reason.lower():
            raise JsonDocumentError(f"{source}: JSON nested deeper than {max_depth} levels") from None
        raise JsonDocumentError(f"{source}: not valid JSON ({reason.splitlines()[0][:120]})") from None
    if not _depth_ok(value, max_depth):
        raise JsonDocumentError(f"{source}: JSON nested deeper than {max_depth} levels")
    return value
