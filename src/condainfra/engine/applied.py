"""What each stack was last applied from: the commit and the digest of its compiled resources,
recorded as the stack tag ``condainfra:applied`` after a successful `up`, so that `up --all` (and
so the apply workflow after every merge) applies only the stacks whose compiled state changed: a
merge that touches one feedstock runs one shard. ``--force`` applies every stack.

Tags live in the state backend beside the stack (the Pulumi Cloud, and file/S3 backends from
Pulumi CLI 3.211 on). When none can be read (an older CLI, a stack never applied by this
version) the stack is applied, as before: a missing record costs time, never a change.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from ..compiler.resources import Resource

TAG = "condainfra:applied"


def digest(resources: list[Resource]) -> str:
    """The sha256 of the compiled resources, every field the engine is given, in compile order."""
    h = hashlib.sha256()
    for r in resources:
        h.update(json.dumps(r.to_json(), sort_keys=True, separators=(",", ":"), default=str).encode())
        h.update(b"\n")
    return h.hexdigest()


def commit(root: Path) -> str:
    """The checkout's commit (``HEAD``), or ``unknown`` outside git; only recorded, never compared."""
    try:
        done = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    head = done.stdout.strip()
    return head if done.returncode == 0 and len(head) in (40, 64) and all(c in "0123456789abcdef" for c in head) else "unknown"


def recorded(stack) -> str | None:
    """The digest the stack was last applied with, or None when none is recorded (or readable)."""
    from pulumi import automation as auto

    try:
        value = stack.workspace.get_tag(stack.name, TAG)
    except auto.CommandError:
        return None
    _, _, found = value.strip().rpartition(".")
    return found if len(found) == 64 else None


def record(stack, resources_digest: str, root: Path) -> str | None:
    """Record the apply; a message when the backend would not keep it (the next `up` applies again)."""
    from pulumi import automation as auto

    try:
        stack.workspace.set_tag(stack.name, TAG, f"{commit(root)}.{resources_digest}")
    except auto.CommandError as exc:
        last = [line for line in str(exc).splitlines() if line.strip()][-1:] or ["no message"]
        return f"{stack.name}: applied, but the state backend did not keep the record of it ({last[0].strip()[:200]}); the next `up --all` applies it again"
    return None
