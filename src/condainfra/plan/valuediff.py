"""Long values as a reviewer must read them: in full, as a unified diff of the changed lines.

A policy or a workflow file cut at a few hundred characters hides exactly the change that matters, and a
table cell cannot hold it; so a long value is rendered below the table as a diff of its lines."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

# A value up to this length, on one line, reads best inline as `old → new`.
INLINE_UP_TO = 200


def as_lines(value: Any) -> list[str]:
    """The value's lines: a JSON document (or a string holding one) pretty-printed with sorted keys."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and len(stripped) > 1:
            try:
                value = json.loads(stripped)
            except ValueError:
                return value.splitlines()
        else:
            return value.splitlines()
    return json.dumps(value, indent=2, sort_keys=True).splitlines()


def is_long(value: Any) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return len(text) > INLINE_UP_TO or "\n" in text


def unified(old: Any, new: Any, label: str) -> list[str]:
    """Unified diff lines (no file headers) of two values, every changed line present."""
    a = [] if old is None else as_lines(old)
    b = [] if new is None else as_lines(new)
    lines = list(difflib.unified_diff(a, b, fromfile=f"{label} (old)", tofile=f"{label} (new)", lineterm="", n=3))
    return lines[2:]  # the ---/+++ headers say nothing the section heading does not


def fence(lines: list[str], info: str = "diff") -> list[str]:
    """A fenced block longer than any backtick run in its content, so a value cannot close it early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", *lines, ticks]
